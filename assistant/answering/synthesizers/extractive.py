"""ExtractiveSynthesizer: answers with the piece of a retrieved section that does what was asked.

The answer is not the sentence most like the question (that one usually restates it) but the
place in the section where the question is answered, read with the context needed to act on it:
the menu path that leads there, the lead-in of the list an item belongs to, a table row with its
header, an option with its description, and the sentences after a match that say something the
question does not already say. How-to questions get the procedure, capped.
"""

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from assistant.answering.synthesizers.composition import (
    LIST_MARKER,
    Candidate,
    Composer,
    Section,
    asks,
    render,
    restates,
    signpost,
)
from assistant.embedders import Embedder
from assistant.text_units import (
    TextUnit,
    answer_units,
    content_terms,
    list_items,
    table_rows,
)
from assistant.types import Draft, ScoredChunk

# At the start of the question or of any sentence in it ("oops, wrong list. can I undo it?").
_HOW_TO = re.compile(
    r"(?:^|[.!?,;]\s)\s*(how (do|can|should|would|to)\b|how do i|steps? to|what are the steps|"
    r"(can|could) (i|you|we)\b|where (do|can) i|i (want|need|would like) to)",
    re.IGNORECASE,
)
_AFTER_QUESTION = re.compile(r"(?<=\?)\s+")
# Questions whose answer is an amount, a limit or a duration, and the numbers that answer them.
_AMOUNT_QUESTION = re.compile(
    r"\bhow (many|much|long|often|soon|far)\b|\b(limit|maximum|minimum|max|min)\b",
    re.IGNORECASE,
)
# The words that ask for an amount ("how long", "the max number of") are the question's form,
# not its subject: a unit is not the answer for holding "long" or "number".
_HOW_MUCH = re.compile(
    r"\bhow (many|much|long|often|soon|far)\b|\b(?:(?:max|maximum|min|minimum|total) )?"
    r"(?:number|amount|count) of\b",
    re.IGNORECASE,
)
# What kind of amount answers: "how often" a frequency ("every 4 hours", "daily"), "how long"
# a duration ("30 minutes"), a question about a limit ("the max number of rows", "how many at
# most") a number stated as one ("up to 5,000 rows", not "the first 10 rows"); any other amount
# question a number.
_KINDS_OF_AMOUNT = (
    (
        re.compile(r"\bhow often\b", re.I),
        re.compile(
            r"\b(every|daily|weekly|monthly|hourly|yearly|annually|once|twice|"
            r"times an?|per (second|minute|hour|day|week|month|year))\b",
            re.I,
        ),
    ),
    (
        re.compile(r"\bhow (long|soon|far back)\b", re.I),
        re.compile(
            r"\b(\d[\d,.]*|an?|one|few|several)\s+(business |working )?"
            r"(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b",
            re.I,
        ),
    ),
    (
        re.compile(r"\b(max|maximum|min|minimum|cap|most|least)\b", re.I),
        re.compile(
            r"\b(up to|at most|at least|maximum|minimum|max|min|limit(ed)?|no more than|"
            r"as many as)\b.*\d|\d.*\b(maximum|minimum|limit|at most|at least)\b",
            re.I,
        ),
    ),
)
_NUMBER = re.compile(r"\d")
_ANSWER_TYPE_BONUS = 0.1
_BLOCKS = ("list", "steps", "table")
# How far below the best unit one that states the asked-for amount may score and still answer.
AMOUNT_REACH = 0.15
# How far below the best unit a step list may score and still answer a how-to question.
PROCEDURE_REACH = 0.15
ORDER_PRIOR = 0.1  # score taken off per document retrieval ranked below the first
# Score taken off a sentence that only restates the question or its heading: among sentences
# that match alike ("Pair the TV with the remote." before the steps that pair it) it is not
# the answer, but it still wins over a weaker match.
RESTATES_PENALTY = 0.02

_LETTER = re.compile(r"[^\W\d_]")

# Words an answer to a fact question stays within; a procedure is capped by steps instead.
FACT_WORDS = 60
MAX_STEPS = 8
# A fact answer goes on past its match until it holds this many content words the question and
# the section's heading do not ("An export can hold up to 10,000 rows" restates its question)
# and this many words in all: a match is seldom the whole answer.
NEW_WORDS = 6
MIN_WORDS = 40
# A label that follows this many different labels is page furniture (`_furniture`).
_FURNITURE_PARENTS = 3


def is_how_to(question: str) -> bool:
    """Questions that ask for a procedure rather than a fact. The last question in the text
    decides: a follow-up's standalone query puts the earlier turns first, and "How do I connect
    my bank? how far back will it pull transactions?" asks for a fact."""
    asked = [part for part in _AFTER_QUESTION.split(question.strip()) if part.endswith("?")]
    return bool(_HOW_TO.search(asked[-1] if asked else question))


