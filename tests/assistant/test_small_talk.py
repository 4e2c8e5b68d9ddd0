"""Small talk gets a friendly reply, not a quote; a pleasantry around a question is dropped.

Over the demo webinar (which opens with "Hi everyone, and welcome" and closes with "thank you
all for joining") and the demo password article, with real MiniLM and the real Qdrant engine.
"""

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.analytics.gaps import GapAnalyzer
from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.conversation.small_talk import is_small_talk, without_small_talk
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Finished, TextDelta
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
SMALL_TALK = [
    "hi",
    "Hello!",
    "hey there 👋",
    "good morning",
    "thanks!",
    "thank you",
    "Thanks so much 🙏",
    "ok thanks",
    "you are great",
    "awesome, that was really helpful",
    "bye",
    "how are you?",
]
QUESTIONS = [
    "How do I reset my password?",
    "help",
    "reminders",
    "Can I invoice you in euros?",
    "is the reset link valid for long?",
    "What happens after 30 days?",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Answerer]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("small-talk")
    content = root / "content"
    (content / "kb").mkdir(parents=True)
    (content / "transcripts").mkdir()
    shutil.copy(CORPORA / "kb" / "reset-password.md", content / "kb")
    for name in ("getting-paid-faster.vtt", "getting-paid-faster.vtt.meta.yaml"):
        shutil.copy(CORPORA / "transcripts" / name, content / "transcripts")
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([content], progress=False)
    sessions = SessionStore(f"sqlite:///{root / 'app.db'}")
    yield Answerer(
        HybridRetriever(store, real_embedder, top_k=6),
        ExtractiveSynthesizer(real_embedder),
        sessions=sessions,
        question_log=QuestionLog(sessions.engine),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )
    store.close()


@pytest.mark.parametrize("message", SMALL_TALK)
def test_small_talk_is_recognised(message: str) -> None:
    assert is_small_talk(message)


@pytest.mark.parametrize("message", QUESTIONS)
def test_questions_are_not_small_talk(message: str) -> None:
    assert not is_small_talk(message)


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("hi, how do I reset my password?", "how do I reset my password?"),
        ("Hi there how do I reset my password", "how do I reset my password"),
        ("thanks! and how long is the link valid?", "and how long is the link valid?"),
        ("How do I reset my password? Thanks in advance!", "How do I reset my password?"),
        ("how do I reset my password thank you", "how do I reset my password"),
        ("How do I reset my password?", "How do I reset my password?"),
    ],
)
def test_the_pleasantry_around_a_question_is_dropped(message: str, question: str) -> None:
    assert without_small_talk(message) == question


@pytest.mark.parametrize("message", SMALL_TALK)
def test_small_talk_gets_a_friendly_reply_not_a_quote(demo: Answerer, message: str) -> None:
    answer = demo.ask(message)
    assert not answer.refused
    assert answer.citations == []
    assert "[1]" not in answer.answer
    assert "help" in answer.answer.lower()  # says what it can help with
    for quote in ("Maya Chen", "Daniel", "Hi everyone", "for joining", "rest of your day"):
        assert quote not in answer.answer
    assert answer.session_id


def test_small_talk_is_a_turn_of_the_conversation_but_not_a_logged_question(
    demo: Answerer,
) -> None:
    assert demo.sessions is not None and demo.records.question_log is not None
    first = demo.ask("How do I reset my password?")
    logged = len(demo.records.question_log.entries())
    events = list(demo.stream("thanks!", session_id=first.session_id))
    answer = events[-1].answer if isinstance(events[-1], Finished) else None
    assert answer is not None and answer.session_id == first.session_id
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer.answer
    history = demo.sessions.history(first.session_id)
    assert [turn.question for turn in history] == ["How do I reset my password?", "thanks!"]
    assert history[-1].answer == answer.answer
    # A greeting is no content gap: it is not in the question log the gap report reads.
    assert len(demo.records.question_log.entries()) == logged


def test_greetings_never_show_up_in_the_gap_report(demo: Answerer) -> None:
    assert demo.records.question_log is not None
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    for message in ("hi", "hello", "good morning", "thanks!", "bye"):
        demo.ask(message)
    report = GapAnalyzer(demo.records.question_log, demo.drafter.retriever).report(since=since)
    gaps = {question for group in report.groups for question in group.questions}
    assert not gaps & {"hi", "hello", "good morning", "thanks!", "bye"}


def test_a_greeting_before_a_question_is_answered_as_the_question(demo: Answerer) -> None:
    answer = demo.ask("hi, how do I reset my password?")
    assert not answer.refused
    assert answer.citations and answer.citations[0].document == "kb/reset-password.md"
    assert "Forgot password" in answer.answer
    assert "Hi everyone" not in answer.answer


def test_thanks_and_a_follow_up_answers_the_follow_up(demo: Answerer) -> None:
    first = demo.ask("How do I reset my password?")
    answer = demo.ask("thanks! and how long is the link valid?", session_id=first.session_id)
    assert not answer.refused
    assert "30 minutes" in answer.answer
    assert answer.citations[0].document == "kb/reset-password.md"
