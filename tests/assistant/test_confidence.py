"""Answer confidence: the cut for question words the content never uses, on both stores."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from assistant.answerer import REFUSAL, Answerer, readable_audiences
from assistant.confidence import (
    UNCOVERED_FACTOR,
    ConfidenceScorer,
    answer_confidence,
    is_everyday,
)
from assistant.embedders.fake import FakeEmbedder
from assistant.retriever import HybridRetriever
from assistant.stores import TENANT, Store
from assistant.stores.edge import EdgeStore
from assistant.stores.qdrant_server import QdrantServerStore
from assistant.synthesizers import Draft
from assistant.synthesizers.extractive import ExtractiveSynthesizer
from assistant.types import Audience, Mode, ScoredChunk
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


@pytest.mark.parametrize("word", ["laptop", "ago", "weird", "explian"])
def test_everyday_words_and_their_typos_never_count(word: str) -> None:
    assert is_everyday(word)


@pytest.mark.parametrize("word", ["quickbooks", "payroll", "timesheets", "northwind"])
def test_names_and_jargon_are_not_everyday(word: str) -> None:
    assert not is_everyday(word)


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
        HybridRetriever(store, real_embedder, top_k=6), ExtractiveSynthesizer(real_embedder)
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
    assert answerer.confidence.uncovered_terms(question, [], audiences=internal) == []
    assert answerer.confidence.uncovered_terms(question, [], audiences=customer) == ["pelican"]
