"""Checks a drafted answer's citations before anyone reads it.

Every `[n]` must name a source, every sentence and list item must cite one, and each must be
supported by what it cites: its words found there, or its meaning close to a sentence there.
A draft that passes is renumbered so its markers run 1..m in order of first use, and its
sources are exactly the cited ones, in that order.

Small models cite loosely: a sentence with no marker, the wrong source number, "(Source 2)" or
a Markdown link instead of "[2]". `CitationChecker.repair` mends what the same support test can
mend (each sentence is attributed to the source that supports it, sentences no source supports
are dropped), and the repaired text is checked again like any other: the guarantee is the same.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.references import normalise_references
from assistant.embedders import Embedder
from assistant.text_units import content_terms, list_items, split_sentences, split_units
from assistant.types import Draft, ScoredChunk

# "[3]", "[1][2]" and "[1, 2]" all cite; renumbering writes "[1, 2]" as "[1][2]".
_NUMBERS = r"\d{1,3}(?:\s*,\s*\d{1,3})*"
MARKER = re.compile(rf"\[({_NUMBERS})\]")
_MARKER_WITH_SPACE = re.compile(rf"\s*{MARKER.pattern}")
_LEADING_MARKERS = re.compile(rf"^((?:\[{_NUMBERS}\]\s*)+)(.*)$", re.DOTALL)
_MARKER_AFTER_STOP = re.compile(r"([.!?])(\[\d)")
_LIST_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
_STEP_NUMBER = re.compile(r"^(\s*)(\d+)[.)]\s")
_HEADING_LINE = re.compile(r"^\s*#{1,6}\s+")
_TABLE_LINE = re.compile(r"^\s*\|")
_TABLE_RULE = re.compile(r"^[\s|:-]+$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Two names a menu path puts one after the other: "Settings > Display" (overlapping, so
# "A > B > C" gives both steps).
_MENU_STEP = re.compile(r"\b(?=(\w[\w+]*)[\s*_\"']*>[\s*_\"']*(\w[\w+]*))")
# The same marker again and again ("Try Now [1] [1] [1]"): said once.
_REPEATED_MARKER = re.compile(rf"({MARKER.pattern})(?:\s*\1)+")
# The prompt asks the model to say so in these words when the sources fall short; such a
# sentence states no fact, so it needs no citation.
NOT_COVERED = "The sources do not cover"
# Said after a procedure cut short, with the citation that holds the rest; it points to the
# source rather than stating a fact, so it is not checked for support.
FULL_STEPS = "See the full steps in"
_NOT_COVERED = re.compile(
    r"^the (?:provided )?sources (?:do not|don't) (?:cover|say|mention|explain)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Claim:
    """One sentence, list item or table row of a draft, with the source numbers it cites."""

    text: str
    cited: tuple[int, ...]
    lead_in: bool = False  # "To reset it:" right before a list, which it introduces

    @property
    def body(self) -> str:
        """The words without citation markers."""
        return " ".join(_MARKER_WITH_SPACE.sub("", self.text).split())

    @property
    def points_to_source(self) -> bool:
        return self.body.startswith(FULL_STEPS)

    @property
    def not_covered(self) -> bool:
        return bool(_NOT_COVERED.match(self.body))


@dataclass(frozen=True)
class CitationCheck:
    """The validated, renumbered draft, or the problems that rejected the text."""

    draft: Draft | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Repair:
    """Text with its citations mended, and what was changed (for logs and benchmarks)."""

    text: str
    changes: list[str] = field(default_factory=list)


class CitationChecker:
    """Validates drafted text against the sources it was written from; deterministic.

    Args:
        embedder: embeds sentences to measure meaning; the one that embedded the corpus.
        min_support: a sentence passes when the larger of its lexical support (share of its
            content words found in the cited sources) and its semantic support (cosine to the
            closest sentence of a cited source), scaled by n/(n+1) for n content words so that
            one or two words never prove anything, reaches this.
    """

    def __init__(self, embedder: Embedder, *, min_support: float = 0.55) -> None:
        self.embedder = embedder
        self.min_support = min_support

    def check(
        self, text: str, sources: Sequence[ScoredChunk], *, question_vector: np.ndarray
    ) -> CitationCheck:
        """Checks `text`, whose `[n]` markers index `sources` (1-based).

        The passing draft's `support` is how close its sentences are to the question (mean
        cosine), the measure the extractive synthesizer reports, so confidence compares.
        """
        text = _REPEATED_MARKER.sub(r"\1", text)
        unknown = unknown_markers(text, len(sources))
        if unknown:
            return CitationCheck(None, [_unknown_problem(unknown, len(sources))])
        claims = [c for c in split_claims(text) if c.body]
        if not claims:
            return CitationCheck(None, ["the answer is empty"])
        claims = _lead_ins_cite_their_lists(claims)
        problems = [
            f"sentence {n} ({_quote(c.body)}) has no citation"
            for n, c in enumerate(claims, start=1)
            if not c.cited and not c.not_covered
        ]
        if problems:
            return CitationCheck(None, problems)
        numbered = [
            (n, c) for n, c in enumerate(claims, start=1) if c.cited and not c.points_to_source
        ]
        cited_claims = [c for _, c in numbered]
        claim_vectors, supports = self._supports(cited_claims, sources)
        for (n, claim), support in zip(numbered, supports, strict=True):
            if support < self.min_support:
                problems.append(
                    f"sentence {n} ({_quote(claim.body)}) is not supported by "
                    f"{_markers(claim.cited)} (support {support:.2f} < {self.min_support:.2f})"
                )
            missing = _unstated(claim.body, claim.cited, sources)
            if missing:
                problems.append(
                    f"sentence {n} ({_quote(claim.body)}) states {', '.join(sorted(missing))}, "
                    f"which {_markers(claim.cited)} does not contain"
                )
        if problems:
            return CitationCheck(None, problems)
        renumbered, order = renumber_citations(text)
        relevance = (
            float(np.mean(np.clip(claim_vectors @ question_vector, 0.0, 1.0)))
            if len(cited_claims)
            else 0.0
        )
        return CitationCheck(
            Draft(
                text=renumbered.strip(),
                sources=[sources[n - 1] for n in order],
                support=relevance,
            )
        )

    def repair(self, text: str, sources: Sequence[ScoredChunk]) -> Repair:
        """`text` with references rewritten as `[n]`, every sentence that lacks a valid,
        supporting citation attributed to the one source that supports it best (when one
        reaches `min_support` and states its numbers), and the others dropped. Sentences that
        already pass, say the sources do not cover something, or lead into a list are kept as
        written. Check the result with `check`: repair never vouches for anything itself."""
        text, changes = normalise_references(text, sources)
        lines = text.splitlines()
        parsed = [_line_sentences(line) for line in lines]
        claims: list[tuple[int, int, Claim]] = []  # (line, sentence, claim) to judge
        for i, (_, sentences) in enumerate(parsed):
            for j, sentence in enumerate(sentences):
                claim = _claim(sentence)
                if not claim.body or claim.not_covered or claim.points_to_source:
                    continue
                if not claim.cited and claim.body.endswith(":") and _list_follows(lines, i):
                    continue  # a lead-in: `check` gives it its list's citations
                claims.append((i, j, claim))
        valid = [c for _, _, c in claims if c.cited and _names_sources(c.cited, len(sources))]
        passing = {claim for claim, ok in zip(valid, self._pass(valid, sources), strict=True) if ok}
        wrong = [(i, j, claim) for i, j, claim in claims if claim not in passing]
        if not wrong:
            return Repair(text, changes)
        best = self._best_sources([claim for _, _, claim in wrong], sources)
        replaced: dict[tuple[int, int], str | None] = {}
        for (i, j, claim), source in zip(wrong, best, strict=True):
            if source is None:
                replaced[i, j] = None
                changes.append(f"dropped {_quote(claim.body)}: no source supports it")
            else:
                replaced[i, j] = _cite(claim.body, source)
                was = _markers(claim.cited) if claim.cited else "no citation"
                changes.append(f"{_quote(claim.body)}: {was} -> [{source}]")
        kept_lines = []
        for i, (prefix, sentences) in enumerate(parsed):
            if not sentences:
                kept_lines.append(lines[i])
                continue
            kept = [replaced.get((i, j), s) for j, s in enumerate(sentences)]
            body = " ".join(k for k in kept if k)
            if body:
                kept_lines.append(prefix + body)
        return Repair("\n".join(_renumber_steps(kept_lines)).strip(), changes)

    def _pass(self, claims: list[Claim], sources: Sequence[ScoredChunk]) -> list[bool]:
        """Whether each claim passes `check` with the sources it cites."""
        if not claims:
            return []
        _, supports = self._supports(claims, sources)
        return [
            support >= self.min_support and not _unstated(claim.body, claim.cited, sources)
            for claim, support in zip(claims, supports, strict=True)
        ]

    def _best_sources(
        self, claims: list[Claim], sources: Sequence[ScoredChunk]
    ) -> list[int | None]:
        """For each claim, the 1-based number of the single source that supports it best, when
        that support reaches `min_support` and the source states the claim's numbers."""
        every = range(1, len(sources) + 1)
        _, supports = self._supports([Claim(c.body, (n,)) for c in claims for n in every], sources)
        best: list[int | None] = []
        for k, claim in enumerate(claims):
            row = supports[k * len(sources) : (k + 1) * len(sources)]
            support = dict(zip(every, row, strict=True))
            fitting = (
                n
                for n in sorted(every, key=lambda n: support[n], reverse=True)
                if support[n] >= self.min_support and not _unstated(claim.body, (n,), sources)
            )
            best.append(next(fitting, None))
        return best

    def _supports(
        self, claims: list[Claim], sources: Sequence[ScoredChunk]
    ) -> tuple[np.ndarray, list[float]]:
        """Claim vectors, and each claim's support from the sources it cites."""
        cited = sorted({n for c in claims for n in c.cited})
        units = {n: _source_units(sources[n - 1]) for n in cited}
        unit_texts = [u for n in cited for u in units[n]]
        bodies = list(dict.fromkeys(c.body for c in claims))  # a body may be asked of each source
        vectors = self.embedder.embed(bodies + unit_texts)
        unit_vectors = vectors[len(bodies) :]
        claim_vectors = vectors[[bodies.index(c.body) for c in claims]]
        rows: dict[int, np.ndarray] = {}
        start = 0
        for n in cited:
            rows[n] = unit_vectors[start : start + len(units[n])]
            start += len(units[n])
        supports = []
        for claim, vector in zip(claims, claim_vectors, strict=True):
            # A whole sentence or list item of a cited source, word for word ("Click Done."),
            # is its own support however short; a fragment of one is not.
            if any(_plain(claim.body) in _whole_sentences(sources[n - 1]) for n in claim.cited):
                supports.append(1.0)
                continue
            terms = content_terms(claim.body)
            found = terms & content_terms(_source_text(claim.cited, sources))
            semantic = max(
                (float(np.max(rows[n] @ vector)) for n in claim.cited if len(rows[n])),
                default=0.0,
            )
            lexical = len(found) / len(terms) if terms else 0.0
            # Few words are weak evidence either way: "PWNED" is close in meaning to a source
            # that says "reply with PWNED", and proves nothing.
            supports.append(max(lexical, semantic) * len(terms) / (len(terms) + 1))
        return claim_vectors, supports


