"""A written answer's claims: its sentences, list items and table rows, each with the `[n]`
markers it cites, and the text operations on those markers (renumbering, unknown numbers).

This is the answer's format, which both synthesizers write and `citation_check` reads; what
supports a claim is the checker's business.
"""

import re
from dataclasses import dataclass

from assistant.text_units import split_sentences

# "[3]", "[1][2]" and "[1, 2]" all cite; renumbering writes "[1, 2]" as "[1][2]".
_NUMBERS = r"\d{1,3}(?:\s*,\s*\d{1,3})*"
MARKER = re.compile(rf"\[({_NUMBERS})\]")
_MARKER_WITH_SPACE = re.compile(rf"\s*{MARKER.pattern}")
_LEADING_MARKERS = re.compile(rf"^((?:\[{_NUMBERS}\]\s*)+)(.*)$", re.DOTALL)
_MARKER_AFTER_STOP = re.compile(r"([.!?])(\[\d)")
# The same marker again and again ("Try Now [1] [1] [1]"): said once.
_REPEATED_MARKER = re.compile(rf"({MARKER.pattern})(?:\s*\1)+")
_LIST_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
_STEP_NUMBER = re.compile(r"^(\s*)(\d+)[.)]\s")
_HEADING_LINE = re.compile(r"^\s*#{1,6}\s+")
_TABLE_LINE = re.compile(r"^\s*\|")
_TABLE_RULE = re.compile(r"^[\s|:-]+$")
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
            claims.append(parse_claim(sentence, lead_in=lead_in))

    for line in text.splitlines():
        if not line.strip():
            flush(list_follows=False)
        elif _LIST_LINE.match(line) or _HEADING_LINE.match(line):
            flush(list_follows=bool(_LIST_LINE.match(line)))
            body = _HEADING_LINE.sub("", _LIST_LINE.sub("", line, count=1), count=1)
            claims.extend(parse_claim(s) for s in _sentences(body))
        elif _TABLE_LINE.match(line):
            flush(list_follows=False)
            if not _TABLE_RULE.match(line):
                claims.append(parse_claim(line.strip()))
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


def collapse_repeated_markers(text: str) -> str:
    """ "Try Now [1] [1] [1]" as "Try Now [1]". A prefix of a text collapses to a prefix of the
    whole text's result when it ends on a marker, as streamed text does."""
    return _REPEATED_MARKER.sub(r"\1", text)


def unknown_markers(text: str, source_count: int) -> list[int]:
    """Cited numbers that name no source, in order of appearance."""
    unknown: list[int] = []
    for match in MARKER.finditer(text):
        for n in _marker_numbers(match):
            if not 1 <= n <= source_count and n not in unknown:
                unknown.append(n)
    return unknown


def parse_claim(text: str, *, lead_in: bool = False) -> Claim:
    """One sentence, item or row with the numbers its markers cite, each once, in order."""
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


def lead_ins_cite_their_lists(claims: list[Claim]) -> list[Claim]:
    """A lead-in without markers is checked against the sources of the item it introduces."""
    result = list(claims)
    for i, claim in enumerate(result):
        if claim.lead_in and not claim.cited and i + 1 < len(result):
            result[i] = Claim(claim.text, result[i + 1].cited, lead_in=True)
    return result


def line_sentences(line: str) -> tuple[str, list[str]]:
    """A line's list or heading prefix ("2. ", "- ", "## ") and its sentences; a table row is
    one sentence."""
    if not line.strip() or _TABLE_RULE.match(line):
        return "", []
    if _TABLE_LINE.match(line):
        return "", [line.strip()]
    prefixed = _LIST_LINE.match(line) or _HEADING_LINE.match(line)
    prefix = prefixed.group(0) if prefixed else ""
    return prefix, _sentences(line[len(prefix) :])


def renumber_steps(lines: list[str]) -> list[str]:
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


def list_follows(lines: list[str], index: int) -> bool:
    """Whether the next line with text after `lines[index]` is a list item."""
    later = [line for line in lines[index + 1 :] if line.strip()]
    return bool(later) and bool(_LIST_LINE.match(later[0]))


def cite(body: str, number: int) -> str:
    """The sentence with one marker, before its closing punctuation: "Open Settings [2]."."""
    words = body.rstrip(".!?:;")
    return f"{words.rstrip()} [{number}]{body[len(words) :]}"


def written_markers(numbers: tuple[int, ...]) -> str:
    """(1, 3) as "[1][3]"."""
    return "".join(f"[{n}]" for n in numbers)


def _marker_numbers(match: re.Match[str]) -> list[int]:
    return [int(n) for n in match.group(1).split(",")]


def plain(text: str) -> str:
    """Lower-case words without list markers, emphasis or citation markers."""
    text = _LIST_LINE.sub("", _MARKER_WITH_SPACE.sub("", text)).replace("**", "")
    return " ".join(text.replace("__", "").split()).lower()
