"""Splits chunk text into answerable units (sentences, whole step or bullet lists) and into the
passages retrieval scores a chunk by."""

import re
from dataclasses import dataclass
from functools import lru_cache

from nltk.stem.snowball import EnglishStemmer

_STEP = re.compile(r"^\s*(\d+)[.)]\s+")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_TABLE_ROW = re.compile(r"^\s*\|")
_TABLE_RULE = re.compile(r"^:?-+:?$")
# A label is a line of at most this many words that does not end like a sentence, after a line
# that did (or after another label): longer lines are prose wrapped by the page.
_LABEL_WORDS = 6
_ENDS = (".", "!", "?", ":")
# Words a menu name or option never ends on: a short line that does ("In the", "Grayscale is
# on, some") is a sentence the page wrapped, often around an icon it lost.
_FUNCTION_WORDS = frozenset(
    "a an and are as at be by can for from if in is it not of on or some that the this to "  # noqa: SIM905
    "when which will with you your".split()
)
# A line that opens with punctuation goes on with the line before it.
_GOES_ON = re.compile(r"^\s*[,:;.)]")
# A transcript's or chat's line that opens with who speaks: "Maya Chen: …".
_SPEAKER = re.compile(r"^\s*[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}: \S")
# A sentence ends at . ! ? followed by space and an upper-case letter, digit or quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
# Abbreviations whose dot does not end a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "Mr.", "Ms.", "Dr.", "No.")
# Words per passage: a few sentences, what MiniLM matches a question to best; retrieval is
# insensitive to the exact length between about 20 and 60 (benchmarks/retrieval.py).
PASSAGE_WORDS = 40


_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# Snowball, as BM25 in the store stems: "invite" and "invitation", "deleted" and "delete" match.
_STEMMER = EnglishStemmer()
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "done",
        "how",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "then",
        "too",
        "very",
        "just",
        "about",
        "into",
        "over",
        "under",
        "again",
        "more",
        "most",
        "some",
        "any",
        "all",
        "each",
        "other",
        "get",
        "got",
        "have",
        "has",
        "had",
        "make",
        "use",
        "using",
        "want",
        "need",
    ]
)


def content_terms(text: str) -> set[str]:
    """Lower-cased words that carry meaning (no stopwords), stemmed."""
    return set(_content_terms(text))


@lru_cache(maxsize=8192)
def _content_terms(text: str) -> frozenset[str]:
    # Kept: an answer reads the same chunks and sentences several times (extractive units,
    # conflicts, confidence), and popular chunks come back question after question.
    return frozenset(stem(w) for w in content_words(text))


def content_words(text: str) -> set[str]:
    """Lower-cased words that carry meaning (no stopwords), as written: for people to read."""
    return set(_WORD.findall(text.lower())) - _STOPWORDS


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's Snowball stem, as `content_terms` holds it."""
    return _STEMMER.stem(word)


@dataclass(frozen=True)
class TextUnit:
    # "sentence", "steps", "list", "table", "item" (one line of a list), "row" (one row of a
    # table, with its header), "label" (a short line of its own: a menu name, an option) or
    # "asked" (a sentence of a transcript turn that asks a question)
    kind: str
    text: str
    position: int
    item: int = 0  # 1-based line within the list for kind "item"


def list_items(unit: TextUnit) -> list[TextUnit]:
    """The lines of a step or bullet list as units of their own, for factual questions."""
    if unit.kind not in ("steps", "list"):
        return []
    lines = [line for line in unit.text.splitlines() if _STEP.match(line) or _BULLET.match(line)]
    return [TextUnit("item", line, unit.position, n) for n, line in enumerate(lines, start=1)]


def split_sentences(text: str) -> list[str]:
    return list(_sentences(text))


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    # Kept like content terms: every answer splits its retrieved chunks again (extractive
    # units, conflicts), and the same chunks come back question after question.
    text = " ".join(text.split())
    if not text:
        return ()
    parts = _SENTENCE_END.split(text)
    sentences: list[str] = []
    for part in parts:
        if sentences and sentences[-1].endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {part}"
        else:
            sentences.append(part)
    return tuple(s.strip() for s in sentences if s.strip())


def passages(text: str, *, title_path: str = "") -> list[str]:
    """The text's passages of about PASSAGE_WORDS words (whole lines or sentences, a short tail
    joined to the passage before it), each with `title_path` in front: what the dense branch
    embeds of a chunk (ingest/chunker.py) and the lexical check reads (passage_terms.py)."""
    pieces: list[str] = []
    for line in text.splitlines():
        long = len(line.split()) > PASSAGE_WORDS
        pieces.extend(split_sentences(line) if long else [" ".join(line.split())])
    found: list[str] = []
    current: list[str] = []
    for piece in filter(None, pieces):
        current.append(piece)
        if len(" ".join(current).split()) >= PASSAGE_WORDS:
            found.append(" ".join(current))
            current = []
    if current:
        if found and len(" ".join(current).split()) < PASSAGE_WORDS // 2:
            found[-1] = f"{found[-1]} {' '.join(current)}"
        else:
            found.append(" ".join(current))
    return [f"{title_path}: {p}" if title_path else p for p in found]


