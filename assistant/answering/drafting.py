"""The answer to a standalone query from the content: retrieve (the caller's audience
inside the query) → synthesize → notes → confidence → the Answer, or the refusal when the
evidence is too weak. In agent mode, what non-public sources add comes with it."""

from collections.abc import Generator, Iterator
from typing import Any

import numpy as np

from assistant.answering.answer_cache import AnswerKey
from assistant.answering.citations import citations, ticket_text
from assistant.answering.confidence import ConfidenceScorer, covered_part
from assistant.answering.conflicts import note_conflicts
from assistant.answering.source_notes import note_sources, note_uncovered
from assistant.answering.synthesizers import StreamingSynthesizer, Synthesizer
from assistant.embedders import Embedder
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


class Drafter:
    """Writes and weighs the answer to a query; the Answerer decides what to ask it.

    Args:
        retriever: finds the chunks that answer (`HybridRetriever` over the store).
        synthesizer: writes the draft from them (extractive, or an LLM's).
        embedder: embeds the question once for retrieval and the synthesizer.
        scorer: how sure an answer is, and what the content never mentions (confidence.py).
        refusal_threshold: below this confidence the answer is the refusal.
    """

    def __init__(
        self,
        retriever: Retriever,
        synthesizer: Synthesizer,
        *,
        embedder: Embedder,
        scorer: ConfidenceScorer,
        refusal_threshold: float = 0.42,
    ) -> None:
        self.retriever = retriever
        self.synthesizer = synthesizer
        self.embedder = embedder
        self.confidence = scorer
        self.refusal_threshold = refusal_threshold

    def answer(
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
