"""Question → condense → retrieve (audience filter inside the query) → synthesize → Answer."""

import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any, TypedDict, Unpack

import numpy as np

from assistant.answering.answer_cache import AnswerCache, AnswerKey
from assistant.answering.citations import citations, ticket_text
from assistant.answering.confidence import ConfidenceScorer, covered_part
from assistant.answering.conflicts import note_conflicts
from assistant.answering.source_notes import note_sources, note_uncovered
from assistant.answering.synthesizers import StreamingSynthesizer, Synthesizer
from assistant.conversation import Condenser
from assistant.conversation.condense import condense, retrieval_queries
from assistant.conversation.handover import asks_for_person, handover_reply
from assistant.conversation.small_talk import is_small_talk, small_talk_reply, without_small_talk
from assistant.embedders import Embedder
from assistant.records.escalations import EscalationStore
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionOwner, SessionStore, Turn
from assistant.records.turns import TurnRecords
from assistant.retrieval import Retriever
from assistant.retrieval.fusion import fused
from assistant.text_units import word_pieces
from assistant.types import (
    Answer,
    AnswerEvent,
    Audience,
    Done,
    Draft,
    Finished,
    Handover,
    InternalNotes,
    Mode,
    Retraction,
    ScoredChunk,
    TextDelta,
    readable_audiences,
)