def table_rows(unit: TextUnit) -> list[TextUnit]:
    """The body rows of a table as units of their own, each cell named by its column's header:
    "| SAML | No | Yes |" under "| Feature | Starter | Scale |" reads "Feature: SAML; Starter:
    No; Scale: Yes", which makes sense without the table."""
    if unit.kind != "table":
        return []
    rows = [_cells(line) for line in unit.text.splitlines() if _TABLE_ROW.match(line)]
    rows = [row for row in rows if row and not all(_TABLE_RULE.match(c) for c in row)]
    if len(rows) < 2:
        return []
    header, body = rows[0], rows[1:]
    return [
        TextUnit(
            "row",
            "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, row, strict=False) if c),
            unit.position,
            n,
        )
        for n, row in enumerate(body, start=1)
    ]


def _cells(line: str) -> list[str]:
    return [" ".join(c.split()) for c in line.strip().strip("|").split("|")]


def split_units(text: str) -> list[TextUnit]:
    """Paragraph text becomes sentences; consecutive step, bullet or table lines stay one unit."""
    return list(_units(text, False))


def answer_units(text: str) -> list[TextUnit]:
    """`split_units`, with each short line that stands alone between sentences kept as a
    "label" (a menu name, an option, a heading a PDF lost): text extracted from a manual puts
    "Settings / Picture / Expert Settings" on lines of their own, and read as prose they would
    run into the sentence after them."""
    return list(_units(text, True))


def _is_label(line: str) -> bool:
    words = line.split()
    return (
        0 < len(words) <= _LABEL_WORDS
        and (line[:1].isupper() or line[:1].isdigit())
        and not line.rstrip().endswith((".", "!", "?", ":", ";", ","))
        and not _wrapped(words)
    )


def _label_may_follow(line: str) -> bool:
    """A label comes after a sentence's end, or after a short line that ended a sentence the
    page wrapped ("…darker than when it is" / "Off" / "Local Dimming")."""
    return line.endswith(_ENDS) or _is_label(line)


def _wrapped(words: list[str]) -> bool:
    """The line stops on a function word or an open bracket, so the sentence goes on in the
    next line. Written in capitals ("AV IN", "Auto Update : ON") it is a port or a setting's
    name instead."""
    last = words[-1]
    if last.endswith(("(", "[")):
        return True
    if len(words) == 1:
        return last.lower() in _FUNCTION_WORDS and not last.isupper()
    return last in _FUNCTION_WORDS


@lru_cache(maxsize=4096)
def _units(text: str, labels: bool) -> tuple[TextUnit, ...]:
    units: list[TextUnit] = []
    paragraph: list[str] = []
    block: list[str] = []
    block_kind = ""

    def flush_paragraph() -> None:
        # Lines join with a space, except that "Brightness" + ": Adjusts…" reads
        # "Brightness: Adjusts…" in answers.
        text = "".join(
            line if n == 0 or (labels and _GOES_ON.match(line)) else f" {line}"
            for n, line in enumerate(paragraph)
        )
        # A speaker's turn that ends in a question asks, all of it: 'From Elena: "Our check
        # fails for real events. Why?"' (kind "asked", for answers to skip).
        asks = labels and _SPEAKER.match(text) and text.rstrip("\"')] ").endswith("?")
        for sentence in split_sentences(text):
            units.append(TextUnit("asked" if asks else "sentence", sentence, len(units)))
        paragraph.clear()

    def flush_block() -> None:
        nonlocal block_kind
        if block:
            # "Choose when it's sent:" only makes sense with the list it introduces.
            if units and units[-1].kind == "sentence" and units[-1].text.endswith(":"):
                block.insert(0, units.pop().text)
            units.append(TextUnit(block_kind, "\n".join(block), len(units)))
        block.clear()
        block_kind = ""

    for raw in text.splitlines():
        line = raw.rstrip()
        kind = (
            "steps"
            if _STEP.match(line)
            else "list"
            if _BULLET.match(line)
            else "table"
            if _TABLE_ROW.match(line)
            else ""
        )
        if kind and block and line[:1].isspace():
            block.append(f"   {line.strip()}")  # a nested item belongs to the item above it
        elif kind:
            flush_paragraph()
            if block_kind and kind != block_kind:
                flush_block()
            block_kind = kind
            block.append(line.strip())
        elif block and line.startswith(("   ", "\t")) and line.strip():
            block[-1] = f"{block[-1]} {line.strip()}"  # continuation of a list item
        elif not line.strip() or _HEADING.match(line):
            flush_block()
            flush_paragraph()
        elif labels and _SPEAKER.match(line):
            flush_block()
            flush_paragraph()  # a new speaker's turn: "Daniel Okafor: You can see…"
            paragraph.append(line.strip())
        elif labels and _is_label(line) and (not paragraph or _label_may_follow(paragraph[-1])):
            flush_block()
            flush_paragraph()
            units.append(TextUnit("label", line.strip(), len(units)))
        elif (
            labels
            and not paragraph
            and units
            and units[-1].kind == "label"
            and _GOES_ON.match(line)
        ):
            # "Brightness" / ": Adjusts the screen brightness": the label opens this sentence.
            # After a comma it was a name inside a sentence that goes on: "To the right of" /
            # "Schedule Manager" / "Recordings" / ", you can see…" is one sentence.
            flush_block()
            label = units.pop().text
            if (
                not line.lstrip().startswith(":")
                and units
                and units[-1].kind == "sentence"
                and not units[-1].text.endswith(_ENDS)
            ):
                paragraph.append(units.pop().text)
            paragraph.extend([label, line.strip()])
        else:
            flush_block()
            paragraph.append(line.strip())
    flush_block()
    flush_paragraph()
    return tuple(units)


def word_pieces(text: str) -> list[str]:
    """Text in word-sized pieces, whitespace kept, so the pieces concatenate to the text."""
    return re.findall(r"\S+\s*|\s+", text)
