"""ExtractiveSynthesizer: answers with the retrieved sentences and step lists, each cited."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.embedders import Embedder
from assistant.synthesizers import Draft
from assistant.text_units import TextUnit, split_units
from assistant.types import ScoredChunk


@dataclass(frozen=True)
class _Candidate:
    unit: TextUnit
    chunk_rank: int
    score: float
    vector: np.ndarray


class ExtractiveSynthesizer:
    """Selects the units most similar to the question, without redundancy, in reading order.

    A step list that answers the question is kept whole and wins over loose sentences,
    because how-to answers are procedures.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_chunks: int = 4,
        max_sentences: int = 4,
        redundancy: float = 0.85,
        chunk_margin: float = 0.15,
    ) -> None:
        self.embedder = embedder
        self.max_chunks = max_chunks
        self.max_sentences = max_sentences
        self.redundancy = redundancy
        self.chunk_margin = chunk_margin

    def synthesize(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Draft:
        candidates = self._candidates(chunks, question_vector)
        if not candidates:
            return Draft(text="", sources=[], support=0.0)
        chosen = self._select(candidates)
        chosen.sort(key=lambda c: (c.chunk_rank, c.unit.position))
        return self._render(chosen, chunks)

    def _candidates(
        self, chunks: Sequence[ScoredChunk], question_vector: np.ndarray
    ) -> list[_Candidate]:
        if not chunks:
            return []
        best = max(c.similarity for c in chunks)
        usable = [
            (rank, c)
            for rank, c in enumerate(chunks[: self.max_chunks])
            if c.similarity >= best - self.chunk_margin
        ]
        units = [(rank, u) for rank, c in usable for u in split_units(c.text)]
        if not units:
            return []
        vectors = self.embedder.embed([u.text for _, u in units])
        scores = vectors @ question_vector
        return [
            # Earlier-ranked chunks get a small prior: retrieval already judged them.
            _Candidate(unit, rank, float(score) - 0.02 * rank, vector)
            for (rank, unit), score, vector in zip(units, scores, vectors, strict=True)
        ]

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        best = ranked[0]
        steps = next((c for c in ranked if c.unit.kind == "steps"), None)
        if steps is not None and steps.score >= best.score - 0.1:
            # A procedure answers a how-to: give its lead-in sentence and the whole list.
            lead = [
                c
                for c in candidates
                if c.chunk_rank == steps.chunk_rank
                and c.unit.kind == "sentence"
                and c.unit.position < steps.unit.position
            ]
            return [*lead[-1:], steps]
        chosen: list[_Candidate] = []
        for candidate in ranked:
            if len(chosen) >= self.max_sentences or candidate.score < best.score - 0.2:
                break
            if all(float(candidate.vector @ c.vector) < self.redundancy for c in chosen):
                chosen.append(candidate)
        return chosen

    def _render(self, chosen: list[_Candidate], chunks: Sequence[ScoredChunk]) -> Draft:
        sources: list[ScoredChunk] = []
        number_of: dict[int, int] = {}
        parts = []
        for candidate in chosen:
            if candidate.chunk_rank not in number_of:
                sources.append(chunks[candidate.chunk_rank])
                number_of[candidate.chunk_rank] = len(sources)
            marker = f"[{number_of[candidate.chunk_rank]}]"
            if candidate.unit.kind == "sentence":
                parts.append(f"{candidate.unit.text} {marker}")
            else:
                lines = candidate.unit.text.splitlines()
                parts.append("\n".join([*lines[:-1], f"{lines[-1]} {marker}"]))
        text, previous_is_block = "", False
        for candidate, part in zip(chosen, parts, strict=True):
            is_block = candidate.unit.kind != "sentence"
            # Sentences run on; lists, steps and tables stand on their own lines.
            separator = "\n" if is_block or previous_is_block else " "
            text = f"{text}{separator}{part}" if text else part
            previous_is_block = is_block
        support = float(np.mean([c.score for c in chosen]))
        return Draft(text=text, sources=sources, support=support)
