"""One exchange: a message in, a reply out and on record. Small talk and requests for a person
get their own reply; a question is made standalone (condense), answered from the cache or by
the Drafter (drafting.py: retrieve → synthesize → checks → confidence), and recorded."""

import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any, TypedDict, TypeVar, Unpack

from assistant.answering.answer_cache import AnswerCache, AnswerKey
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.drafting import Drafter
from assistant.answering.synthesizers import Synthesizer
from assistant.conversation import Condenser
from assistant.conversation.condense import condense, retrieval_queries
from assistant.conversation.handover import (
    asks_for_person,
    besides_request,
    handover_note,
    handover_reply,
)
from assistant.conversation.small_talk import is_small_talk, small_talk_reply, without_small_talk
from assistant.embedders import Embedder
from assistant.records.escalations import EscalationStore
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionOwner, SessionStore, Turn
from assistant.records.turns import TurnRecords
from assistant.retrieval import Retriever
from assistant.text_units import word_pieces
from assistant.types import (
    Answer,
    AnswerEvent,
    Audience,
    Finished,
    Handover,
    Mode,
    Retraction,
    TextDelta,
)

Event = TypeVar("Event")
Result = TypeVar("Result")


class AskOptions(TypedDict, total=False):
    """`Answerer.stream`'s keyword options, so `ask` takes the same ones."""

    audience: Audience
    mode: Mode
    session_id: str | None
    product_version: str | None
    page: str | None
    tenant: str | None
    owner: SessionOwner | None
    conversation: list[Turn] | None


