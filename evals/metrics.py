"""Offline metrics: Ragas' ID-based context metrics, semantic similarity with our MiniLM and
ROUGE-L, plus our own refusal, leak and citation checks. No language model is called.

Every metric is a number in [0, 1] per turn, or None where it does not apply (a refusal case has
no reference documents; a conversation turn may have no reference answer).
"""

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from ragas._analytics import get_userid
from ragas.dataset_schema import SingleTurnSample
from ragas.embeddings.base import BaseRagasEmbedding
from ragas.metrics import IDBasedContextPrecision, IDBasedContextRecall
from ragas.metrics.collections import RougeScore, SemanticSimilarity

from assistant.answering.citation_check import CitationChecker
from assistant.answering.claims import MARKER, split_claims
from assistant.embedders import Embedder
from evals.records import TurnRecord

# Ragas builds (unsent, with RAGAS_DO_NOT_TRACK) usage events whose user id it reads once from
# ~/.local/share/ragas/uuid.json with a file it never closes; read it here, where that
# ResourceWarning is silenced, so it does not surface at a random later point.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ResourceWarning)
    get_userid()

_MARKER_WITH_SPACE = re.compile(rf"\s*{MARKER.pattern}")

# Metric names, in report order. Offline ones are always scored.
OFFLINE_METRICS = (
    "refusal_accuracy",
    "leak_free",
    "context_precision",
    "context_recall",
    "semantic_similarity",
    "rouge_l",
    "citation_supported",
    "reference_cited",
    "citation_accuracy",
    "ticket_complete",
)


class CachingEmbedder:
    """Remembers vectors by text: answers quote the same source sentences over and over, and
    the citation check embeds every sentence of every cited chunk."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.dimension = embedder.dimension
        self.max_tokens = embedder.max_tokens
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def embed_question(self, question: str) -> np.ndarray:
        return self.embedder.embed_question(question)

    def count_tokens(self, text: str) -> int:
        return self.embedder.count_tokens(text)


class MiniLMRagasEmbeddings(BaseRagasEmbedding):
    """Ragas' embedding interface over our already loaded embedder (the one that built the
    index), so Ragas scores with exactly our MiniLM vectors and loads no second model."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        self.embedder = embedder

    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        return [float(x) for x in self.embedder.embed([text])[0]]

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_text(text)

    def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embedder.embed(texts)]

    async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return self.embed_texts(texts)


def answer_text(text: str) -> str:
    """The answer as prose: citation markers removed, whitespace collapsed."""
    return " ".join(_MARKER_WITH_SPACE.sub("", text).split())


