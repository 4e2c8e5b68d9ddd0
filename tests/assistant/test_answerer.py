"""Answers over a small real corpus with the real MiniLM embedder and the real Qdrant engine."""

import re

import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.citations import citation
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.records.sessions import SessionStore
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Audience, Mode
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Answerer:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("answers")
    corpus = write_corpus(root / "corpus")
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([corpus])
    retriever = HybridRetriever(store, real_embedder, top_k=6)
    sessions = SessionStore(f"sqlite:///{root / 'app.db'}")
    return Answerer(
        retriever,
        ExtractiveSynthesizer(real_embedder),
        sessions=sessions,
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )


def cited_numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_how_to_question_gets_the_whole_step_list_cited(answerer: Answerer) -> None:
    answer = answerer.ask("How do I reset my password?")
    assert not answer.refused
    assert "1. Open the sign-in page and click Forgot password." in answer.answer
    assert "4. Choose a new password" in answer.answer
    assert answer.citations[0].document == "kb/reset-password.md"
    assert answer.citations[0].url == "https://help.example.com/articles/reset-password#steps"


def test_every_marker_names_a_citation_and_every_citation_is_used(answerer: Answerer) -> None:
    for question in (
        "How do I turn on payment reminders?",
        "How do I fix a bank feed that stopped syncing?",
    ):
        answer = answerer.ask(question)
        assert not answer.refused, question
        assert cited_numbers(answer.answer) == {c.id for c in answer.citations}


def test_transcript_citation_opens_the_video_where_the_quote_is_spoken(
    answerer: Answerer,
) -> None:
    answer = answerer.ask("How do I switch on automatic reminders?")
    video = [c for c in answer.citations if c.source_type == "transcript"]
    assert video, answer
    # The quote is Sam's cue at 00:01:10; the chunk holding it starts at 00:00:01.
    assert "To turn on reminders, open Settings" in answer.answer
    assert video[0].start_seconds == 70.0
    assert video[0].url == "https://video.example.com/w/getting-paid?t=70"
    assert video[0].snippet.startswith("Sam Ortiz: To turn on reminders")


def test_a_transcript_passage_not_quoted_word_for_word_cites_the_chunks_start(
    answerer: Answerer,
) -> None:
    chunks = answerer.drafter.retriever.retrieve(
        "webinar automatic reminders", audiences=["public"]
    )
    video = next(c for c in chunks if c.metadata.get("source_type") == "transcript")
    paraphrase = citation(1, video, ["Reminders can be switched on in the settings."])
    assert paraphrase.start_seconds == video.metadata["start_seconds"]
    assert paraphrase.url == video.metadata["url"]


def test_forum_citation_links_the_post(answerer: Answerer) -> None:
    answer = answerer.ask(
        "My bank feed stopped syncing after changing my bank password, what do I do?"
    )
    assert any(
        c.url == "https://community.example.com/t/bank-feed-stopped-syncing/1482/2"
        and c.author == "staff_sam"
        for c in answer.citations
    ), answer


def test_out_of_scope_question_is_refused_without_citations(answerer: Answerer) -> None:
    answer = answerer.ask("What is the boiling point of tungsten on Mars?")
    assert answer.refused and answer.citations == []
    assert "couldn't find" in answer.answer


def test_internal_content_never_reaches_public_callers(answerer: Answerer) -> None:
    question = "What override code is used for refunds above 500 dollars?"
    public = answerer.ask(question)
    assert "PELICAN" not in public.answer
    assert all(c.audience == "public" for c in public.citations)
    employee = answerer.ask(question, audience=Audience.INTERNAL, mode=Mode.INTERNAL)
    assert employee.citations[0].document == "kb/internal-refunds.md"
    assert employee.citations[0].audience == "internal"
    # A customer-facing mode reads public content only, even for an employee.
    customer_mode = answerer.ask(question, audience=Audience.INTERNAL, mode=Mode.CUSTOMER)
    assert "PELICAN" not in customer_mode.answer


def test_session_id_is_kept_or_made(answerer: Answerer) -> None:
    assert answerer.ask("How do I add a tax rate?", session_id="s-1").session_id == "s-1"
    assert len(answerer.ask("How do I add a tax rate?").session_id) == 32


def test_follow_up_in_a_session_is_answered_in_context(answerer: Answerer) -> None:
    first = answerer.ask("How do I reset my password?", session_id="conv-1")
    assert first.query == "How do I reset my password?"
    follow_up = answerer.ask("How long is the link valid for it?", session_id="conv-1")
    assert follow_up.query.startswith("How do I reset my password?")
    assert follow_up.citations[0].document == "kb/reset-password.md"
    # The same words without the session are a different, unanchored question.
    assert answerer.ask("How long is the link valid for it?").query == (
        "How long is the link valid for it?"
    )


def test_agent_mode_keeps_internal_notes_apart(answerer: Answerer) -> None:
    question = "A customer wants a refund above 500 dollars, what do I do?"
    agent = answerer.ask(question, audience=Audience.INTERNAL, mode=Mode.AGENT)
    assert all(c.audience == "public" for c in agent.citations)
    assert "PELICAN" not in agent.answer and "PELICAN" not in (agent.ticket_text or "")
    assert agent.internal_notes is not None
    assert agent.internal_notes.text.startswith("INTERNAL")
    assert {c.audience for c in agent.internal_notes.citations} == {"internal"}
    # A public caller in agent mode gets no internal notes at all.
    assert answerer.ask(question, mode=Mode.AGENT).internal_notes is None


def test_agent_ticket_text_is_plain_with_full_urls(answerer: Answerer) -> None:
    agent = answerer.ask("How do I reset my password?", mode=Mode.AGENT)
    assert agent.ticket_text is not None
    assert agent.ticket_text.startswith(agent.answer)
    assert "[1] Resetting your password: https://help.example.com/articles/reset-password#" in (
        agent.ticket_text
    )


class _QuestionOnlyEmbedder:
    """Embeds one text per call (a question) and fails on more: units must not be embedded."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner

    def embed(self, texts):  # type: ignore[no-untyped-def]
        assert len(texts) == 1, f"the synthesizer embedded {len(texts)} texts"
        return self.inner.embed(texts)


def test_extractive_answers_embed_nothing_but_the_question(answerer: Answerer) -> None:
    # Units are scored by the question's words and their section's closeness, so an answer
    # costs one question embedding and no model call per sentence.
    embedder = answerer.drafter.embedder
    question = "How long is a password reset link valid?"
    vector = embedder.embed([question])[0]
    chunks = answerer.drafter.retriever.retrieve(
        question, audiences=["public"], query_vector=vector
    )
    synthesizer = ExtractiveSynthesizer(_QuestionOnlyEmbedder(embedder))  # type: ignore[arg-type]
    draft = synthesizer.synthesize(question, chunks, question_vector=vector)
    assert "30 minutes" in draft.text
    assert 0.0 < draft.support <= 1.0