class Answerer:
    """One exchange of a conversation: greetings and requests for a person get a reply of their
    own (assistant/conversation/small_talk.py, assistant/conversation/handover.py); a question
    is made standalone, answered from the cache or by the `Drafter` (drafting.py) and recorded.

    Args:
        retriever, synthesizer, embedder, scorer, refusal_threshold: the `Drafter`'s.
        sessions: keeps each conversation's turns (follow-ups are condensed with them).
        question_log: logs every answered or refused question for the analytics.
        escalations: records requests for a person made in words (needs `sessions`).
        support_url: where a person on the support team can be reached, given to whoever
            asks for one.
    """

    def __init__(
        self,
        retriever: Retriever,
        synthesizer: Synthesizer,
        *,
        embedder: Embedder,
        scorer: ConfidenceScorer,
        sessions: SessionStore | None = None,
        refusal_threshold: float = 0.42,
        question_log: QuestionLog | None = None,
        condenser: Condenser = condense,
        cache: AnswerCache | None = None,
        escalations: EscalationStore | None = None,
        support_url: str | None = None,
    ) -> None:
        self.support_url = support_url
        self.condenser = condenser
        self.cache = cache
        self.drafter = Drafter(
            retriever,
            synthesizer,
            embedder=embedder,
            scorer=scorer,
            refusal_threshold=refusal_threshold,
        )
        self.sessions = sessions
        # The question log and escalations are written only with a turn: TurnRecords keeps them.
        self.records = TurnRecords(sessions, question_log, escalations)

    def ask(self, question: str, **options: Unpack[AskOptions]) -> Answer:
        """The whole Answer at once: `stream`'s last event (its options are the same)."""
        return final_answer(self.stream(question, **options))

    def stream(
        self,
        question: str,
        *,
        audience: Audience = Audience.PUBLIC,
        mode: Mode = Mode.CUSTOMER,
        session_id: str | None = None,
        product_version: str | None = None,
        page: str | None = None,
        tenant: str | None = None,
        owner: SessionOwner | None = None,
        conversation: list[Turn] | None = None,
    ) -> Iterator[AnswerEvent]:
        """The answer as it is written: `TextDelta`s (an LLM's tokens as they come; otherwise
        the finished text in word-sized pieces), a `Retraction` when text already shown is
        withdrawn (the LLM's answer failed its check, or the evidence proved too weak), then
        `Finished` with the Answer. The deltas after the last retraction make `answer.answer`.

        `product_version` prefers content for that version; `page` (where the user is in the
        product, e.g. `/settings/reminders`) ranks content made for that page higher. `tenant`
        adds that tenant's content to the shared content. `owner` is who asks (default: an
        operator with this audience and tenant): only the owner that started a session
        continues it; anyone else sending its id gets a new conversation. `conversation`: the
        earlier turns as the caller sent them (a stateless API such as OpenAI's), used instead
        of the session's stored ones.
        """
        started = time.perf_counter()
        owner = owner or SessionOwner.operator(audience=audience.value, tenant=tenant)
        if self.sessions and session_id and not self.sessions.claim(session_id, owner):
            session_id = None  # someone else's conversation: start a new one instead
        history = conversation
        if history is None:
            history = self.sessions.history(session_id) if self.sessions and session_id else []
        starts_for = owner if session_id is None else None
        session_id = session_id or uuid.uuid4().hex  # 122 random bits: not to be guessed
        if is_small_talk(question):  # "hi", "thanks!": nothing to search, nothing to log
            reply = Answer(
                answer=small_talk_reply(question),
                confidence=1.0,
                refused=False,
                session_id=session_id,
            )
            yield from self._reply(question, reply, history, starts_for)
            return
        scope: dict[str, Any] = {
            "audience": audience,
            "mode": mode,
            "tenant": tenant,
            "product_version": product_version,
            "page": page,
        }
        if asks_for_person(question):  # "can I talk to a human?": how to reach support
            yield from self._handover(question, history, session_id, starts_for, started, scope)
            return
        asked = without_small_talk(question)  # "hi, how do I…?" asks "how do I…?"
        answer, query, key = yield from self._answered(asked, history, session_id, scope)
        turn = Turn(question, query, answer.answer, answer.refused)
        self._record(turn, answer, session_id, starts_for, started, key)
        yield Finished(answer)

    def _answered(
        self, asked: str, history: list[Turn], session_id: str, scope: dict[str, Any]
    ) -> Generator[TextDelta | Retraction, None, tuple[Answer, str, AnswerKey]]:
        """The answer to `asked` (from the cache, or computed), the standalone query and the
        answer's cache key."""
        query = self.condenser(asked, history)
        queries = self.retrieval_queries(asked, query, history)
        # A follow-up's answer depends on the question as asked too.
        key = AnswerKey.of(" ".join(queries), **scope)
        writes = self.drafter.retriever.writes  # read before retrieving: see AnswerCache
        answer = self.cache.get(key, writes=writes, session_id=session_id) if self.cache else None
        if answer is not None:
            yield from (TextDelta(piece) for piece in word_pieces(answer.answer))
        else:
            answer, keep = yield from self.drafter.answer(queries, key, session_id)
            if self.cache and keep:
                self.cache.put(key, answer, writes=writes)
        return answer, query, key

    def _handover(
        self,
        question: str,
        history: list[Turn],
        session_id: str,
        starts_for: SessionOwner | None,
        started: float,
        scope: dict[str, Any],
    ) -> Iterator[AnswerEvent]:
        """How to reach support, after the answer to what else the message asks ("my TV has
        no sound, can I talk to an agent?") when the content answers it: a refusal would only
        stand between the user and the person they asked for."""
        handover = Handover(support_url=self.support_url)
        asked = besides_request(question)
        if asked:
            # Held back until the answer is known: a refusal gives way to the reply below.
            events: list[TextDelta | Retraction] = []
            answer, query, key = _drain(self._answered(asked, history, session_id, scope), events)
            if not answer.refused:
                note = f"\n\n{handover_note(support_url=self.support_url)}"
                answer = answer.model_copy(
                    update={"answer": answer.answer + note, "handover": handover}
                )
                yield from [*events, TextDelta(note)]
                turn = Turn(question, query, answer.answer, refused=False)
                self._record(turn, answer, session_id, starts_for, started, key, escalate=True)
                yield Finished(answer)
                return
        reply = Answer(
            answer=handover_reply(support_url=self.support_url),
            confidence=1.0,
            refused=False,
            session_id=session_id,
            handover=handover,
        )
        yield from self._reply(question, reply, history, starts_for, escalate=True)

    def _record(
        self,
        turn: Turn,
        answer: Answer,
        session_id: str,
        starts_for: SessionOwner | None,
        started: float,
        key: AnswerKey,
        *,
        escalate: bool = False,
    ) -> None:
        self.records.answered(
            turn,
            answer,
            session_id,
            starts_for,
            (time.perf_counter() - started) * 1000,
            audience=key.audience.value,
            mode=key.mode.value,
            page=key.page,
            escalate=escalate,
        )

    def _reply(
        self,
        question: str,
        reply: Answer,
        history: list[Turn],
        starts_for: SessionOwner | None,
        *,
        escalate: bool = False,
    ) -> Iterator[AnswerEvent]:
        yield from (TextDelta(piece) for piece in word_pieces(reply.answer))
        self.records.reply(question, reply, history, starts_for, escalate=escalate)
        yield Finished(reply)

    def retrieval_queries(self, question: str, query: str, history: list[Turn]) -> list[str]:
        """What to retrieve with: the standalone `query` and, in a conversation, the question
        as asked when `query` only put earlier turns in front of it
        (assistant/conversation/condense.py)."""
        return retrieval_queries(question, query) if history else [query]


def final_answer(events: Iterator[AnswerEvent]) -> Answer:
    """The Answer at the end of `Answerer.stream`, the events before it dropped."""
    for event in events:
        if isinstance(event, Finished):
            return event.answer
    raise AssertionError("Answerer.stream always ends with Finished")


def _drain(events: Generator[Event, None, Result], into: list[Event]) -> Result:
    """Runs `events` to its end, keeping what it yields in `into`; returns what it returns."""
    while True:
        try:
            into.append(next(events))
        except StopIteration as end:
            return end.value
