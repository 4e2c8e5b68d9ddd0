"""The store seam: llama-index's vector-store protocol plus what incremental ingest needs.

Every implementation is a llama-index `BasePydanticVectorStore`, so llama-index retrievers and
indexes can use it, and adds document manifests (one per ingested document, written after its
chunks) that make re-ingest incremental and crash-safe.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)


class StoreError(RuntimeError):
    """The store itself failed (unreachable, corrupt, out of space): not a per-document problem."""


class MissingAudienceFilter(ValueError):
    """A query without an audience filter: refused so no code path can read across audiences."""


@dataclass(frozen=True)
class DocumentManifest:
    """Written after all of a document's chunks: its presence means the document is complete."""

    doc_id: str
    document: str
    source_root: str
    content_hash: str
    chunk_count: int


class Store(Protocol):
    def add(self, nodes: Sequence[BaseNode]) -> list[str]: ...

    def delete(self, ref_doc_id: str) -> None: ...

    def query(self, query: VectorStoreQuery) -> VectorStoreQueryResult: ...

    def put_manifest(self, manifest: DocumentManifest) -> None: ...

    def manifests(self) -> dict[str, DocumentManifest]: ...

    def chunk_doc_ids(self) -> set[str]:
        """Document ids that have chunks, complete or not (to find orphans)."""
        ...

    def count(self) -> int:
        """Number of chunks."""
        ...

    def optimize(self) -> None:
        """Builds pending search indexes; blocks until done (a no-op where the server does it)."""
        ...

    def close(self) -> None: ...


def audience_filters(audiences: Sequence[str], *extra: MetadataFilter) -> MetadataFilters:
    """The filter every retrieval query carries."""
    return MetadataFilters(
        filters=[
            MetadataFilter(key="audience", value=list(audiences), operator=FilterOperator.IN),
            *extra,
        ]
    )


def require_audience_filter(filters: MetadataFilters | None) -> MetadataFilters:
    """Returns `filters` if its top level ANDs an audience condition in; raises otherwise."""
    if (
        filters is None
        or filters.condition not in (None, FilterCondition.AND)
        or not any(isinstance(f, MetadataFilter) and f.key == "audience" for f in filters.filters)
    ):
        raise MissingAudienceFilter(
            "Store queries must carry an audience filter; build them with audience_filters()."
        )
    return filters
