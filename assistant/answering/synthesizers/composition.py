"""How the extractive answer is put together once its anchor is chosen: the parts of the
anchor's section that answer, in reading order (the menu path that leads there, a list's
lead-in, a table row's header, an option's description, the steps of a procedure, the
sentences after a match that add something), rendered as a cited Draft."""

import re
from dataclasses import dataclass

from assistant.answering.claims import FULL_STEPS
from assistant.text_units import TextUnit, content_terms
from assistant.types import Draft, ScoredChunk

# Markdown bold/italic markers: answers are pasted into tickets and chats as plain text.
_EMPHASIS = re.compile(r"\*\*|__")
LIST_MARKER = re.compile(r"^\s*(\d+[.)]|[-*•])\s+")
# "Settings > Data > Import history": where in the product something is done.
_MENU_PATH = re.compile(r"\w[\w*]* > [\w*]")


# "This article explains how…": a sentence about the document, not about the product.
_SIGNPOST = re.compile(
    r"^(this|the following|in this) (article|guide|page|section|lesson|course|module|video|"
    r"webinar|tutorial|chapter|document|post)\b",
    re.IGNORECASE,
)


def signpost(unit: TextUnit) -> bool:
    return unit.kind == "sentence" and bool(_SIGNPOST.match(unit.text))


def restates(unit: TextUnit, known: set[str] | frozenset[str]) -> bool:
    """A sentence whose every content word is in `known` (the question's and the heading's):
    it says nothing the reader does not already know."""
    return unit.kind == "sentence" and content_terms(unit.text) <= known


def asks(unit: TextUnit) -> bool:
    """A sentence that asks something (a webinar attendee's question, a quoted question) is
    never an answer, however many words it shares with the question."""
    if unit.kind == "asked":
        return True
    return unit.kind == "sentence" and ("?" in unit.text.rstrip(")\"' ")[-1:] or '?"' in unit.text)


@dataclass(frozen=True)
class Section:
    """One retrieved chunk read as an ordered list of units."""

    rank: int  # among the retrieved chunks: the citation's source
    order: int  # its document's place among the usable sections' documents
    chunk: ScoredChunk
    units: list[TextUnit]
    heading_terms: frozenset[str]
    # Sentences other retrieved sections have too: disclaimers, not what this one is about.
    boilerplate: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Candidate:
    section: Section
    unit: TextUnit
    score: float
    terms: frozenset[str]  # the question's content words this unit contains
    fits: bool = False  # states a number, and the question asks for an amount


class Composer:
    """The parts of the anchor's section that answer, in reading order."""

    def __init__(
        self,
        anchor: Candidate,
        question_terms: set[str],
        *,
        how_to: bool,
        fact_words: int,
        max_steps: int,
        new_words: int,
        min_words: int,
    ) -> None:
        self.how_to = how_to
        self.fact_words = fact_words
        self.max_steps = max_steps
        self.new_words = new_words
        self.min_words = min_words
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
            path = _menu_path([u.text for u in self.units[start:end]])
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
        if opening.text.endswith(":") or signpost(opening) or asks(opening):
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
        return [_menu_path(run)] if len(run) >= 2 else []

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
        steps = [i for i, line in enumerate(lines) if LIST_MARKER.match(line) and line[:1] != " "]
        if len(steps) <= self.max_steps:
            return [block.text]
        return ["\n".join(lines[: steps[self.max_steps]]), FULL_STEPS]

    def _item(self, block: TextUnit, item: TextUnit) -> list[str]:
        """One list item, after the list's lead-in and the item it is nested under."""
        lines = block.text.splitlines()
        items = [line for line in lines if LIST_MARKER.match(line)]
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
                text, n = _menu_path(run), n + len(run)
            elif unit.kind != "sentence" or asks(unit):
                break  # a list, table or question is a piece of its own
            elif restates(unit, self.known) or signpost(unit):
                n += 1  # says nothing new, or speaks of the document ("This article explains…")
                continue
            else:
                text, n = unit.text, n + 1
            if _words([*said, text]) > self.fact_words and more:
                break
            more.append(text)
        return more


def render(section: Section, parts: list[str], *, support: float) -> Draft:
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
    return "\n" in part or bool(LIST_MARKER.match(part))


def _menu_path(labels: list[str]) -> str:
    """Menu names as one path; a page that prints the same path twice in a row gets it once."""
    half = len(labels) // 2
    if len(labels) % 2 == 0 and labels[:half] == labels[half:]:
        labels = labels[:half]
    return " > ".join(labels)


def _label_run(units: list[TextUnit]) -> list[str]:
    run = []
    for unit in units:
        if unit.kind != "label":
            break
        run.append(unit.text)
    return run


def _plain(text: str) -> str:
    """One list item on its own reads as a sentence: its "4." or "-" dropped."""
    return LIST_MARKER.sub("", text.strip())


def _words(parts: list[str]) -> int:
    return sum(len(p.split()) for p in parts)
