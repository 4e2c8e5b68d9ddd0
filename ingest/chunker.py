"""StructureChunker: sections into llama-index nodes that fit the embedder's token window.

Headings, step lists, bullet lists and tables stay whole where they fit; transcripts merge cues
into time windows that end at sentence boundaries; forum posts never merge with each other.
Each node is embedded with its title path in front ("Course > Module > Lesson > Heading"), and
a chunk longer than one passage also as its passages (`passages()`): MiniLM matches a question
to a passage of a few sentences better than to a whole chunk, so retrieval scores a chunk by
its best passage (see assistant/stores/payload.py, PASSAGES).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from assistant.text_units import passages, split_units
from ingest.documents import ParsedDocument, Section

# Bump when parsing or chunking changes, so re-ingest rebuilds documents made the old way.
CHUNKER_VERSION = "5"
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")
# Payload keys kept out of the embedded text: only the title path is embedded with the chunk.
_EMBED_KEYS = {"title_path"}


class Chunker(Protocol):
    """The seam IngestJob chunks with: `StructureChunker` here."""

    @property
    def signature(self) -> str:
        """Names how chunks are made: a document chunked another way is re-ingested."""
        ...

    def chunk(self, doc: ParsedDocument) -> list[TextNode]: ...

    def passages(self, node: TextNode) -> list[str]:
        """A chunk's passages, embedded beside it (none when it is one passage)."""
        ...


@dataclass(frozen=True)
class _Piece:
    """Text to pack, how it joins the text before it in the same chunk, and the lines a chunk
    that starts with it must repeat first (a table's header row and rule)."""

    text: str
    joint: str = "\n\n"
    header: str = ""