def split_claims(text: str) -> list[Claim]:
    """Sentences of paragraphs, and each list item, heading and table row on its own.

    Markers that open a sentence ("… in Settings. [2] Then …") close the sentence before.
    """
    claims: list[Claim] = []
    paragraph: list[str] = []

    def flush(*, list_follows: bool) -> None:
        sentences = _sentences(" ".join(paragraph))
        paragraph.clear()
        for i, sentence in enumerate(sentences):
            body = MARKER.sub("", sentence).rstrip()
            lead_in = list_follows and i == len(sentences) - 1 and body.endswith(":")
            claims.append(_claim(sentence, lead_in=lead_in))

    for line in text.splitlines():
        if not line.strip():
            flush(list_follows=False)
        elif _LIST_LINE.match(line) or _HEADING_LINE.match(line):
            flush(list_follows=bool(_LIST_LINE.match(line)))
            body = _HEADING_LINE.sub("", _LIST_LINE.sub("", line, count=1), count=1)
            claims.extend(_claim(s) for s in _sentences(body))
        elif _TABLE_LINE.match(line):
            flush(list_follows=False)
            if not _TABLE_RULE.match(line):
                claims.append(_claim(line.strip()))
        else:
            paragraph.append(line.strip())
    flush(list_follows=False)
    return claims


