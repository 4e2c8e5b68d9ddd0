"""Product versions, the user's page and review status as retrieval-time preferences."""

import numpy as np
import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.retrieval.retriever import HybridRetriever
from assistant.retrieval.shaping import on_page, shape
from assistant.stores.edge import EdgeStore
from assistant.types import Audience, Mode, ScoredChunk
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob


def chunk(cid: str, score: float, **meta: object) -> ScoredChunk:
    vector = meta.pop("vector", None)
    return ScoredChunk(cid, f"text {cid}", {"document": f"{cid}.md", **meta}, score, vector=vector)  # type: ignore[arg-type]


def ids(chunks: list[ScoredChunk]) -> list[str]:
    return [c.chunk_id for c in chunks]


def test_matching_version_only_when_any_matches() -> None:
    chunks = [
        chunk("old", 0.9, product_version="4.1"),
        chunk("current", 0.7, product_version="4.2"),
        chunk("any", 0.5),
    ]
    assert ids(shape(chunks, limit=3, product_version="4.2")) == ["current", "any"]
    assert ids(shape(chunks, limit=3, product_version="4.1")) == ["old", "any"]


def test_other_versions_when_nothing_matches() -> None:
    chunks = [chunk("a", 0.9, product_version="4.1"), chunk("b", 0.7, product_version="4.2")]
    assert ids(shape(chunks, limit=2, product_version="5.0")) == ["a", "b"]


def test_no_version_asked_keeps_every_version() -> None:
    chunks = [chunk("a", 0.9, product_version="4.1"), chunk("b", 0.7, product_version="4.2")]
    assert ids(shape(chunks, limit=2)) == ["a", "b"]


def test_page_prefixes_match_on_path_segments() -> None:
    made_for_invoices = chunk("a", 1.0, pages=["/invoices"])
    assert on_page(made_for_invoices, "/invoices")
    assert on_page(made_for_invoices, "/invoices/42/edit")
    assert on_page(made_for_invoices, "invoices/")
    assert not on_page(made_for_invoices, "/invoices-archive")
    assert not on_page(made_for_invoices, "/billing")
    assert not on_page(chunk("b", 1.0), "/invoices")


def test_content_for_the_users_page_ranks_higher() -> None:
    chunks = [chunk("general", 1.0), chunk("for-page", 0.9, pages=["/settings/reminders"])]
    assert ids(shape(chunks, limit=2, page="/settings/reminders")) == ["for-page", "general"]
    assert ids(shape(chunks, limit=2, page="/banking")) == ["general", "for-page"]
    assert ids(shape(chunks, limit=2)) == ["general", "for-page"]


def test_a_much_better_match_still_beats_the_page_boost() -> None:
    chunks = [chunk("general", 1.0), chunk("for-page", 0.3, pages=["/invoices"])]
    assert ids(shape(chunks, limit=2, page="/invoices")) == ["general", "for-page"]


def test_reviewed_near_duplicate_ranks_above_unreviewed_one() -> None:
    v = np.array([1.0, 0.0])
    chunks = [
        chunk("forum", 0.9, reviewed=False, updated_at="2026-09-01", vector=v),
        chunk("kb", 0.8, reviewed=True, updated_at="2026-01-01", vector=v),
    ]
    assert ids(shape(chunks, limit=2)) == ["kb", "forum"]


def test_unreviewed_chunk_that_says_something_else_keeps_its_rank() -> None:
    chunks = [
        chunk("forum", 0.9, reviewed=False, vector=np.array([1.0, 0.0])),
        chunk("kb", 0.8, reviewed=True, vector=np.array([0.0, 1.0])),
    ]
    assert ids(shape(chunks, limit=2)) == ["forum", "kb"]


REFUNDS_PUBLIC = """---
title: Refunds for your customers
url: https://help.example.com/articles/refunds
---
# Refunds for your customers

To refund a paid invoice, open the invoice and click Refund. The customer gets the money back
on the card they paid with within 5 to 10 days.
"""


def internal_refunds(version: str, limit: str, approver: str) -> str:
    return f"""---
title: "Support runbook: refund approvals ({version})"
audience: internal
url: https://wiki.example.com/support/refund-approvals-{version}
updated_at: 2026-0{version[-1]}-01
product_version: "{version}"
---
# Support runbook: refund approvals

Refunds above {limit} dollars need approval from {approver} before you issue them.
"""


@pytest.fixture(scope="module")
def agent_answerer(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Answerer:  # type: ignore[no-untyped-def]
    """A public article and one internal runbook per product version, saying different things."""
    root = tmp_path_factory.mktemp("internal-versions")
    kb = root / "corpus" / "kb"
    kb.mkdir(parents=True)
    (kb / "refunds.md").write_text(REFUNDS_PUBLIC)
    (kb / "internal-refunds-41.md").write_text(internal_refunds("4.1", "300", "a team lead"))
    (kb / "internal-refunds-42.md").write_text(internal_refunds("4.2", "800", "finance"))
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([root / "corpus"])
    return Answerer(
        HybridRetriever(store, real_embedder, top_k=4),
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )


AGENT_QUESTION = "Which refunds need approval before I issue them?"


@pytest.mark.parametrize(("version", "limit"), [("4.1", "300 dollars"), ("4.2", "800 dollars")])
def test_internal_notes_follow_the_customers_product_version(
    agent_answerer: Answerer, version: str, limit: str
) -> None:
    answer = agent_answerer.ask(
        AGENT_QUESTION, audience=Audience.INTERNAL, mode=Mode.AGENT, product_version=version
    )
    notes = answer.internal_notes
    assert notes is not None
    assert {c.product_version for c in notes.citations} == {version}
    assert limit in notes.text
    assert "Nothing matched" not in notes.text


def test_internal_notes_say_when_nothing_matched_the_version(agent_answerer: Answerer) -> None:
    answer = agent_answerer.ask(
        AGENT_QUESTION, audience=Audience.INTERNAL, mode=Mode.AGENT, product_version="3.0"
    )
    notes = answer.internal_notes
    assert notes is not None
    assert "Nothing matched version 3.0; these sources describe version" in notes.text
    assert {c.audience for c in notes.citations} == {"internal"}