REFUSAL = (
    "I couldn't find this in our help content, so I won't guess. Try rephrasing the question "
    "with the feature or screen you are asking about, or contact support to reach a person."
)
INTERNAL_LABEL = "INTERNAL — do not send to the customer:"


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
    """Answers questions from the retrieved content; greetings and requests for a person get
    a reply of their own (assistant/conversation/small_talk.py, assistant/conversation/handover.py).

    Args:
        retriever: finds the chunks that answer (`HybridRetriever` over the store).
        embedder: embeds the question once for retrieval and the synthesizer.
        scorer: how sure an answer is, and what the content never mentions (confidence.py).
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
        self.retriever = retriever
        self.embedder = embedder
        self.confidence = scorer
        self.synthesizer = synthesizer
        self.sessions = sessions
        self.refusal_threshold = refusal_threshold
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
        if asks_for_person(question):  # "can I talk to a human?": how to reach support
            reply = Answer(
                answer=handover_reply(support_url=self.support_url),
                confidence=1.0,
                refused=False,
                session_id=session_id,
                handover=Handover(support_url=self.support_url),
            )
            yield from self._reply(question, reply, history, starts_for, escalate=True)
            return
        asked = without_small_talk(question)  # "hi, how do I…?" asks "how do I…?"
        query = self.condenser(asked, history)
        queries = self.retrieval_queries(asked, query, history)
        key = AnswerKey.of(
            " ".join(queries),  # a follow-up's answer depends on the question as asked too
            audience=audience,
            mode=mode,
            tenant=tenant,
            product_version=product_version,
            page=page,
        )
        writes = self.retriever.writes  # read before retrieving: see AnswerCache
        answer = self.cache.get(key, writes=writes, session_id=session_id) if self.cache else None
        if answer is not None:
            yield from (TextDelta(piece) for piece in word_pieces(answer.answer))
        else:
            answer, keep = yield from self._computed(queries, key, session_id)
            if self.cache and keep:
                self.cache.put(key, answer, writes=writes)
        turn = Turn(question, query, answer.answer, answer.refused)
        latency_ms = (time.perf_counter() - started) * 1000
        self.records.answered(
            turn,
            answer,
            session_id,
            starts_for,
            latency_ms,
            audience=key.audience.value,
            mode=key.mode.value,
            page=key.page,
        )
        yield Finished(answer)

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

    def _computed(
        self, queries: list[str], key: AnswerKey, session_id: str
    ) -> Generator[TextDelta | Retraction, None, tuple[Answer, bool]]:
        """Retrieves with `queries` (the standalone query first) and synthesizes, yielding the
        text as it is written; returns the Answer and whether it may be kept (not an LLM
        outage's fallback)."""
        # One embedding serves the answer and, in agent mode, the internal notes.
        vectors = [self.embedder.embed_question(text) for text in queries]
        query, vector = queries[0], vectors[0]
        shown: list[str] = []
        answer: Answer | None = None
        keep = False
        events = self._best_answer_events(
            queries,
            vectors,
            readable_audiences(key.audience, key.mode),
            session_id,
            product_version=key.product_version,
            page=key.page,
            tenant=key.tenant,
        )
        for event in events:
            if isinstance(event, Finished):
                answer, keep = event.answer, not event.fallback
                continue
            if isinstance(event, TextDelta):
                shown.append(event.text)
            else:
                shown.clear()
            yield event
        assert answer is not None
        so_far = "".join(shown)
        if so_far and answer.answer.startswith(so_far):  # notes added after the text
            yield from (TextDelta(piece) for piece in word_pieces(answer.answer[len(so_far) :]))
        elif so_far != answer.answer:
            if shown:
                yield Retraction("the sources do not support this answer well enough")
            yield from (TextDelta(piece) for piece in word_pieces(answer.answer))
        if key.mode == Mode.AGENT and not answer.refused:
            answer.ticket_text = ticket_text(answer)
        if key.mode == Mode.AGENT:
            notes, notes_fallback = self._internal_notes(
                query,
                vector,
                key.audience,
                product_version=key.product_version,
                page=key.page,
                tenant=key.tenant,
            )
            answer.internal_notes = notes
            keep = keep and not notes_fallback
        return answer, keep

    def _best_answer_events(
        self,
        queries: list[str],
        vectors: list[np.ndarray],
        audiences: list[str],
        session_id: str,
        *,
        product_version: str | None = None,
        page: str | None = None,
        tenant: str | None = None,
        owner: SessionOwner | None = None,
        conversation: list[Turn] | None = None,
    ) -> Iterator[AnswerEvent]:
        """One query: its answer. Several (a follow-up: the standalone query, then the question
        as asked): the results of each fused, and the more confident of the answers written
        to each over them, shown with the standalone query. An LLM (a streaming synthesizer)
        writes one answer only, to the standalone query."""
        options: dict[str, Any] = {"product_version": product_version, "page": page}
        if len(queries) == 1:
            yield from self._answer_events(
                queries[0], vectors[0], audiences, session_id, tenant=tenant, **options
            )
            return
        chunks = fused(
            [
                self._evidence(text, vector, audiences, tenant=tenant, **options)
                for text, vector in zip(queries, vectors, strict=True)
            ],
            vectors,
            limit=self.retriever.top_k,
        )
        if isinstance(self.synthesizer, StreamingSynthesizer):
            queries, vectors = queries[:1], vectors[:1]
        finals = []
        for text, vector in zip(queries, vectors, strict=True):
            events = self._answer_events(
                text, vector, audiences, session_id, tenant=tenant, evidence=chunks, **options
            )
            for event in events:
                if isinstance(event, Finished):
                    finals.append(event)
                else:
                    yield event
        best = max(finals, key=lambda final: final.answer.confidence)  # ties: the standalone
        best.answer.query = queries[0]
        yield best

    def _answer_events(
        self,
        query: str,
        vector: np.ndarray,
        audiences: list[str],
        session_id: str,
        *,
        product_version: str | None = None,
        page: str | None = None,
        tenant: str | None = None,
        evidence: list[ScoredChunk] | None = None,
    ) -> Iterator[AnswerEvent]:
        """The answer to `query` from what it retrieves, or from `evidence` when given."""
        chunks = evidence
        if chunks is None:
            chunks = self._evidence(
                query, vector, audiences, product_version=product_version, page=page, tenant=tenant
            )
        draft: Draft | None = None
        if isinstance(self.synthesizer, StreamingSynthesizer):
            for event in self.synthesizer.stream(query, chunks, question_vector=vector):
                if isinstance(event, Done):
                    draft = event.draft
                else:
                    yield event
        else:
            draft = self.synthesizer.synthesize(query, chunks, question_vector=vector)
        assert draft is not None
        # Notes come after the evidence check: they add sources, never weaken support.
        draft = note_sources(note_conflicts(query, draft, chunks), product_version=product_version)
        confidence, uncovered = self.confidence.assess(
            query, chunks, draft, audiences=audiences, tenant=tenant
        )
        part = covered_part(query, uncovered) if confidence < self.refusal_threshold else None
        if part:  # partly in scope: answer the part the content covers
            vector = self.embedder.embed_question(part)
            chunks, draft, confidence = self._draft(
                part, vector, audiences, product_version=product_version, page=page, tenant=tenant
            )
            draft = note_sources(
                note_conflicts(part, draft, chunks), product_version=product_version
            )
        if confidence >= self.refusal_threshold:  # and say plainly what it leaves out
            draft = note_uncovered(draft, uncovered)
        yield Finished(self._answer(query, draft, confidence, session_id), draft.fallback)

    def _evidence(
        self,
        query: str,
        vector: np.ndarray,
        audiences: list[str],
        *,
        product_version: str | None,
        page: str | None,
        tenant: str | None,
    ) -> list[ScoredChunk]:
        return self.retriever.retrieve(
            query,
            audiences=audiences,
            tenant=tenant,
            query_vector=vector,
            product_version=product_version,
            page=page,
        )

    def _answer(self, query: str, draft: Draft, confidence: float, session_id: str) -> Answer:
        refused = not draft.text or confidence < self.refusal_threshold
        return Answer(
            answer=REFUSAL if refused else draft.text,
            citations=[] if refused else citations(draft, question=query),
            confidence=confidence,
            refused=refused,
            session_id=session_id,
            query=query,
            warnings=draft.warnings,
        )

    def _draft(
        self,
        query: str,
        vector: np.ndarray,
        audiences: list[str],
        *,
        product_version: str | None = None,
        page: str | None = None,
        tenant: str | None = None,
    ) -> tuple[list[ScoredChunk], Draft, float]:
        """What `query` retrieves, the draft written from it and its confidence (notes, which
        add sources but never change support, can come after)."""
        chunks = self._evidence(
            query, vector, audiences, product_version=product_version, page=page, tenant=tenant
        )
        draft = self.synthesizer.synthesize(query, chunks, question_vector=vector)
        confidence = self.confidence.score(query, chunks, draft, audiences=audiences, tenant=tenant)
        return chunks, draft, confidence

    def _internal_notes(
        self,
        query: str,
        vector: np.ndarray,
        audience: Audience,
        *,
        product_version: str | None = None,
        page: str | None = None,
        tenant: str | None = None,
    ) -> tuple[InternalNotes | None, bool]:
        """What non-public sources the agent may read add, for the customer's product version
        and page (None when they add nothing), and whether the fallback synthesizer wrote it."""
        private = [a for a in audience.visible() if a != Audience.PUBLIC.value]
        if not private:
            return None, False
        _, draft, confidence = self._draft(
            query, vector, private, product_version=product_version, page=page, tenant=tenant
        )
        if not draft.text or confidence < self.refusal_threshold:
            return None, draft.fallback
        noted = note_sources(draft, product_version=product_version)
        # Notes have no warnings field: "Nothing matched version 4.1…" goes in their text.
        added = [w for w in noted.warnings[len(draft.warnings) :] if w not in noted.text]
        text = "\n\n".join([noted.text, *added])
        notes = InternalNotes(
            text=f"{INTERNAL_LABEL} {text}", citations=citations(noted, question=query)
        )
        return notes, draft.fallback


def final_answer(events: Iterator[AnswerEvent]) -> Answer:
    """The Answer at the end of `Answerer.stream`, the events before it dropped."""
    for event in events:
        if isinstance(event, Finished):
            return event.answer
    raise AssertionError("Answerer.stream always ends with Finished")
