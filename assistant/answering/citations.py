"""The sources an answer cites, as the reader gets them: each `[n]` marker's Citation (for a
transcript, the link and second where the quoted words are spoken) and the answer as a support
agent pastes it into a ticket."""

import re
from typing import Any

from assistant.text_units import content_terms
from assistant.types import Answer, Citation, Draft, ScoredChunk

_SNIPPET_CHARS = 240
_MARKER_GROUP = re.compile(r"(?:\s*\[\d+\])+")
# Words in a row that show a passage quotes a transcript chunk (rather than just sharing words).
_QUOTED_RUN = 6
_WORD = re.compile(r"[^\W_]+")


def ticket_text(answer: Answer) -> str:
    """The answer as a support agent pastes it: plain text, sources as full URLs."""
    lines = [answer.answer, "", "Sources:"]
    lines += [
        f"[{c.id}] {c.title.split(' > ')[0]}: {c.url or c.document}" for c in answer.citations
    ]
    return "\n".join(lines)


def citations(draft: Draft, *, question: str = "") -> list[Citation]:
    return [
        citation(n, chunk, cited_passages(draft.text, n), question=question)
        for n, chunk in enumerate(draft.sources, start=1)
    ]


def citation(
    number: int, chunk: ScoredChunk, passages: list[str] | None = None, *, question: str = ""
) -> Citation:
    """Source `number` of an answer; for a transcript, the link and second are those of the
    cue where the one of the `passages` citing it that shares the most words with `question`
    (the first of those) is spoken; the chunk's start when none is quoted from the chunk."""
    meta = chunk.metadata
    offset, start_seconds, url = _spoken_at(chunk, _closest_first(passages or [], question))
    text = " ".join(chunk.text[offset:].split())
    snippet = text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"
    return Citation(
        id=number,
        title=str(meta.get("title_path") or chunk.title),
        source_type=str(meta.get("source_type", "kb")),
        url=url,
        document=chunk.document,
        snippet=snippet,
        audience=str(meta.get("audience", "public")),
        reviewed=bool(meta.get("reviewed", True)),
        start_seconds=start_seconds,
        author=meta.get("author"),
        product_version=meta.get("product_version"),
    )


def cited_passages(text: str, number: int) -> list[str]:
    """The parts of an answer that cite source `number`: the text before each marker group
    that holds `[number]`, back to the previous marker group."""
    passages = []
    start = 0
    for group in _MARKER_GROUP.finditer(text):
        if str(number) in re.findall(r"\d+", group.group()):
            passages.append(text[start : group.start()].strip())
        start = group.end()
    return passages


def _closest_first(passages: list[str], question: str) -> list[str]:
    """Passages by the question words they hold, most first (ties keep their order): an
    answer may quote a chunk's opening line for context before the line that answers."""
    terms = content_terms(question)
    return sorted(passages, key=lambda passage: -len(content_terms(passage) & terms))


def _spoken_at(chunk: ScoredChunk, passages: list[str]) -> tuple[int, Any, str | None]:
    """(offset in the chunk, start second, link) of the cue where the first passage found in
    the chunk begins; the chunk's own start and link when none is (or it has no cues)."""
    meta = chunk.metadata
    cues: list[list[Any]] = meta.get("cues") or []
    for passage in passages if cues else []:
        found = quoted_at(passage, chunk.text)
        if found is not None:
            before = [cue for cue in cues if cue[0] <= found] or cues[:1]
            offset, second, url = max(before, key=lambda cue: int(cue[0]))
            return int(offset), second, url
    return 0, meta.get("start_seconds"), meta.get("url")


def quoted_at(passage: str, text: str) -> int | None:
    """Where in `text` the words `passage` quotes begin: its first run of `_QUOTED_RUN` words
    (all of them when it is shorter) that `text` has in that order. Case, punctuation and
    markup do not count, so a speaker label, "**", quotation marks or a lead-in ("Daniel
    says that") do not hide a quote. None when nothing is quoted from `text`."""
    words = [w.lower() for w in _WORD.findall(passage)]
    if not words:
        return None
    spans = [(m.group().lower(), m.start()) for m in _WORD.finditer(text)]
    run = min(_QUOTED_RUN, len(words))
    starts: dict[tuple[str, ...], int] = {}
    for i in range(len(spans) - run + 1):
        starts.setdefault(tuple(word for word, _ in spans[i : i + run]), spans[i][1])
    for j in range(len(words) - run + 1):
        found = starts.get(tuple(words[j : j + run]))
        if found is not None:
            return found
    return None
