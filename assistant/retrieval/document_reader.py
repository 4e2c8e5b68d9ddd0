"""A whole document read back from the store by its id, path or URL, as one caller may read it:
the audience and tenant conditions sit inside the store query, as for every search."""

from collections.abc import Sequence
from urllib.parse import urldefrag

from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    MetadataFilter,
    MetadataFilters,
)
from pydantic import BaseModel, Field

from assistant.stores import Store, audience_filters

# Chunks read for one document: far above any document's count (the 2,000-page Samsung manual
# has under 1,000), it only bounds a lookup that matches something unexpected.
MAX_CHUNKS = 5000


class DocumentSection(BaseModel):
    heading: str = Field(description="Where the section sits: title > heading > subheading.")
    url: str | None = Field(default=None, description="The link that opens this section.")
    start_seconds: float | None = Field(
        default=None, description="Transcripts: where the section starts in the video."
    )
    author: str | None = Field(default=None, description="Forum posts: who wrote the post.")
    reviewed: bool = True


class DocumentText(BaseModel):
    document: str = Field(description="The document's path, as citations name it.")
    doc_id: str
    title: str
    source_type: str
    audience: str
    url: str | None = Field(default=None, description="The document's link (no section anchor).")
    updated_at: str | None = None
    product_version: str | None = None
    reviewed: bool = Field(description="True when every section is reviewed.")
    tags: list[str] = Field(default_factory=list)
    text: str = Field(description="The document's text, section by section, headings included.")
    truncated: bool = Field(description="True when the text was cut at `max_chars`.")
    sections: list[DocumentSection]


def read_document(
    store: Store,
    *,
    audiences: Sequence[str],
    tenant: str | None,
    document: str | None = None,
    url: str | None = None,
    max_chars: int = 20_000,
) -> DocumentText | None:
    """The document whose doc id or path is `document`, or that a citation's `url` links to;
    None when the caller may read no such document."""
    if (document is None) == (url is None):
        raise ValueError("Give either a document id or path, or a URL.")
    if document is not None:
        match: MetadataFilter | MetadataFilters = MetadataFilters(
            filters=[
                MetadataFilter(key="doc_id", value=document),
                MetadataFilter(key="document", value=document),
            ],
            condition=FilterCondition.OR,
        )
        doc_id = _first_doc_id(store, match, audiences=audiences, tenant=tenant)
    else:
        assert url is not None
        doc_id = None
        for candidate in dict.fromkeys([url, urldefrag(url).url]):
            match = MetadataFilter(key="url", value=candidate)
            doc_id = _first_doc_id(store, match, audiences=audiences, tenant=tenant)
            if doc_id:
                break
    if not doc_id:
        return None
    chunks = store.chunks(
        audience_filters(audiences, MetadataFilter(key="doc_id", value=doc_id), tenant=tenant),
        limit=MAX_CHUNKS,
    )
    return _assemble(sorted(chunks, key=_position), max_chars=max_chars) if chunks else None


def _first_doc_id(
    store: Store,
    match: MetadataFilter | MetadataFilters,
    *,
    audiences: Sequence[str],
    tenant: str | None,
) -> str | None:
    """The smallest matching doc id, so the same lookup always finds the same document (two
    folders may each hold a `README.md`)."""
    found = store.chunks(audience_filters(audiences, match, tenant=tenant), limit=MAX_CHUNKS)
    return min((str(n.metadata.get("doc_id", "")) for n in found), default=None)


def _position(node: TextNode) -> int:
    return int(node.metadata.get("chunk_index", 0))


def _assemble(chunks: list[TextNode], *, max_chars: int) -> DocumentText:
    meta = chunks[0].metadata
    parts: list[str] = []
    sections: list[DocumentSection] = []
    for node in chunks:
        heading = str(node.metadata.get("title_path") or meta.get("title", ""))
        start = node.metadata.get("start_seconds")
        if not sections or sections[-1].heading != heading:
            sections.append(
                DocumentSection(
                    heading=heading,
                    url=node.metadata.get("url"),
                    start_seconds=start,
                    author=node.metadata.get("author"),
                    reviewed=bool(node.metadata.get("reviewed", True)),
                )
            )
            parts.append(f"## {heading}")
        parts.append(node.text.strip())
    text = "\n\n".join(parts)
    first_url = meta.get("url")
    tags = meta.get("tags")
    return DocumentText(
        document=str(meta.get("document", "")),
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        source_type=str(meta.get("source_type", "")),
        audience=str(meta.get("audience", "")),
        url=urldefrag(str(first_url)).url if first_url else None,
        updated_at=str(meta["updated_at"]) if meta.get("updated_at") else None,
        product_version=str(meta["product_version"]) if meta.get("product_version") else None,
        reviewed=all(section.reviewed for section in sections),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        text=text[:max_chars],
        truncated=len(text) > max_chars,
        sections=sections,
    )
