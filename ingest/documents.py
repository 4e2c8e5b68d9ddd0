"""What loaders produce: a document with its metadata and its structural sections."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    """A structural unit that keeps its place: a heading section, a transcript cue, a forum post.

    `heading_path` is the path inside the document (the title is not repeated); `url` is the
    deep link that opens exactly this place; `meta` holds kind-specific fields such as
    `start_seconds`, `end_seconds`, `speaker`, `author`, `post_number`, `accepted`, `like_count`.
    """

    text: str
    heading_path: list[str] = field(default_factory=list)
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedDocument:
    doc_id: str
    document: str  # path relative to the ingested folder, shown in citations
    source_type: str
    metadata: dict[str, Any]  # title, audience, url, updated_at, reviewed, product_version, tags
    sections: list[Section]
    content_hash: str

    @property
    def title(self) -> str:
        return str(self.metadata.get("title") or self.document)


class LoadError(Exception):
    """A file that cannot be indexed; the message says why and is shown in the ingest summary."""