def _pieces(block: TextUnit) -> list[TextUnit]:
    """A unit and, for a list or table, its items or rows. A list of questions ("1. Which
    plans include…? *(Growth and Scale.)*") checks understanding: an item may answer, the
    whole list is no one answer (nor a procedure)."""
    items = list_items(block)
    quiz = bool(items) and sum("?" in item.text for item in items) * 2 >= len(items)
    return [*([] if quiz else [block]), *items, *table_rows(block)]


class ExtractiveSynthesizer:
    """Finds where the best retrieved section answers the question and quotes that piece.

    Units (sentences, labels, list items, table rows, whole step lists) are scored by the
    question's words they hold, rarer ones weighing more, plus their section's closeness in
    meaning; the best one anchors the answer, and the section's structure around it decides
    what comes with it. No model call: an answer takes a millisecond or two.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_chunks: int = 5,
        chunk_margin: float = 0.15,
        similarity_weight: float = 0.5,
        fact_words: int = FACT_WORDS,
        max_steps: int = MAX_STEPS,
        new_words: int = NEW_WORDS,
        min_words: int = MIN_WORDS,
    ) -> None:
        self.new_words = new_words
        self.min_words = min_words
        self.embedder = embedder  # the seam takes one; extractive answers need no model call
        self.max_chunks = max_chunks
        self.chunk_margin = chunk_margin
        self.similarity_weight = similarity_weight
        self.fact_words = fact_words
        self.max_steps = max_steps

    def synthesize(
        self, question: str, chunks: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> Draft:
        sections = self._sections(chunks)
        question_terms = content_terms(_HOW_MUCH.sub(" ", question))
        candidates = self._candidates(question, question_terms, sections)
        if not candidates:
            return Draft(text="", sources=[], support=0.0)
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)  # ties: reading order
        best = ranked[0]
        how_to = is_how_to(question)
        procedure = self._procedure(ranked, best) if how_to else None
        if best.unit.kind in _BLOCKS:
            best = _finest(best, ranked)
        # "How long…?" is answered by the unit that states the duration, when one comes close.
        amount = next((c for c in ranked if c.fits and c.terms), None)
        if amount is not None and not best.fits and amount.score >= best.score - AMOUNT_REACH:
            best = amount
        anchor = procedure or best
        parts = Composer(
            anchor,
            question_terms,
            how_to=how_to,
            fact_words=self.fact_words,
            max_steps=self.max_steps,
            new_words=self.new_words,
            min_words=self.min_words,
        ).parts()
        # The order prior picks among sections; how well the anchor matches is its support.
        support = anchor.score + ORDER_PRIOR * anchor.section.order
        return render(anchor.section, parts, support=support)

    def _sections(self, chunks: Sequence[ScoredChunk]) -> list[Section]:
        # A forum question helps retrieval find its thread, but it is not an answer.
        quotable = [
            (rank, c) for rank, c in enumerate(chunks) if c.metadata.get("post_role") != "question"
        ][: self.max_chunks]
        if not quotable:
            return []
        # Fusion order: words and meaning together rank sections far better than meaning alone
        # (benchmarks/retrieval.py), so the first section is always usable and the closeness
        # margin only drops later ones.
        best = max(c.similarity for _, c in quotable)
        usable = [
            (rank, chunk, answer_units(chunk.text))
            for order, (rank, chunk) in enumerate(quotable)
            if order == 0 or chunk.similarity >= best - self.chunk_margin
        ]
        furniture = _furniture([units for _, _, units in usable])
        shared = Counter(
            text
            for _, _, units in usable
            for text in {u.text for u in units if u.kind == "sentence"}
        )
        boilerplate = frozenset(text for text, count in shared.items() if count > 1)
        sections: list[Section] = []
        documents: dict[str, int] = {}
        for rank, chunk, units in usable:
            kept = [
                u
                for u in units
                if _LETTER.search(u.text)  # not a page number
                and not (u.kind == "label" and u.text in furniture)
            ]
            heading = content_terms(str(chunk.metadata.get("title_path", chunk.title)))
            # Retrieval ranks documents well; which section of one answers is the units' call.
            order = documents.setdefault(chunk.document, len(documents))
            sections.append(Section(rank, order, chunk, kept, frozenset(heading), boilerplate))
        return sections

    def _candidates(
        self, question: str, question_terms: set[str], sections: list[Section]
    ) -> list[Candidate]:
        """Every unit, list item and table row, scored between 0 and 1: the question's words it
        holds (IDF over these candidates; its heading's words at half weight), its section's
        closeness in meaning, a bonus when it states the amount an amount question asks for,
        and a prior for the documents retrieval ranked first."""
        units = [
            (section, unit)
            for section in sections
            for block in section.units
            for unit in _pieces(block)
            if (unit.kind == "asked" or not asks(unit))
            and not signpost(unit)
            and _LETTER.search(unit.text)
        ]
        if not units:
            return []
        unit_terms = [frozenset(content_terms(u.text) & question_terms) for _, u in units]
        count = len(units)
        frequency = Counter(t for terms in unit_terms for t in terms)
        weight = {t: math.log(1 + count / (1 + frequency[t])) for t in question_terms}
        total = sum(weight.values()) or 1.0
        wants_amount = bool(_AMOUNT_QUESTION.search(question))
        answers_amount = next(
            (answer for asks, answer in _KINDS_OF_AMOUNT if asks.search(question)), _NUMBER
        )
        candidates = []
        asked: dict[tuple[int, int, str], float] = {}  # a reply to a quoted question: its score
        for (section, unit), terms in zip(units, unit_terms, strict=True):
            from_heading = (section.heading_terms & question_terms) - terms
            words = sum(weight[t] for t in terms) + 0.5 * sum(weight[t] for t in from_heading)
            closeness = self.similarity_weight * section.chunk.similarity
            score = (words / total + closeness) / (1 + self.similarity_weight)
            # "How many…?" is answered by a unit that states the kind of amount it asks for.
            stated = LIST_MARKER.sub("", unit.text)
            fits = wants_amount and bool(answers_amount.search(stated))
            score = min(1.0, score + _ANSWER_TYPE_BONUS * fits) - ORDER_PRIOR * section.order
            if restates(unit, question_terms | section.heading_terms):
                score -= RESTATES_PENALTY
            if unit.kind == "asked":
                # A webinar reads out an attendee's question, then answers it: the turn after
                # a question like the user's is scored at least as that question.
                reply = _after_asked(section, unit)
                if reply is not None:
                    place = (section.rank, reply.position, reply.kind)
                    asked[place] = max(asked.get(place, 0.0), score)
                continue
            candidate = Candidate(section, unit, score, terms, fits)
            if not _dangling(candidate):
                candidates.append(candidate)
        return [
            replace(c, score=max(c.score, asked[_place(c)])) if _place(c) in asked else c
            for c in candidates
        ]

    def _procedure(self, ranked: list[Candidate], best: Candidate) -> Candidate | None:
        """The step list that answers a how-to question: the best-scoring list whose own score,
        or that of one of its steps, comes within reach of the best unit."""
        best_of_list: dict[tuple[int, int], float] = {}
        lists: dict[tuple[int, int], Candidate] = {}
        for c in ranked:
            key = (c.section.rank, c.unit.position)
            if c.unit.kind in ("item", "steps"):
                best_of_list[key] = max(best_of_list.get(key, 0.0), c.score)
            if c.unit.kind == "steps":
                lists.setdefault(key, c)
        if not lists:
            return None
        key = max(lists, key=lambda k: best_of_list[k])
        steps = lists[key]
        # Within the best unit's section a procedure may score a little lower and still be the
        # answer; elsewhere it has to match about as well.
        reach = (
            PROCEDURE_REACH if steps.section.order == best.section.order else PROCEDURE_REACH / 3
        )
        if best_of_list[key] < best.score - reach:
            return None
        return Candidate(steps.section, steps.unit, best_of_list[key], steps.terms)


def _furniture(sections: list[list[TextUnit]]) -> set[str]:
    """Labels that only ever follow other labels, and many different ones: a link or button
    the page puts after every option or menu path ("Try Now", "Learn more"). A menu name
    follows the same parent each time ("General" after "Settings"), and a path's first name
    also follows sentences; both are kept, however often they repeat."""
    after: dict[str, set[str]] = defaultdict(set)
    opens: set[str] = set()
    for units in sections:
        for before, unit in itertools.pairwise(units):
            if unit.kind == "label" and before.kind == "label":
                after[unit.text].add(before.text)
            elif unit.kind == "label":
                opens.add(unit.text)
    return {
        label
        for label, parents in after.items()
        if len(parents) >= _FURNITURE_PARENTS and label not in opens
    }


def _place(candidate: Candidate) -> tuple[int, int, str]:
    return candidate.section.rank, candidate.unit.position, candidate.unit.kind


def _after_asked(section: Section, unit: TextUnit) -> TextUnit | None:
    """The first unit after a quoted question and the rest of its turn."""
    later = [u for u in section.units if u.position > unit.position and u.kind != "asked"]
    return later[0] if later else None


def _finest(best: Candidate, ranked: list[Candidate]) -> Candidate:
    """A fact is one line of a list or one row of a table: the best of the block's own items
    or rows (one stating the asked-for amount first) stands for a block that won by holding
    the question's words somewhere, when it scores close to the block."""
    parts = [
        c
        for c in ranked
        if c.section is best.section
        and c.unit.position == best.unit.position
        and c.unit.kind in ("item", "row")
        and c.terms
    ]
    parts = [c for c in parts if c.score >= best.score - AMOUNT_REACH]
    fitting = [c for c in parts if c.fits]
    return (fitting or parts or [best])[0]


def _dangling(candidate: Candidate) -> bool:
    """A lead-in or step label ("3. Set the Schedule:") whose section ends before what it
    introduces: nothing to quote."""
    units = candidate.section.units
    return (
        candidate.unit.text.rstrip("*_ ").endswith(":")
        and bool(units)
        and units[-1].position == candidate.unit.position
    )