class StructureChunker:
    def __init__(
        self,
        count_tokens: Callable[[str], int],
        *,
        max_tokens: int = 256,
        window_seconds: float = 60.0,
    ) -> None:
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.window_seconds = window_seconds

    @property
    def signature(self) -> str:
        return f"structure-v{CHUNKER_VERSION}-{self.max_tokens}-{self.window_seconds:g}"

    def chunk(self, doc: ParsedDocument) -> list[TextNode]:
        pieces = (
            self._transcript_pieces(doc)
            if doc.source_type == "transcript"
            else self._section_pieces(doc)
        )
        nodes = []
        for index, (section, text, extra) in enumerate(pieces):
            title_path = " > ".join([doc.title, *section.heading_path])
            metadata: dict[str, Any] = {
                **doc.metadata,
                **section.meta,
                **extra,
                "doc_id": doc.doc_id,
                "document": doc.document,
                "source_type": doc.source_type,
                "title": doc.title,
                "title_path": title_path,
                "heading_path": section.heading_path,
                "url": section.url or doc.metadata.get("url"),
                "chunk_index": index,
            }
            node = TextNode(
                id_=f"{doc.doc_id}:{index}",
                text=text,
                metadata=metadata,
                excluded_embed_metadata_keys=[k for k in metadata if k not in _EMBED_KEYS],
                excluded_llm_metadata_keys=[k for k in metadata if k not in _EMBED_KEYS],
                metadata_template="{value}",
                text_template="{metadata_str}\n\n{content}",
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc.doc_id)
            nodes.append(node)
        return nodes

    @staticmethod
    def passages(node: TextNode) -> list[str]:
        """The chunk's passages (assistant/text_units.py), each with the title path in front;
        none when the chunk is one passage, as it is then its own."""
        found = passages(node.text, title_path=node.metadata.get("title_path", ""))
        return found if len(found) > 1 else []

    def _budget(self, doc: ParsedDocument, section: Section) -> int:
        prefix = " > ".join([doc.title, *section.heading_path])
        # Two newlines join prefix and text; keep a small margin for tokenizer joins.
        return self.max_tokens - self.count_tokens(prefix) - 4

    def _section_pieces(self, doc: ParsedDocument) -> Iterator[tuple[Section, str, dict[str, Any]]]:
        for section in doc.sections:
            for text in self._pack(section.text, self._budget(doc, section)):
                yield section, text, {}

    def _pack(self, text: str, budget: int) -> list[str]:
        """Greedy packing of blocks (paragraphs, lists, tables) into chunks within budget. The
        lines of a list or table cut into pieces stay on consecutive lines, and a chunk that
        starts inside a table starts with the table's header, so a row still says what its
        cells are."""
        chunks: list[str] = []
        current = ""
        used = 0
        for piece in self._blocks(text, budget):
            size = self.count_tokens(piece.text) - 2
            if current and used + size > budget:
                chunks.append(current)
                current, used = "", 0
                if piece.header:
                    current, used = piece.header, self.count_tokens(piece.header) - 1
            joint = piece.joint if current else ""
            current = f"{current}{joint}{piece.text}"
            used += size + 1
        if current:
            chunks.append(current)
        return chunks

    def _blocks(self, text: str, budget: int) -> Iterator["_Piece"]:
        """Paragraph blocks; one over budget is split into units, then lines, then words."""
        for block in re.split(r"\n\s*\n", text.strip()):
            block = block.strip()
            if not block:
                continue
            if self.count_tokens(block) - 2 <= budget:
                yield _Piece(block)
                continue
            cursor = 0
            for unit in split_units(block):
                span = _original(block, unit.text, cursor) if unit.kind == "sentence" else None
                if span is not None:
                    # The sentence as the page wrote it, joined as it was to the one before: a
                    # manual's menu path on lines of its own stays on them, for answers to
                    # read as a path (assistant/text_units.py, labels).
                    start, end = span
                    gap = block[cursor:start]
                    joint = "\n\n" if not cursor else "\n" if "\n" in gap else " "
                    cursor = end
                    if self.count_tokens(block[start:end]) - 2 <= budget:
                        yield _Piece(block[start:end], joint)
                        continue
                elif self.count_tokens(unit.text) - 2 <= budget:
                    yield _Piece(unit.text)
                    continue
                lines = unit.text.splitlines()
                header = "\n".join(lines[:2]) if unit.kind == "table" else ""
                for n, line in enumerate(lines):
                    if self.count_tokens(line) - 2 <= budget:
                        # A nested item keeps its indent; a row after the header its header.
                        yield _Piece(line.rstrip(), "\n" if n else "\n\n", header if n > 1 else "")
                    else:
                        yield from (_Piece(words) for words in self._split_words(line, budget))

    def _split_words(self, text: str, budget: int) -> Iterator[str]:
        words: list[str] = []
        for word in text.split():
            if words and self.count_tokens(" ".join([*words, word])) - 2 > budget:
                yield " ".join(words)
                words = []
            words.append(word)
        if words:
            yield " ".join(words)

    def _transcript_pieces(
        self, doc: ParsedDocument
    ) -> Iterator[tuple[Section, str, dict[str, Any]]]:
        """Merges cues into windows that close at a sentence end once they are long enough,
        and before they grow past twice the window or the token budget."""
        window: list[Section] = []
        used = 0
        budget = self._budget(doc, Section(""))

        def emit() -> tuple[Section, str, dict[str, Any]]:
            first, last = window[0], window[-1]
            lines: list[str] = []
            speaker = None
            for cue in window:
                cue_speaker = cue.meta.get("speaker")
                if cue_speaker and cue_speaker != speaker:
                    lines.append(f"{cue_speaker}: {cue.text}")
                    speaker = cue_speaker
                elif lines:
                    lines[-1] = f"{lines[-1]} {cue.text}"
                else:
                    lines.append(cue.text)
            text = "\n".join(lines)
            speakers = sorted({c.meta["speaker"] for c in window if c.meta.get("speaker")})
            extra = {
                "start_seconds": first.meta["start_seconds"],
                "end_seconds": last.meta["end_seconds"],
                "speakers": speakers,
                "cues": _cue_offsets(window, text),
            }
            return Section("", [], first.url, {}), text, extra

        for cue in doc.sections:
            size = self.count_tokens(cue.text) + 4  # room for a speaker label
            too_long = window and (
                cue.meta["end_seconds"] - window[0].meta["start_seconds"] > 2 * self.window_seconds
            )
            if window and (used + size > budget or too_long):
                yield emit()
                window, used = [], 0
            window.append(cue)
            used += size
            span = cue.meta["end_seconds"] - window[0].meta["start_seconds"]
            if span >= self.window_seconds and _SENTENCE_END.search(cue.text):
                yield emit()
                window, used = [], 0
        if window:
            yield emit()


def _original(block: str, sentence: str, cursor: int) -> tuple[int, int] | None:
    """Where `sentence` (its words joined by single spaces) is in `block`, from `cursor` on."""
    words = sentence.split()
    if not words:
        return None
    found = re.compile(r"\s+".join(map(re.escape, words))).search(block, cursor)
    return found.span() if found else None


def _cue_offsets(cues: list[Section], text: str) -> list[list[Any]]:
    """[offset in `text`, start second, link] of each cue, so a citation of a passage can
    open the video where that passage is spoken rather than where the chunk starts."""
    offsets: list[list[Any]] = []
    at = 0
    for cue in cues:
        found = text.find(cue.text, at)
        if found < 0:
            continue
        at = found + len(cue.text)
        line_start = text.rfind("\n", 0, found) + 1
        if text[line_start:found] == f"{cue.meta.get('speaker')}: ":  # its speaker label
            found = line_start
        offsets.append([found, cue.meta["start_seconds"], cue.url])
    return offsets