class OfflineScorer:
    """Scores a TurnRecord with the offline metrics (see OFFLINE_METRICS)."""

    def __init__(self, embedder: Embedder) -> None:
        embedder = CachingEmbedder(embedder)
        self.embedder = embedder
        self.ragas_embeddings = MiniLMRagasEmbeddings(embedder)
        self.context_precision = IDBasedContextPrecision()
        self.context_recall = IDBasedContextRecall()
        self.similarity = SemanticSimilarity(embeddings=self.ragas_embeddings)
        self.rouge = RougeScore(rouge_type="rougeL", mode="fmeasure")
        self.checker = CitationChecker(embedder)

    async def score(self, record: TurnRecord) -> dict[str, float | None]:
        answer = record.answer
        scores: dict[str, float | None] = dict.fromkeys(OFFLINE_METRICS)
        if record.case.expect == "small_talk":
            scores["refusal_accuracy"] = float(not answer.refused and not answer.citations)
        else:
            scores["refusal_accuracy"] = float(answer.refused != record.expects_answer)
        scores["leak_free"] = float(leak_free(record))
        turn = record.turn
        if record.expects_answer and turn.reference_documents:
            scores.update(await self._context_scores(record))
        if record.expects_answer and turn.reference_answer:
            scores.update(await self._text_scores(record, turn.reference_answer))
        if record.expects_answer and turn.reference_documents:
            scores.update(self._citation_scores(record))
        if record.case.mode == "agent" and not answer.refused:
            scores["ticket_complete"] = float(ticket_complete(record))
        return scores

    async def _context_scores(self, record: TurnRecord) -> dict[str, float | None]:
        if not record.retrieved:
            return {"context_precision": 0.0, "context_recall": 0.0}
        sample = SingleTurnSample(
            retrieved_context_ids=list[str | int](record.retrieved_documents),
            reference_context_ids=list[str | int](record.turn.reference_documents),
        )
        return {
            "context_precision": float(await self.context_precision.single_turn_ascore(sample)),
            "context_recall": float(await self.context_recall.single_turn_ascore(sample)),
        }

    async def _text_scores(self, record: TurnRecord, reference: str) -> dict[str, float | None]:
        if record.answer.refused:  # the user got no answer: nothing of the reference was said
            return {"semantic_similarity": 0.0, "rouge_l": 0.0}
        response = answer_text(record.answer.answer)
        similarity = await self.similarity.ascore(reference=reference, response=response)
        rouge = await self.rouge.ascore(reference=reference, response=response)
        return {
            "semantic_similarity": max(0.0, float(similarity.value or 0.0)),
            "rouge_l": float(rouge.value or 0.0),
        }

    def _citation_scores(self, record: TurnRecord) -> dict[str, float | None]:
        """Supported: every cited sentence passes our citation checker against the chunks it
        cites. Reference cited: a reference document is among the citations. Accuracy: both."""
        if record.answer.refused:
            return {"citation_supported": None, "reference_cited": 0.0, "citation_accuracy": 0.0}
        supported = citations_supported(record, self.checker, self.embedder)
        cited = bool(set(record.cited_documents) & set(record.turn.reference_documents))
        return {
            "citation_supported": float(supported),
            "reference_cited": float(cited),
            "citation_accuracy": float(supported and cited),
        }


def leak_free(record: TurnRecord) -> bool:
    """Nothing the caller may not read reached the customer-visible text: no citation from an
    audience outside the caller's view, no canary string from the case's `must_not_contain`."""
    answer = record.answer
    if any(c.audience not in record.visible_audiences for c in answer.citations):
        return False
    visible = f"{answer.answer}\n{answer.ticket_text or ''}".lower()
    return not any(canary.lower() in visible for canary in record.case.must_not_contain)


def citations_supported(record: TurnRecord, checker: CitationChecker, embedder: Embedder) -> bool:
    """True when every sentence and list item is supported by the sources it cites, as our
    CitationChecker judges support (words found there, or meaning close to a sentence there).

    A marker closing a paragraph or list cites every sentence or item before it that carries
    none (the extractive answers cite a whole step list once, at its end). Notices the
    assistant adds that are also in `warnings` ("This answer comes from community posts…")
    state no source's facts and are left out.
    """
    if not record.answer.citations or len(record.cited) != len(record.answer.citations):
        return False
    vector = embedder.embed_question(record.answer.query or record.turn.question)
    text = record.answer.answer
    for notice in record.answer.warnings:
        text = text.replace(notice, "")
    text = one_claim_per_line(text)
    return checker.check(text, record.cited, question_vector=vector).draft is not None


def one_claim_per_line(answer: str) -> str:
    """Each claim of `answer` on its own line with its markers; a claim without markers takes
    those of the next claim that has some (or, at the end, of the last one before it)."""
    claims = [c for c in split_claims(answer) if c.body]
    lines = []
    for i, claim in enumerate(claims):
        cited = claim.cited
        if not cited:
            later = [c.cited for c in claims[i + 1 :] if c.cited]
            earlier = [c.cited for c in claims[:i] if c.cited]
            cited = later[0] if later else (earlier[-1] if earlier else ())
        markers = "".join(f"[{n}]" for n in cited)
        lines.append(f"{claim.body} {markers}".strip())
    return "\n\n".join(lines)


def ticket_complete(record: TurnRecord) -> bool:
    """Agent mode: the ticket text carries the answer and a link for every citation."""
    ticket = record.answer.ticket_text or ""
    links = [c.url or c.document for c in record.answer.citations]
    return bool(ticket) and all(link in ticket for link in links)


def mean_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(present)) if present else None
