"""The extractive composer as it was before issue 22, kept as a baseline for benchmarks/answers.py:
it quotes the units most similar to the question, which often restate it."""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.embedders import Embedder
from assistant.text_units import TextUnit, content_terms, list_items, split_units
from assistant.types import Draft, ScoredChunk

_HOW_TO = re.compile(
    r"^\s*(how (do|can|should|would|to)\b|how do i|steps? to|what are the steps|"
    r"(can|could) (i|you|we)\b|where (do|can) i|i (want|need|would like) to)",
    re.IGNORECASE,
)


# Questions whose answer is an amount, a limit or a duration, and the numbers that answer them.
_AMOUNT_QUESTION = re.compile(
    r"\bhow (many|much|long|often|soon|far)\b|\b(limit|maximum|minimum|max|min)\b",
    re.IGNORECASE,
)
_HOW_MUCH = re.compile(r"\bhow (many|much|long|often|soon|far)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_ANSWER_TYPE_BONUS = 0.1
ORDER_PRIOR = 0.02  # score taken off per section below the best usable one


def _asks(unit: TextUnit) -> bool:
    """A sentence that asks something (a webinar attendee's question, a quoted question) is
    never an answer, however many words it shares with the question."""
    return unit.kind == "sentence" and ("?" in unit.text.rstrip(")\"' ")[-1:] or '?"' in unit.text)


def is_how_to(question: str) -> bool:
    """Questions that ask for a procedure rather than a fact."""
    return bool(_HOW_TO.search(question))


# Markdown bold/italic markers: answers are pasted into tickets and chats as plain text.
_EMPHASIS = re.compile(r"\*\*|__")
_LIST_MARKER = re.compile(r"^\s*(\d+[.)]|[-*•])\s+")


# (rank among the retrieved chunks, order among the usable ones, the chunk, a unit of it)
_Unit = tuple[int, int, ScoredChunk, TextUnit]


@dataclass(frozen=True)
class _Candidate:
    unit: TextUnit
    chunk_rank: int
    score: float
    vector: np.ndarray | None  # only when units are embedded
    terms: set[str]  # the question's content words this unit contains
    question_terms: int


class PreviousExtractiveSynthesizer:
    """Selects the units most similar to the question, without redundancy, in reading order.

    A step list that answers the question is kept whole and wins over loose sentences,
    because how-to answers are procedures.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_chunks: int = 5,
        max_sentences: int = 4,
        redundancy: float = 0.85,
        chunk_margin: float = 0.15,
        term_weight: float = 0.3,
        margin: float = 0.2,
        max_units: int = 24,
        semantic_units: bool = False,
        similarity_weight: float = 0.5,
    ) -> None:
        self.embedder = embedder
        self.semantic_units = semantic_units
        self.similarity_weight = similarity_weight
        self.max_chunks = max_chunks
        self.max_sentences = max_sentences
        self.redundancy = redundancy
        self.chunk_margin = chunk_margin
        self.term_weight = term_weight
        self.margin = margin
        self.max_units = max_units

    def synthesize(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Draft:
        candidates = self._candidates(question, chunks, question_vector)
        if not candidates:
            return Draft(text="", sources=[], support=0.0)
        chosen = self._select(candidates, how_to=is_how_to(question))
        # Sources in the order they were picked (best first); within a source, reading order.
        pick_order: dict[int, int] = {}
        for c in chosen:
            pick_order.setdefault(c.chunk_rank, len(pick_order))
        chosen.sort(key=lambda c: (pick_order[c.chunk_rank], c.unit.position, c.unit.item))
        return self._render(chosen, chunks)

    def _candidates(
        self, question: str, chunks: Sequence[ScoredChunk], question_vector: np.ndarray
    ) -> list[_Candidate]:
        # A forum question helps retrieval find its thread, but it is not an answer.
        quotable = [
            (rank, c) for rank, c in enumerate(chunks) if c.metadata.get("post_role") != "question"
        ]
        if not quotable:
            return []
        if self.semantic_units:
            # The closest in meaning first (the old behaviour, kept for the benchmark).
            quotable.sort(key=lambda item: item[1].similarity, reverse=True)
        # Otherwise fusion order: words and meaning together rank sections far better than
        # meaning alone (benchmarks/retrieval.py). So the first section is always usable, and
        # the closeness margin only drops later ones (Samsung manual: gold section cited
        # 0.684 -> 0.763, benchmarks/answers.py; Ledgerly dev calibration unchanged).
        best = max(c.similarity for _, c in quotable[: self.max_chunks])
        usable = [
            (rank, c)
            for order, (rank, c) in enumerate(quotable[: self.max_chunks])
            if order == 0 or c.similarity >= best - self.chunk_margin
        ]
        units = [
            (rank, order, c, unit)
            for order, (rank, c) in enumerate(usable)
            for block in split_units(c.text)
            for unit in (block, *list_items(block))
            if not _asks(unit)
        ]
        if not units:
            return []
        # "How long…" asks for a duration: "long" is the question's form, not its subject.
        question_terms = content_terms(_HOW_MUCH.sub(" ", question))
        vectors: list[np.ndarray | None]
        if self.semantic_units:
            units = self._closest_in_words(units, question_terms)
            unit_terms = [content_terms(u.text) & question_terms for _, _, _, u in units]
            scores, vectors = self._semantic_scores(units, question_vector)
        else:
            unit_terms = [content_terms(u.text) & question_terms for _, _, _, u in units]
            scores = self._lexical_scores(question, units, unit_terms, question_terms)
            vectors = [None] * len(units)
        return [
            # A small prior for the sections closest to the question.
            _Candidate(unit, rank, score - ORDER_PRIOR * order, vector, terms, len(question_terms))
            for (rank, order, _, unit), score, vector, terms in zip(
                units, scores, vectors, unit_terms, strict=True
            )
        ]

    def _lexical_scores(
        self,
        question: str,
        units: list[_Unit],
        unit_terms: list[set[str]],
        question_terms: set[str],
    ) -> list[float]:
        """The question's words a unit contains, rare ones weighing more (IDF over these
        candidates), its heading's words at half weight, plus its section's closeness in
        meaning, and a bonus when it states the amount an amount question asks for; between
        0 and 1. No model call: an answer takes milliseconds."""
        count = len(units)
        frequency = Counter(t for terms in unit_terms for t in terms)
        weight = {t: math.log(1 + count / (1 + frequency[t])) for t in question_terms}
        total = sum(weight.values()) or 1.0
        headings = {
            id(c): content_terms(str(c.metadata.get("title_path", c.title))) & question_terms
            for _, _, c, _ in units
        }
        wants_amount = bool(_AMOUNT_QUESTION.search(question))
        scores = []
        for (_, _, chunk, unit), terms in zip(units, unit_terms, strict=True):
            from_heading = headings[id(chunk)] - terms
            words = sum(weight[t] for t in terms) + 0.5 * sum(weight[t] for t in from_heading)
            closeness = self.similarity_weight * chunk.similarity
            # "How many…?" is answered by a unit that states a number.
            fits = wants_amount and bool(_NUMBER.search(_LIST_MARKER.sub("", unit.text)))
            score = (words / total + closeness) / (1 + self.similarity_weight)
            scores.append(min(1.0, score + _ANSWER_TYPE_BONUS * fits))
        return scores

    def _closest_in_words(self, units: list[_Unit], question_terms: set[str]) -> list[_Unit]:
        # Embedding is the expensive step: embed only the units that share the most words
        # with the question, the closer sections first.
        return sorted(
            units,
            key=lambda u: (len(content_terms(u[3].text) & question_terms), u[2].similarity),
            reverse=True,
        )[: self.max_units]

    def _semantic_scores(
        self, units: list[_Unit], question_vector: np.ndarray
    ) -> tuple[list[float], list[np.ndarray | None]]:
        """Each unit embedded with its heading path, as the chunk was: closer in meaning, but a
        model call per answer over up to `max_units` units (hundreds of ms on a CPU)."""
        vectors = self.embedder.embed(
            [f"{c.metadata.get('title_path', c.title)}: {u.text}" for _, _, c, u in units]
        )
        return [float(s) for s in vectors @ question_vector], list(vectors)

    def _gain(self, candidate: _Candidate, covered: set[str]) -> float:
        """Meaning, plus the question's words this unit adds (names, codes, numbers the
        embedder blurs): a unit that covers what others miss is worth more."""
        new_terms = (
            len(candidate.terms - covered) / candidate.question_terms
            if candidate.question_terms
            else 0.0
        )
        return candidate.score + self.term_weight * new_terms

    def _select(self, candidates: list[_Candidate], *, how_to: bool) -> list[_Candidate]:
        ranked = sorted(candidates, key=lambda c: self._gain(c, set()), reverse=True)
        best = ranked[0]
        best_gain = self._gain(best, set())

        # How-to questions want a procedure: a step list close to the best unit wins, and a
        # list holding the best-matching step counts as well as that step.
        def procedure_gain(c: _Candidate) -> float:
            own = self._gain(c, set())
            if not how_to:
                return own
            items = [
                self._gain(i, set())
                for i in candidates
                if i.unit.kind == "item" and _overlaps(i, c)
            ]
            return max([own, *items])

        steps = max((c for c in ranked if c.unit.kind == "steps"), key=procedure_gain, default=None)
        slack = 0.15 if how_to else 0.05
        if steps is not None and procedure_gain(steps) >= best_gain - slack:
            # A procedure answers a how-to: give its lead-in sentence and the whole list.
            lead = [
                c
                for c in candidates
                if c.chunk_rank == steps.chunk_rank
                and c.unit.kind == "sentence"
                and c.unit.position == steps.unit.position - 1
                and c.terms  # a sentence that shares no word with the question is no lead-in
            ]
            return [*lead, steps]
        chosen: list[_Candidate] = []
        covered: set[str] = set()
        remaining = list(ranked)
        # A fact is said in a sentence or two; more only adds noise.
        limit = self.max_sentences if how_to else min(self.max_sentences, 3)
        margin = self.margin if how_to else self.margin * 0.75
        while remaining and len(chosen) < limit:
            candidate = max(remaining, key=lambda c: self._gain(c, covered))
            remaining.remove(candidate)
            if self._gain(candidate, covered) < best_gain - margin:
                break
            if chosen and not candidate.terms:
                continue  # shares no word with the question: likely an aside
            if all(not _redundant(candidate, c, self.redundancy) for c in chosen):
                chosen.append(candidate)
                covered |= candidate.terms
        return self._continue_sentences(chosen, candidates, covered, limit=limit)

    def _continue_sentences(
        self,
        chosen: list[_Candidate],
        candidates: list[_Candidate],
        covered: set[str],
        *,
        limit: int,
    ) -> list[_Candidate]:
        """Adds the sentence right after a chosen one when it brings question words not yet
        covered: answers often finish in the next sentence ("… Use the code X.")."""
        by_place = {(c.chunk_rank, c.unit.position): c for c in candidates}
        result = list(chosen)
        for candidate in chosen:
            following = by_place.get((candidate.chunk_rank, candidate.unit.position + 1))
            if (
                len(result) < limit
                and following is not None
                and following not in result
                and following.unit.kind == "sentence"
                and following.terms - covered
            ):
                result.append(following)
                covered |= following.terms
        return result

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
            elif candidate.unit.kind == "item":
                # One list item on its own reads as a sentence: drop its "4." or "-".
                parts.append(f"{_LIST_MARKER.sub('', candidate.unit.text.strip())} {marker}")
            else:
                lines = candidate.unit.text.splitlines()
                parts.append("\n".join([*lines[:-1], f"{lines[-1]} {marker}"]))
        text, previous_is_block = "", False
        for candidate, part in zip(chosen, parts, strict=True):
            is_block = candidate.unit.kind not in ("sentence", "item")
            # Sentences run on; lists, steps and tables stand on their own lines.
            separator = "\n" if is_block or previous_is_block else " "
            text = f"{text}{separator}{part}" if text else part
            previous_is_block = is_block
        support = float(np.mean([c.score for c in chosen]))
        return Draft(text=_EMPHASIS.sub("", text), sources=sources, support=support)


def _redundant(a: _Candidate, b: _Candidate, threshold: float) -> bool:
    """The same list twice, or two units that say the same: by meaning when embedded, else
    by their words."""
    if _overlaps(a, b):
        return True
    if a.vector is not None and b.vector is not None:
        return float(a.vector @ b.vector) >= threshold
    words_a, words_b = content_terms(a.unit.text), content_terms(b.unit.text)
    union = words_a | words_b
    return bool(union) and len(words_a & words_b) / len(union) >= threshold


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    """A list and one of its own items say the same thing twice."""
    return a.chunk_rank == b.chunk_rank and a.unit.position == b.unit.position
