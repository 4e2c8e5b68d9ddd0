"""ExtractiveSynthesizer: answers with the piece of a retrieved section that does what was asked.

The answer is not the sentence most like the question (that one usually restates it) but the
place in the section where the question is answered, read with the context needed to act on it:
the menu path that leads there, the lead-in of the list an item belongs to, a table row with its
header, an option with its description, and the sentences after a match that say something the
question does not already say. How-to questions get the procedure, capped.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.citation_check import FULL_STEPS
from assistant.embedders import Embedder
from assistant.synthesizers import Draft
from assistant.text_units import (
    TextUnit,
    answer_units,
    content_terms,
    list_items,
    table_rows,
)
from assistant.types import ScoredChunk

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

# Markdown bold/italic markers: answers are pasted into tickets and chats as plain text.
_EMPHASIS = re.compile(r"\*\*|__")
_LIST_MARKER = re.compile(r"^\s*(\d+[.)]|[-*•])\s+")
_LETTER = re.compile(r"[^\W\d_]")
# "Settings > Data > Import history": where in the product something is done.
_MENU_PATH = re.compile(r"\w[\w*]* > [\w*]")

# Words an answer to a fact question stays within; a procedure is capped by steps instead.
FACT_WORDS = 60
MAX_STEPS = 8
# A fact answer goes on past its match until it holds this many content words the question and
# the section's heading do not ("An export can hold up to 10,000 rows" restates its question)
# and this many words in all: a match is seldom the whole answer.
NEW_WORDS = 6
MIN_WORDS = 40
# A label repeated this often across the retrieved sections is page furniture ("Try Now").
_FURNITURE_REPEATS = 3


def is_how_to(question: str) -> bool:
    """Questions that ask for a procedure rather than a fact. The last question in the text
    decides: a follow-up's standalone query puts the earlier turns first, and "How do I connect
    my bank? how far back will it pull transactions?" asks for a fact."""
    asked = [part for part in _AFTER_QUESTION.split(question.strip()) if part.endswith("?")]
    return bool(_HOW_TO.search(asked[-1] if asked else question))


# "This article explains how…": a sentence about the document, not about the product.
_SIGNPOST = re.compile(
    r"^(this|the following|in this) (article|guide|page|section|lesson|course|module|video|"
    r"webinar|tutorial|chapter|document|post)\b",
    re.IGNORECASE,
)


def _signpost(unit: TextUnit) -> bool:
    return unit.kind == "sentence" and bool(_SIGNPOST.match(unit.text))


def _restates(unit: TextUnit, known: set[str] | frozenset[str]) -> bool:
    """A sentence whose every content word is in `known` (the question's and the heading's):
    it says nothing the reader does not already know."""
    return unit.kind == "sentence" and content_terms(unit.text) <= known


def _asks(unit: TextUnit) -> bool:
    """A sentence that asks something (a webinar attendee's question, a quoted question) is
    never an answer, however many words it shares with the question."""
    if unit.kind == "asked":
        return True
    return unit.kind == "sentence" and ("?" in unit.text.rstrip(")\"' ")[-1:] or '?"' in unit.text)


def _pieces(block: TextUnit) -> list[TextUnit]:
    """A unit and, for a list or table, its items or rows. A list of questions ("1. Which
    plans include…? *(Growth and Scale.)*") checks understanding: an item may answer, the
    whole list is no one answer (nor a procedure)."""
    items = list_items(block)
    quiz = bool(items) and sum("?" in item.text for item in items) * 2 >= len(items)
    return [*([] if quiz else [block]), *items, *table_rows(block)]


