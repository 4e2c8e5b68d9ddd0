"""The Answerer over its seams, without ingest or a search: a FixedRetriever hands it chunks
(assistant/retrieval/fake.py), the FakeEmbedder embeds, and what is tested is what the Answerer
does with them, where the meaning of words does not matter."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.drafting import REFUSAL
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.embedders.fake import FakeEmbedder
from assistant.records.sessions import SessionStore
from assistant.retrieval.fake import FixedRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Audience, ScoredChunk
from tests.assistant.chunks import RESET

RUNBOOK = ScoredChunk(
    chunk_id="runbook",
    text="To reset a password for a customer, open the admin console and click Reset.",
    metadata={"document": "internal/runbook.md", "title": "Runbook", "audience": "internal"},
    score=0.9,
    similarity=0.8,
)


@pytest.fixture
def answerer_over(tmp_path: Path) -> Iterator[object]:
    embedder = FakeEmbedder()
    store = EdgeStore(tmp_path / "edge", dimension=embedder.dimension)  # empty: the scorer's
    sessions = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")  # lookups find nothing

    def build(*chunks: ScoredChunk) -> Answerer:
        return Answerer(
            FixedRetriever(chunks),
            ExtractiveSynthesizer(embedder),
            embedder=embedder,
            scorer=ConfidenceScorer(store),
            sessions=sessions,
        )

    yield build
    sessions.close()
    store.close()


def test_the_answer_cites_the_chunks_the_retriever_gave(answerer_over) -> None:  # type: ignore[no-untyped-def]
    answer = answerer_over(RESET).ask("How do I reset my password?")
    assert not answer.refused
    assert "Forgot password" in answer.answer
    assert [c.document for c in answer.citations] == ["kb/reset-password.md"]


def test_nothing_retrieved_is_refused(answerer_over) -> None:  # type: ignore[no-untyped-def]
    answer = answerer_over().ask("How do I reset my password?")
    assert answer.refused and answer.answer == REFUSAL
    assert answer.citations == []


def test_a_customer_answer_never_reads_internal_chunks(answerer_over) -> None:  # type: ignore[no-untyped-def]
    answerer = answerer_over(RUNBOOK, RESET)
    answer = answerer.ask("How do I reset a password?", audience=Audience.INTERNAL)
    assert {c.document for c in answer.citations} == {"kb/reset-password.md"}  # customer mode


def test_a_follow_up_is_condensed_with_the_earlier_question(answerer_over) -> None:  # type: ignore[no-untyped-def]
    answerer = answerer_over(RESET)
    first = answerer.ask("How do I reset my password?")
    follow_up = answerer.ask("how long is the link valid?", session_id=first.session_id)
    assert follow_up.query.startswith("How do I reset my password?")
    assert follow_up.query.endswith("how long is the link valid?")
