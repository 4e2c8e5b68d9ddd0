"""Question → retrieve (audience filter inside the query) → synthesize → cited Answer."""

import uuid

from assistant.retriever import HybridRetriever
from assistant.synthesizers import Draft, Synthesizer
from assistant.types import Answer, Audience, Citation, Mode, ScoredChunk

REFUSAL = (
    "I couldn't find this in our help content, so I won't guess. Try rephrasing the question "
    "with the feature or screen you are asking about, or contact support to reach a person."
)
_SNIPPET_CHARS = 240


class Answerer:
    def __init__(
        self,
        retriever: HybridRetriever,
        synthesizer: Synthesizer,
        *,
        refusal_threshold: float = 0.35,
    ) -> None:
        self.retriever = retriever
        self.synthesizer = synthesizer
        self.refusal_threshold = refusal_threshold

    def ask(
        self,
        question: str,
        *,
        audience: Audience = Audience.PUBLIC,
        mode: Mode = Mode.CUSTOMER,
        session_id: str | None = None,
    ) -> Answer:
        session_id = session_id or uuid.uuid4().hex
        vector = self.retriever.embedder.embed([question])[0]
        chunks = self.retriever.retrieve(
            question, audiences=readable_audiences(audience, mode), query_vector=vector
        )
        draft = self.synthesizer.synthesize(question, chunks, question_vector=vector)
        confidence = answer_confidence(chunks, draft)
        if not draft.text or confidence < self.refusal_threshold:
            return Answer(
                answer=REFUSAL, confidence=confidence, refused=True, session_id=session_id
            )
        return Answer(
            answer=draft.text,
            citations=[citation(n, chunk) for n, chunk in enumerate(draft.sources, start=1)],
            confidence=confidence,
            refused=False,
            session_id=session_id,
        )


def readable_audiences(audience: Audience, mode: Mode) -> list[str]:
    """Customer-facing modes read public content only, whoever the caller is."""
    if mode in (Mode.CUSTOMER, Mode.AGENT):
        return [Audience.PUBLIC.value]
    return audience.visible()


def answer_confidence(chunks: list[ScoredChunk], draft: Draft) -> float:
    """Blend of how close the best chunk is to the question and how well the answer is supported."""
    if not chunks or not draft.sources:
        return 0.0
    best = max(c.similarity for c in chunks)
    return round(min(1.0, max(0.0, 0.5 * best + 0.5 * draft.support)), 3)


def citation(number: int, chunk: ScoredChunk) -> Citation:
    meta = chunk.metadata
    text = " ".join(chunk.text.split())
    snippet = text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"
    return Citation(
        id=number,
        title=str(meta.get("title_path") or chunk.title),
        source_type=str(meta.get("source_type", "kb")),
        url=meta.get("url"),
        document=chunk.document,
        snippet=snippet,
        audience=str(meta.get("audience", "public")),
        reviewed=bool(meta.get("reviewed", True)),
        start_seconds=meta.get("start_seconds"),
        author=meta.get("author"),
    )