@dataclass(frozen=True)
class _Section:
    """One retrieved chunk read as an ordered list of units."""

    rank: int  # among the retrieved chunks: the citation's source
    order: int  # its document's place among the usable sections' documents
    chunk: ScoredChunk
    units: list[TextUnit]
    heading_terms: frozenset[str]
    # Sentences other retrieved sections have too: disclaimers, not what this one is about.
    boilerplate: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Candidate:
    section: _Section
    unit: TextUnit
    score: float
    terms: frozenset[str]  # the question's content words this unit contains
    fits: bool = False  # states a number, and the question asks for an amount


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
        parts = _Composer(self, anchor, question_terms, how_to=how_to).parts()
        # The order prior picks among sections; how well the anchor matches is its support.
        support = anchor.score + ORDER_PRIOR * anchor.section.order
        return _render(anchor.section, parts, support=support)

    def _sections(self, chunks: Sequence[ScoredChunk]) -> list[_Section]:
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
        # A label repeated across the sections is page furniture ("Try Now", "Learn more").
        labels = Counter(u.text for _, _, units in usable for u in units if u.kind == "label")
        shared = Counter(
            text
            for _, _, units in usable
            for text in {u.text for u in units if u.kind == "sentence"}
        )
        boilerplate = frozenset(text for text, count in shared.items() if count > 1)
        sections: list[_Section] = []
        documents: dict[str, int] = {}
        for rank, chunk, units in usable:
            kept = [
                u
                for u in units
                if _LETTER.search(u.text)  # not a page number
                and not (u.kind == "label" and labels[u.text] >= _FURNITURE_REPEATS)
            ]
            heading = content_terms(str(chunk.metadata.get("title_path", chunk.title)))
            # Retrieval ranks documents well; which section of one answers is the units' call.
            order = documents.setdefault(chunk.document, len(documents))
            sections.append(_Section(rank, order, chunk, kept, frozenset(heading), boilerplate))
        return sections

    def _candidates(
        self, question: str, question_terms: set[str], sections: list[_Section]
    ) -> list[_Candidate]:
        """Every unit, list item and table row, scored between 0 and 1: the question's words it
        holds (IDF over these candidates; its heading's words at half weight), its section's
        closeness in meaning, a bonus when it states the amount an amount question asks for,
        and a prior for the documents retrieval ranked first."""
        units = [
            (section, unit)
            for section in sections
            for block in section.units
            for unit in _pieces(block)
            if (unit.kind == "asked" or not _asks(unit))
            and not _signpost(unit)
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
            stated = _LIST_MARKER.sub("", unit.text)
            fits = wants_amount and bool(answers_amount.search(stated))
            score = min(1.0, score + _ANSWER_TYPE_BONUS * fits) - ORDER_PRIOR * section.order
            if _restates(unit, question_terms | section.heading_terms):
                score -= RESTATES_PENALTY
            if unit.kind == "asked":
                # A webinar reads out an attendee's question, then answers it: the turn after
                # a question like the user's is scored at least as that question.
                reply = _after_asked(section, unit)
                if reply is not None:
                    place = (section.rank, reply.position, reply.kind)
                    asked[place] = max(asked.get(place, 0.0), score)
                continue
            candidate = _Candidate(section, unit, score, terms, fits)
            if not _dangling(candidate):
                candidates.append(candidate)
        return [
            replace(c, score=max(c.score, asked[_place(c)])) if _place(c) in asked else c
            for c in candidates
        ]

    def _procedure(self, ranked: list[_Candidate], best: _Candidate) -> _Candidate | None:
        """The step list that answers a how-to question: the best-scoring list whose own score,
        or that of one of its steps, comes within reach of the best unit."""
        best_of_list: dict[tuple[int, int], float] = {}
        lists: dict[tuple[int, int], _Candidate] = {}
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
        return _Candidate(steps.section, steps.unit, best_of_list[key], steps.terms)


def _place(candidate: _Candidate) -> tuple[int, int, str]:
    return candidate.section.rank, candidate.unit.position, candidate.unit.kind


def _after_asked(section: _Section, unit: TextUnit) -> TextUnit | None:
    """The first unit after a quoted question and the rest of its turn."""
    later = [u for u in section.units if u.position > unit.position and u.kind != "asked"]
    return later[0] if later else None


def _finest(best: _Candidate, ranked: list[_Candidate]) -> _Candidate:
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


def _dangling(candidate: _Candidate) -> bool:
    """A lead-in or step label ("3. Set the Schedule:") whose section ends before what it
    introduces: nothing to quote."""
    units = candidate.section.units
    return (
        candidate.unit.text.rstrip("*_ ").endswith(":")
        and bool(units)
        and units[-1].position == candidate.unit.position
    )


class _Composer:
    """The parts of the anchor's section that answer, in reading order."""

    def __init__(
        self,
        options: ExtractiveSynthesizer,
        anchor: _Candidate,
        question_terms: set[str],
        *,
        how_to: bool,
    ) -> None:
        self.how_to = how_to
        self.fact_words = options.fact_words
        self.max_steps = options.max_steps
        self.new_words = options.new_words
        self.min_words = options.min_words
        self.anchor = anchor
        self.units = anchor.section.units
        self.question_terms = question_terms
        self.known = question_terms | anchor.section.heading_terms
        self.index = next(i for i, u in enumerate(self.units) if u.position == anchor.unit.position)

    def parts(self) -> list[str]:
        unit = self.anchor.unit
        block = self.units[self.index]
        opening = self._opening()
        start, end = self._run(self.index)
        if unit.kind == "label" and not self._in_options() and end - start >= 2:
            # The anchor is part of a menu path: the whole path, then what it leads to.
            path = " > ".join(u.text for u in self.units[start:end])
            self.index = end - 1
            description = self._description()
            said = f"{path}: {description}" if description else path
            parts = [*(o for o in opening if o not in description), said]
            return [*parts, *self._more(parts)]
        if unit.kind == "steps":
            body = self._steps(block)
        elif unit.kind == "item":
            body = self._item(block, unit)
        elif unit.kind == "row":
            body = [unit.text]
        elif unit.kind == "label":
            body = [self._label(block)]
        else:
            body = [_plain(block.text) if block.kind == "sentence" else block.text]
        body += self._introduced(block)
        lead = self._lead() or self._instruction(body)
        parts = list(dict.fromkeys([*opening, *self._path(), *lead, *body]))
        if unit.kind != "steps":
            parts += self._more(parts)
        return parts

    def _introduced(self, block: TextUnit) -> list[str]:
        """What a unit ending in ":" introduces, when it was cut into units of its own: the
        bullets under "3. Set the Schedule:"."""
        if not block.text.rstrip("*_ ").endswith(":"):
            return []
        following: list[str] = []
        for unit in self.units[self.index + 1 :]:
            if unit.kind not in ("list", "table") or _words(following) > self.fact_words:
                break
            following.append(unit.text)
        self.index += len(following)
        return following

    def _run(self, index: int) -> tuple[int, int]:
        """The bounds of the run of labels around `index` (empty when it is no label)."""
        if self.units[index].kind != "label":
            return index, index
        start, end = index, index + 1
        while start > 0 and self.units[start - 1].kind == "label":
            start -= 1
        while end < len(self.units) and self.units[end].kind == "label":
            end += 1
        return start, end

    def _opening(self) -> list[str]:
        """An article's or lesson's section opens by saying what it is about ("Edit the
        channels stored on your TV."): its first sentence comes first when the anchor is
        further in, unless it only restates the question and heading or shares none of their
        words. A transcript window or a forum post opens wherever the talk was."""
        if self.anchor.section.chunk.metadata.get("source_type", "kb") not in ("kb", "course"):
            return []
        first = next((i for i, u in enumerate(self.units) if u.kind != "label"), None)
        if first is None or first >= self.index or self.units[first].kind != "sentence":
            return []
        opening = self.units[first]
        if opening.text.endswith(":") or _signpost(opening) or _asks(opening):
            return []
        # It says what the section is about only when it names that (or what was asked);
        # a chunk can open on the last sentence of the topic before.
        terms = content_terms(opening.text)
        if terms <= self.known or not terms & self.known:
            return []
        return [] if opening.text in self.anchor.section.boilerplate else [opening.text]

    def _path(self) -> list[str]:
        """The run of labels (menu names) that opens the section before the anchor: where in
        the product this happens ("Settings > General > Eco Solution")."""
        run: list[str] = []
        previous: TextUnit | None = None
        for unit in self.units[: self.index]:
            if unit.kind == "label":
                if not run and previous is not None and previous.text.endswith(":"):
                    break  # the options a lead-in introduces, not where they are
                run.append(unit.text)
            elif len(run) >= 2:
                break
            else:
                run = []
            previous = unit
        return [" > ".join(run)] if len(run) >= 2 else []

    def _lead(self) -> list[str]:
        """The sentence right before the anchor when it introduces what the anchor is part of
        (it ends with ":"), or when the anchor is a step list and it shares the question's
        words (what the procedure is for). An option's lead-in is the one its list of labels
        comes after."""
        if self.anchor.unit.kind == "label":
            lead = self._options_lead()
            return [lead] if lead else []
        if self.index == 0:
            return []
        before = self.units[self.index - 1]
        if before.kind != "sentence":
            return []
        introduces = before.text.endswith(":")
        names_it = self.anchor.unit.kind == "steps" and content_terms(before.text) & self.known
        return [before.text] if introduces or names_it else []

    def _instruction(self, body: list[str]) -> list[str]:
        """For a how-to answered by a sentence that names no menu path, the nearest sentence
        before it in the section that does: "Go to Settings > Data > Import history … click
        Undo." before "Undo removes the customers the import created"."""
        if not self.how_to or any(_MENU_PATH.search(part) for part in body):
            return []
        for unit in reversed(self.units[: self.index]):
            if unit.kind == "sentence" and _MENU_PATH.search(unit.text):
                return [unit.text]
        return []

    def _steps(self, block: TextUnit) -> list[str]:
        """The whole procedure, or its first `max_steps` steps and a pointer to the rest."""
        lines = block.text.splitlines()
        steps = [i for i, line in enumerate(lines) if _LIST_MARKER.match(line) and line[:1] != " "]
        if len(steps) <= self.max_steps:
            return [block.text]
        return ["\n".join(lines[: steps[self.max_steps]]), FULL_STEPS]

    def _item(self, block: TextUnit, item: TextUnit) -> list[str]:
        """One list item, after the list's lead-in and the item it is nested under."""
        lines = block.text.splitlines()
        items = [line for line in lines if _LIST_MARKER.match(line)]
        lead = lines[: lines.index(items[0])]
        own = item.item - 1
        nested = items[own][:1].isspace()
        parent = [line for line in items[:own] if not line[:1].isspace()][-1:] if nested else []
        children = []
        for line in [] if nested else items[own + 1 :]:
            if not line[:1].isspace():
                break
            children.append(line)
        if parent or children:  # "3. Set the Schedule:" never stands alone
            return ["\n".join([*lead, *parent, items[own], *children])]
        return [*lead, _plain(items[own])]

    def _in_options(self) -> bool:
        """The anchor is one of the options a lead-in ("…the following functions:") lists:
        labels after the lead-in are options, even where a description or a page break
        sits between them and it."""
        return self._options_lead() is not None

    def _options_lead(self) -> str | None:
        """The lead-in sentence the anchor's run of labels comes after, if any."""
        start, _ = self._run(self.index)
        if start == self.index and self.units[start].kind != "label":
            return None
        for unit in reversed(self.units[:start]):
            if unit.kind == "sentence" and unit.text.endswith(":"):
                return unit.text
        return None

    def _label(self, block: TextUnit) -> str:
        """An option with its description."""
        description = self._description()
        return f"{block.text}: {description}" if description else block.text

    def _description(self) -> str:
        """The sentences after the label at `index`, up to the next label; `index` moves to the
        last of them."""
        following: list[str] = []
        for unit in self.units[self.index + 1 :]:
            if unit.kind != "sentence" or _words(following) >= self.fact_words // 2:
                break
            following.append(unit.text)
        self.index += len(following)
        return " ".join(following)

    def _more(self, parts: list[str]) -> list[str]:
        """The sentences (and menu paths) after the anchor while what is said so far adds fewer
        than `new_words` words to the question and the heading or is shorter than `min_words`:
        the consequence after "An export can hold up to 10,000 rows", the reason after a
        restated symptom; then any that holds question words not quoted yet; all within
        `fact_words`."""
        more: list[str] = []
        following = self.units[self.index + 1 :]
        n = 0
        while n < len(following):
            unit = following[n]
            said = [*parts, *more]
            so_far = content_terms(" ".join(said))
            # A table row or list item is a whole fact; a sentence or label seldom is.
            enough = self.anchor.unit.kind in ("row", "item") or (
                len(so_far - self.known) >= self.new_words and _words(said) >= self.min_words
            )
            # Past that, a sentence still comes when it holds question words not yet quoted
            # ("… responds with 429 Too Many Requests" after the limits table).
            if enough and not (
                unit.kind == "sentence" and content_terms(unit.text) & self.question_terms - so_far
            ):
                break
            if unit.kind == "label":
                run = _label_run(following[n:])
                previous = self.units[self.index + n] if n else self.units[self.index]
                if len(run) < 2 or self._in_options():
                    break  # a label of its own starts the next option or topic
                if previous.text.endswith(":"):
                    # The options a lead-in introduces: the ones the question names.
                    options = following[n : n + len(run)]
                    named = max(
                        options, key=lambda u: len(content_terms(u.text) & self.question_terms)
                    )
                    if not content_terms(named.text) & self.question_terms:
                        break
                    self.index = self.index + 1 + n + options.index(named)
                    more.append(self._label(named))
                    break
                text, n = " > ".join(run), n + len(run)
            elif unit.kind != "sentence" or _asks(unit):
                break  # a list, table or question is a piece of its own
            elif _restates(unit, self.known) or _signpost(unit):
                n += 1  # says nothing new, or speaks of the document ("This article explains…")
                continue
            else:
                text, n = unit.text, n + 1
            if _words([*said, text]) > self.fact_words and more:
                break
            more.append(text)
        return more


def _render(section: _Section, parts: list[str], *, support: float) -> Draft:
    """Sentences run on with one marker each; lists and tables stand on their own lines."""
    marker = "[1]"
    lines: list[str] = []
    prose: list[str] = []
    for part, following in zip(parts, [*parts[1:], None], strict=True):
        if part == FULL_STEPS:
            prose.append(f"{FULL_STEPS} {marker}.")
        elif _stands_alone(part):
            if prose:
                lines.append(" ".join(prose))
                prose = []
            *head, last = part.splitlines()
            lines.append("\n".join([*head, f"{last} {marker}"]))
        elif part.endswith(":") and following and not _stands_alone(following):
            prose.append(part)  # a lead-in reads on into what it introduces, cited once
        else:
            prose.append(f"{part} {marker}")
    if prose:
        lines.append(" ".join(prose))
    text = _EMPHASIS.sub("", "\n".join(lines))
    return Draft(text=text, sources=[section.chunk], support=max(0.0, support))


def _stands_alone(part: str) -> bool:
    """A list or table: lines of its own, not prose."""
    return "\n" in part or bool(_LIST_MARKER.match(part))


def _label_run(units: list[TextUnit]) -> list[str]:
    run = []
    for unit in units:
        if unit.kind != "label":
            break
        run.append(unit.text)
    return run


def _plain(text: str) -> str:
    """One list item on its own reads as a sentence: its "4." or "-" dropped."""
    return _LIST_MARKER.sub("", text.strip())


def _words(parts: list[str]) -> int:
    return sum(len(p.split()) for p in parts)