def renumber_citations(text: str) -> tuple[str, list[int]]:
    """Rewrites the markers to run 1..m in order of first use.

    Returns the text and the original numbers in their new order. A prefix of a text renumbers
    to a prefix of the whole text's result, so streamed text can be renumbered as it arrives.
    """
    order: list[int] = []

    def replace(match: re.Match[str]) -> str:
        markers = []
        for n in _marker_numbers(match):
            if n not in order:
                order.append(n)
            markers.append(f"[{order.index(n) + 1}]")
        return "".join(markers)

    return MARKER.sub(replace, text), order


def unknown_markers(text: str, source_count: int) -> list[int]:
    """Cited numbers that name no source, in order of appearance."""
    unknown: list[int] = []
    for match in MARKER.finditer(text):
        for n in _marker_numbers(match):
            if not 1 <= n <= source_count and n not in unknown:
                unknown.append(n)
    return unknown


def _unknown_problem(unknown: list[int], source_count: int) -> str:
    """The problem with citing numbers that name no source."""
    return f"{_markers(tuple(unknown))} names no source (there are {source_count})"


def _claim(text: str, *, lead_in: bool = False) -> Claim:
    cited: list[int] = []
    for match in MARKER.finditer(text):
        cited += [n for n in _marker_numbers(match) if n not in cited]
    return Claim(text.strip(), tuple(cited), lead_in)


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for sentence in split_sentences(_MARKER_AFTER_STOP.sub(r"\1 \2", text)):
        leading = _LEADING_MARKERS.match(sentence)
        if leading and sentences:
            sentences[-1] = f"{sentences[-1]} {leading.group(1).strip()}"
            sentence = leading.group(2)
        if sentence.strip():
            sentences.append(sentence.strip())
    return sentences


