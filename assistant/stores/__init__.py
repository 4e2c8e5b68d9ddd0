"""The store seam: llama-index's vector-store protocol plus what incremental ingest needs.

Every implementation is a llama-index `BasePydanticVectorStore`, so llama-index retrievers and
indexes can use it, and adds document manifests (one per ingested document, written after its
chunks) that make re-ingest incremental and crash-safe.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from llama_index.core.schema import BaseNode, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)

# The payload field that says which tenant a chunk belongs to; chunks without it are shared.
TENANT = "tenant"


class StoreError(RuntimeError):
    """The store itself failed (unreachable, corrupt, out of space): not a per-document problem."""


class StoreInUse(StoreError):
    """The embedded store is open in another process, which holds it until it exits."""


class MissingAudienceFilter(ValueError):
    """A query without an audience filter: refused so no code path can read across audiences."""


class MissingTenantFilter(ValueError):
    """A query without a tenant filter: refused so no code path can read across tenants."""


@dataclass(frozen=True)
class DocumentManifest:
    """Written after all of a document's chunks: its presence means the document is complete."""

    doc_id: str
    document: str
    source_root: str
    content_hash: str
    chunk_count: int


class Store(Protocol):
    def add(
        self, nodes: Sequence[BaseNode], *, passages: Mapping[str, list[list[float]]] | None = None
    ) -> list[str]:
        """Writes embedded nodes; `passages` maps a node id to its passages' vectors (a node
        without any is its own one passage)."""
        ...

    def delete(self, ref_doc_id: str) -> None: ...

    def query(self, query: VectorStoreQuery) -> VectorStoreQueryResult: ...

    def chunks(self, filters: MetadataFilters, *, limit: int) -> list[TextNode]:
        """Up to `limit` chunks that match `filters`, without vectors, in no set order (a
        document's chunks by id or URL). `filters` must carry the caller's audience and tenant
        conditions, as a query's do (build them with `audience_filters()`)."""
        ...

    def put_manifest(self, manifest: DocumentManifest) -> None: ...

    def manifests(self) -> dict[str, DocumentManifest]: ...

    def chunk_doc_ids(self) -> set[str]:
        """Document ids that have chunks, complete or not (to find orphans)."""
        ...

    def count(self) -> int:
        """Number of chunks."""
        ...

    @property
    def writes(self) -> int:
        """Writes made through this object so far: cached answers are kept only while it
        stays the same (assistant/answering/answer_cache.py)."""
        ...

    def optimize(self) -> None:
        """Builds pending search indexes; blocks until done (a no-op where the server does it)."""
        ...

    def close(self) -> None: ...


PREFETCH_DEPTH = 96  # the depth the refusal threshold was calibrated at (benchmarks/dev_sets.py)
MAX_FUSION_COPIES = 4
# HNSW candidate list of the passage branch: at 100,000 chunks the engine's default (~100)
# misses many of the exact filtered top passages, and 512 finds most of them for a small cost in
# latency (benchmarks/latency.py). Small stores search exactly.
PASSAGE_HNSW_EF = 512


def prefetch_depth(limit: int) -> int:
    """Candidates each branch (dense, BM25) hands to fusion: a fixed depth, not a multiple of
    `limit`. DBSF normalises each branch by the spread of its candidates, so the depth moves
    the top results; with a fixed one, asking for 40 results (benchmarks/retrieval.py) ranks
    the first 8 exactly as asking for 8 (a chat answer) does. Deeper only when two branches
    of that depth could not fill `limit`."""
    return max(PREFETCH_DEPTH, -(-limit // 2))


def fusion_copies(alpha: float | None) -> tuple[int, int]:
    """How many times a hybrid query hands each branch's candidates to DBSF fusion: (dense,
    BM25). Qdrant's DBSF has no weights, so llama-index's `alpha` (1 dense only, 0 BM25 only,
    None or 0.5 even) becomes copies of a branch: 0.25 counts BM25 three times."""
    if alpha is None:
        return 1, 1
    if alpha >= 1 or alpha <= 0:
        return int(alpha >= 1), int(alpha <= 0)
    if alpha >= 0.5:
        return min(MAX_FUSION_COPIES, round(alpha / (1 - alpha))), 1
    return 1, min(MAX_FUSION_COPIES, round((1 - alpha) / alpha))


def audience_filters(
    audiences: Sequence[str], *extra: MetadataFilter | MetadataFilters, tenant: str | None = None
) -> MetadataFilters:
    """The filter every retrieval query carries: the caller's audiences and tenant, ANDed with
    any `extra` conditions. Without a tenant only shared content (no `tenant`) is readable."""
    return MetadataFilters(
        filters=[
            MetadataFilter(key="audience", value=list(audiences), operator=FilterOperator.IN),
            tenant_filter(tenant),
            *extra,
        ]
    )


def tenant_filter(tenant: str | None) -> MetadataFilters:
    """Shared content (no `tenant` in the payload), plus the tenant's own when there is one.

    Both stores translate IS_EMPTY to Qdrant's `is_empty`, so content ingested before tenants
    existed stays shared without re-indexing.
    """
    shared = MetadataFilter(key=TENANT, value=None, operator=FilterOperator.IS_EMPTY)
    if tenant is None:
        return MetadataFilters(filters=[shared])
    own = MetadataFilter(key=TENANT, value=tenant, operator=FilterOperator.EQ)
    return MetadataFilters(filters=[own, shared], condition=FilterCondition.OR)


def require_caller_filters(filters: MetadataFilters | None) -> MetadataFilters:
    """Returns `filters` if its top level ANDs an audience and a tenant condition in; raises
    MissingAudienceFilter or MissingTenantFilter otherwise."""
    if (
        filters is None
        or filters.condition not in (None, FilterCondition.AND)
        or not any(isinstance(f, MetadataFilter) and f.key == "audience" for f in filters.filters)
    ):
        raise MissingAudienceFilter(
            "Store queries must carry an audience filter; build them with audience_filters()."
        )
    if not any(_is_tenant_condition(f) for f in filters.filters):
        raise MissingTenantFilter(
            "Store queries must carry a tenant filter; build them with audience_filters()."
        )
    return filters


def _is_tenant_condition(item: MetadataFilter | MetadataFilters) -> bool:
    """A condition that names tenants by equality or emptiness only (`tenant != B` would read
    every other tenant): one filter, or an AND/OR group of them."""
    if isinstance(item, MetadataFilter):
        return item.key == TENANT and item.operator in (FilterOperator.EQ, FilterOperator.IS_EMPTY)
    return (
        bool(item.filters)
        and item.condition != FilterCondition.NOT
        and all(isinstance(f, MetadataFilter) and _is_tenant_condition(f) for f in item.filters)
    )
