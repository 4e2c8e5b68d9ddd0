"""Answer confidence: the cut for question words the content never uses, on both stores."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import (
    EVERYDAY_RANK,
    UNCOVERED_FACTOR,
    ConfidenceScorer,
    answer_confidence,
    word_ranks,
)
from assistant.answering.drafting import REFUSAL
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.embedders.fake import FakeEmbedder
from assistant.embedders.sparse import Bm25Encoder
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores import TENANT, Store
from assistant.stores.edge import EdgeStore
from assistant.stores.qdrant_server import QdrantServerStore
from assistant.types import Audience, Draft, Mode, ScoredChunk, readable_audiences
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus

CONTENT = [
    ("Payroll runs on the first working day of each month.", "internal", None),
    ("Recurring invoices repeat monthly or yearly from a template.", "public", None),
    ("Export your timesheet as a CSV from the Reports page.", "public", None),
    ("Acme staff file expenses in Zorblax.", "public", "acme"),
]


def _chunk(text: str, *, similarity: float = 0.6) -> ScoredChunk:
    return ScoredChunk(chunk_id=text[:8], text=text, metadata={}, score=1.0, similarity=similarity)


@pytest.fixture(params=["edge", "qdrant_server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    embedder = FakeEmbedder()
    opened: Store = (
        EdgeStore(tmp_path / "edge", dimension=embedder.dimension)
        if request.param == "edge"
        else QdrantServerStore(
            path=tmp_path / "qdrant", collection="c", dimension=embedder.dimension
        )
    )
    nodes = []
    for number, (text, audience, tenant) in enumerate(CONTENT):
        metadata = {"audience": audience} | ({TENANT: tenant} if tenant else {})
        node = TextNode(id_=f"n{number}", text=text, metadata=metadata)
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"d{number}")
        node.embedding = embedder.embed([text])[0].tolist()
        nodes.append(node)
    opened.add(nodes)
    yield opened
    opened.close()


def test_a_rare_word_no_readable_chunk_uses_is_uncovered(store: Store) -> None:
    scorer = ConfidenceScorer(store)
    question = "Can I run payroll next to my recurring invoices in QuickBooks?"
    assert scorer.uncovered_terms(question, [], audiences=["public"]) == ["payroll", "quickbooks"]


def test_content_the_caller_may_read_covers_a_word(store: Store) -> None:
    scorer = ConfidenceScorer(store)
    question = "When does payroll run?"
    assert scorer.uncovered_terms(question, [], audiences=["public", "internal"]) == []


def test_a_tenants_own_content_covers_a_word_for_that_tenant_only(store: Store) -> None:
    scorer = ConfidenceScorer(store)
    question = "How do I use Zorblax?"
    assert scorer.uncovered_terms(question, [], audiences=["public"], tenant="acme") == []
    assert scorer.uncovered_terms(question, [], audiences=["public"], tenant="other") == ["zorblax"]
    assert scorer.uncovered_terms(question, [], audiences=["public"]) == ["zorblax"]


def test_a_word_is_covered_by_its_stem_in_the_index(store: Store) -> None:
    scorer = ConfidenceScorer(store)
    assert scorer.uncovered_terms("Where are my timesheets?", [], audiences=["public"]) == []


def test_a_retrieved_chunk_containing_the_word_covers_it(store: Store) -> None:
    scorer = ConfidenceScorer(store)
    chunk = _chunk("Finish the Stripe onboarding flow first.")
    assert scorer.uncovered_terms("any onboarding tips?", [chunk], audiences=["public"]) == []
    assert scorer.uncovered_terms("any onboarding tips?", [], audiences=["public"]) == [
        "onboarding"
    ]


# No content in CONTENT is for partners: a partner caller reads nothing, so whether a word
# counts is decided by the word checks alone, as the product makes them.
NOTHING_READABLE = ["partner"]


@pytest.mark.parametrize("word", ["laptop", "ago", "weird", "explian"])
def test_everyday_words_and_their_typos_never_count(store: Store, word: str) -> None:
    assert Bm25Encoder().query(word)[0], "a BM25 stopword would pass without the word checks"
    scorer = ConfidenceScorer(store)
    assert scorer.uncovered_terms(f"Is {word} a problem?", [], audiences=NOTHING_READABLE) == []


@pytest.mark.parametrize("word", ["quickbooks", "payroll", "timesheets", "northwind"])
def test_names_and_jargon_count_when_no_readable_content_uses_them(store: Store, word: str) -> None:
    scorer = ConfidenceScorer(store)
    assert scorer.uncovered_terms(f"Is {word} a problem?", [], audiences=NOTHING_READABLE) == [word]


def test_uncovered_words_cut_the_confidence() -> None:
    chunks = [_chunk("Recurring invoices repeat monthly.", similarity=0.7)]
    draft = Draft(text="Recurring invoices repeat monthly. [1]", sources=chunks, support=0.5)
    plain = answer_confidence("recurring invoices", chunks, draft)
    assert plain == round((3 * 0.7 + 4 * 0.5) / 7, 3)
    cut = answer_confidence("recurring invoices", chunks, draft, uncovered=["quickbooks"])
    assert cut == round(plain * UNCOVERED_FACTOR, 3)
    assert answer_confidence("x", chunks, Draft(text="", sources=[], support=0.9)) == 0.0


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Answerer]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("confidence")
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([write_corpus(root / "corpus")])
    yield Answerer(
        HybridRetriever(store, real_embedder, top_k=6),
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )
    store.close()


def test_a_question_about_another_product_is_refused_plainly(answerer: Answerer) -> None:
    answered = answerer.ask("How do I create an invoice?")
    assert not answered.refused
    other = answerer.ask("How do I create an invoice in QuickBooks?")
    assert other.refused
    assert other.answer == REFUSAL
    assert other.confidence <= answered.confidence * UNCOVERED_FACTOR + 0.05


def test_an_internal_word_is_uncovered_for_customer_facing_answers(answerer: Answerer) -> None:
    question = "What is PELICAN for?"
    internal = readable_audiences(Audience.INTERNAL, Mode.INTERNAL)
    customer = readable_audiences(Audience.INTERNAL, Mode.CUSTOMER)
    assert answerer.drafter.confidence.uncovered_terms(question, [], audiences=internal) == []
    assert answerer.drafter.confidence.uncovered_terms(question, [], audiences=customer) == [
        "pelican"
    ]


def _least_cpu(work: Callable[[], object], *, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times)


def test_an_absurdly_long_word_costs_no_more_than_a_long_real_one(store: Store) -> None:
    """Typo candidates grow with the square of a word's length (a 4,000-letter word took
    0.4 s); no word longer than the longest frequent word plus one can be a typo of one."""
    scorer = ConfidenceScorer(store)

    def uncovered(word: str) -> list[str]:
        return scorer.uncovered_terms(word, [], audiences=NOTHING_READABLE)

    assert uncovered("q" * 4000) == ["q" * 4000]
    assert uncovered("telecommunicatoins") == []  # 18 letters, two swapped: still checked
    long_real = _least_cpu(lambda: uncovered("qwertyuiopasdfghjk"))
    assert _least_cpu(lambda: uncovered("q" * 4000)) < 2 * long_real


def test_typo_checks_per_question_are_bounded(store: Store) -> None:
    """A question of hundreds of typos of frequent words ("responsibilitie": each takes a
    thousand candidate spellings to recognise) costs about what one of twenty does: after
    `_MAX_TYPO_CHECKS` words no candidates are made."""
    scorer = ConfidenceScorer(store)
    ranks = word_ranks()
    frequent = [w for w, rank in ranks.items() if rank < EVERYDAY_RANK and len(w) >= 11]
    # Without its last letter, and neither that nor its singular a frequent word itself.
    typos = [w[:-1] for w in frequent if w[:-1] not in ranks and w[:-2] not in ranks]
    few = " ".join(typos[:20])
    many = " ".join(typos[:300])
    assert len(many) < 4000  # one question within /v1/chat's limit
    cost_few = _least_cpu(lambda: scorer.uncovered_terms(few, [], audiences=["public"]))
    cost_many = _least_cpu(lambda: scorer.uncovered_terms(many, [], audiences=["public"]))
    assert cost_many < 3 * cost_few