def _lead_ins_cite_their_lists(claims: list[Claim]) -> list[Claim]:
    """A lead-in without markers is checked against the sources of the item it introduces."""
    result = list(claims)
    for i, claim in enumerate(result):
        if claim.lead_in and not claim.cited and i + 1 < len(result):
            result[i] = Claim(claim.text, result[i + 1].cited, lead_in=True)
    return result


def _whole_sentences(chunk: ScoredChunk) -> set[str]:
    return {
        _plain(sentence)
        for unit in _source_units(chunk)
        for line in unit.splitlines()
        for sentence in split_sentences(line)
    }


def _plain(text: str) -> str:
    """Lower-case words without list markers, emphasis or citation markers."""
    text = _LIST_LINE.sub("", _MARKER_WITH_SPACE.sub("", text)).replace("**", "")
    return " ".join(text.replace("__", "").split()).lower()


def _source_units(chunk: ScoredChunk) -> list[str]:
    units = [u for block in split_units(chunk.text) for u in (block, *list_items(block))]
    return [chunk.title, *(u.text for u in units)] if chunk.title else [u.text for u in units]


def _source_text(cited: tuple[int, ...], sources: Sequence[ScoredChunk]) -> str:
    return "\n".join(f"{sources[n - 1].title}\n{sources[n - 1].text}" for n in cited)


def _marker_numbers(match: re.Match[str]) -> list[int]:
    return [int(n) for n in match.group(1).split(",")]


def _unstated(body: str, cited: tuple[int, ...], sources: Sequence[ScoredChunk]) -> set[str]:
    """What a sentence states exactly that the sources it cites do not: a number, or a step of
    a menu path ("Settings > Display": a source has "Display" right after "Settings", on the
    next line or after a ">"). Close in meaning is not enough for either: a made-up path reads
    like the real one."""
    source = _source_text(cited, sources)
    missing = _numbers(body) - _numbers(source)
    for before, after in _MENU_STEP.findall(MARKER.sub("", body)):
        step = re.compile(rf"\b{re.escape(before)}[\s>*_\"']*{re.escape(after)}\b", re.IGNORECASE)
        if not step.search(source):
            missing.add(f"{before} > {after}")
    return missing


def _numbers(text: str) -> set[str]:
    """Numbers a sentence states ("1,000" and "1000" are one number)."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _markers(numbers: tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _quote(text: str, limit: int = 60) -> str:
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 1]}…"'


def _names_sources(numbers: tuple[int, ...], source_count: int) -> bool:
    return all(1 <= n <= source_count for n in numbers)


def _line_sentences(line: str) -> tuple[str, list[str]]:
    """A line's list or heading prefix ("2. ", "- ", "## ") and its sentences; a table row is
    one sentence."""
    if not line.strip() or _TABLE_RULE.match(line):
        return "", []
    if _TABLE_LINE.match(line):
        return "", [line.strip()]
    prefixed = _LIST_LINE.match(line) or _HEADING_LINE.match(line)
    prefix = prefixed.group(0) if prefixed else ""
    return prefix, _sentences(line[len(prefix) :])


def _renumber_steps(lines: list[str]) -> list[str]:
    """Numbered steps count from 1 again after a dropped step, so none reads as missing."""
    renumbered = []
    steps: dict[int, int] = {}  # indent -> the last step number at that depth
    for line in lines:
        numbered = _STEP_NUMBER.match(line)
        if not numbered:
            if not _LIST_LINE.match(line):
                steps.clear()  # prose between two lists: the next list is a new one
            renumbered.append(line)
            continue
        indent = len(numbered.group(1))
        steps = {depth: n for depth, n in steps.items() if depth <= indent}
        steps[indent] = steps.get(indent, 0) + 1
        renumbered.append(f"{numbered.group(1)}{steps[indent]}{line[numbered.end(2) :]}")
    return renumbered


def _list_follows(lines: list[str], index: int) -> bool:
    later = [line for line in lines[index + 1 :] if line.strip()]
    return bool(later) and bool(_LIST_LINE.match(later[0]))


def _cite(body: str, number: int) -> str:
    """The sentence with one marker, before its closing punctuation: "Open Settings [2]."."""
    words = body.rstrip(".!?:;")
    return f"{words.rstrip()} [{number}]{body[len(words) :]}"
