"""Requests for a person: recognised by their shape in several languages (and not in questions
that merely mention agents or support), answered with how to reach support, never with a
quote from content, and recorded as an escalation of the conversation. A question asked
beside the request is answered first, when the content answers it."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.answering.answerer import Answerer, final_answer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.conversation.handover import (
    asks_for_person,
    besides_request,
    handover_note,
    handover_reply,
)
from assistant.embedders.fake import FakeEmbedder
from assistant.records.escalations import EscalationSource, EscalationStore
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore
from assistant.retrieval.fake import FixedRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Retraction, ScoredChunk, TextDelta
from tests.assistant.chunks import RESET

SUPPORT = "https://support.example.com/contact"
REQUESTS = [
    "I want to talk to a human",
    "Can I speak to a real person please?",
    "talk to an agent",
    "human please",
    "Agent!",
    "representative",
    "contact support",
    "How do I contact customer support?",
    "Is there a way to reach someone from your team?",
    "connect me with a representative",
    "I’d like to speak with someone",
    "Can I get a live agent?",
    "This isn't helping, let me talk to a person",
    "I need a human",
    "transfer me to customer service",
    "how can I get in touch with support?",
    "Je veux parler à un conseiller",
    "Puis-je contacter le service client ?",
    "Quiero hablar con un agente",
    "Kann ich mit einem Mitarbeiter sprechen?",
    "Quero falar com um atendente",
    "Kan ik met een medewerker spreken?",
]
QUESTIONS = [
    "How do I reset my password?",
    "How do I add a support agent to my account?",
    "How do I let my customers talk to an agent?",
    "Can customers chat with support from an invoice?",
    "How do I assign a ticket to an agent?",
    "I need support for multiple currencies",
    "What is agent mode?",
    "How do I invite someone to my workspace?",
    "I don't want to talk to a person, just tell me how to export invoices",
    "How do I email an invoice to a customer?",
    "Can my team members talk to each other in the app?",
    "How do I reach the settings page?",
    "support",
    "help",
    "I have been trying for an hour to set up automatic payment reminders for my clients "
    "and it keeps failing, do I need to contact support or is there a setting?",
]


@pytest.mark.parametrize("message", REQUESTS)
def test_requests_for_a_person_are_recognised(message: str) -> None:
    assert asks_for_person(message)


@pytest.mark.parametrize("message", QUESTIONS)
def test_questions_about_agents_or_support_are_questions(message: str) -> None:
    assert not asks_for_person(message)


@pytest.fixture
def answerer_with(tmp_path: Path) -> Iterator[Callable[..., Answerer]]:
    """An answerer that retrieves the given chunks for any question, with its records."""
    embedder = FakeEmbedder()
    store = EdgeStore(tmp_path / "edge", dimension=embedder.dimension)
    sessions = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")

    def build(*chunks: ScoredChunk) -> Answerer:
        return Answerer(
            FixedRetriever(chunks),
            ExtractiveSynthesizer(embedder),
            sessions=sessions,
            question_log=QuestionLog(sessions.engine),
            escalations=EscalationStore(sessions.engine),
            support_url=SUPPORT,
            embedder=embedder,
            scorer=ConfidenceScorer(store),
        )

    yield build
    store.close()
    sessions.close()


def test_a_request_is_answered_with_the_support_link_and_recorded(
    answerer_with: Callable[..., Answerer],
) -> None:
    answerer = answerer_with()  # a request for a person needs no content
    assert answerer.sessions is not None and answerer.records.escalations is not None
    assert answerer.records.question_log is not None
    first = answerer.ask("How do I export invoices?")
    reply = answerer.ask("hi, can I talk to a human?", session_id=first.session_id)
    assert reply.session_id == first.session_id
    assert not reply.refused and reply.citations == []
    assert reply.handover is not None and reply.handover.support_url == SUPPORT
    assert SUPPORT in reply.answer and reply.answer == handover_reply(support_url=SUPPORT)
    [escalation] = answerer.records.escalations.entries(session_ids=[first.session_id])
    assert escalation.source == EscalationSource.ASKED
    history = answerer.sessions.history(first.session_id)
    assert [t.question for t in history] == [
        "How do I export invoices?",
        "hi, can I talk to a human?",
    ]
    # A request for a person is no content gap: the log holds the question only.
    assert [q.question for q in answerer.records.question_log.entries()] == [
        "How do I export invoices?"
    ]


def test_without_a_support_url_the_reply_still_says_where_to_go() -> None:
    reply = handover_reply()
    assert "support" in reply and "http" not in reply


@pytest.mark.parametrize(
    ("message", "also_asked"),
    [
        ("My TV has no sound, can I talk to an agent?", "My TV has no sound"),
        ("Can I talk to a person? How do I reset my password?", "How do I reset my password?"),
        ("Hello, I need a human. How do I pair my remote?", "How do I pair my remote?"),
        ("Quiero hablar con un agente. Mi TV no tiene sonido", "Mi TV no tiene sonido"),
        ("hi, can I talk to a human?", ""),  # pleasantries are not a question
        ("agent, please", ""),
        ("I want to talk to a human about my invoice", ""),  # one clause: the request
    ],
)
def test_what_a_request_for_a_person_also_asks(message: str, also_asked: str) -> None:
    assert asks_for_person(message)
    assert besides_request(message) == also_asked


def test_a_question_asked_with_the_request_is_answered_before_the_support_link(
    answerer_with: Callable[..., Answerer],
) -> None:
    answerer = answerer_with(RESET)
    message = "How do I reset my password? I want to talk to a person."
    events = list(answerer.stream(message))
    answer = final_answer(iter(events))
    assert not answer.refused and "Forgot password" in answer.answer
    assert [c.document for c in answer.citations] == ["kb/reset-password.md"]
    assert answer.handover is not None and answer.handover.support_url == SUPPORT
    assert answer.answer.endswith(handover_note(support_url=SUPPORT))
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert shown == answer.answer and not any(isinstance(e, Retraction) for e in events)
    assert answerer.records.escalations is not None and answerer.records.question_log
    [escalation] = answerer.records.escalations.entries(session_ids=[answer.session_id])
    assert escalation.source == EscalationSource.ASKED
    assert [q.question for q in answerer.records.question_log.entries()] == [message]


def test_a_question_the_content_does_not_answer_leaves_the_request_alone(
    answerer_with: Callable[..., Answerer],
) -> None:
    """A refusal would only stand between the user and the person they asked for."""
    answerer = answerer_with()  # nothing to answer from
    reply = answerer.ask("How do I reset my password? I want to talk to a person.")
    assert reply.answer == handover_reply(support_url=SUPPORT) and not reply.refused
    assert answerer.records.escalations is not None and answerer.records.question_log
    assert len(answerer.records.escalations.entries(session_ids=[reply.session_id])) == 1
    assert answerer.records.question_log.entries() == []
