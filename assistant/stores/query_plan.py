"""What a store query asks Qdrant for, decided once for every Qdrant-backed store.

`plan_query` turns a llama-index query into a `QueryPlan`: which named vector to search (dense,
BM25 or both fused), how deep each fused branch reaches, and the caller's filters as a tree of
plain conditions. The plan holds no client types: EdgeStore and QdrantServerStore each translate
it into their own client's request, so both stores rank alike by construction.
"""

from dataclasses import dataclass
from typing import Literal

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import (
    PASSAGE_HNSW_EF,
    fusion_copies,
    prefetch_depth,
    require_caller_filters,
)
from assistant.stores.payload import CHUNK, DENSE, PASSAGES, SPARSE, SparseVector, filter_scalar

# The values of an IN, ANY or NIN filter, as both engines take them.
ListValues = list[str] | list[int]


@dataclass(frozen=True)
class Match:
    """The payload field `key` holds exactly `value`."""

    key: str
    value: str | int | bool


@dataclass(frozen=True)
class MatchAny:
    """The payload field `key` holds one of `values`."""

    key: str
    values: ListValues


@dataclass(frozen=True)
class MatchExcept:
    """The payload field `key` holds none of `values`."""

    key: str
    values: ListValues


@dataclass(frozen=True)
class IsEmpty:
    """The payload field `key` is missing, null or []."""

    key: str


@dataclass(frozen=True)
class Group:
    """Conditions combined as Qdrant combines a filter's clause: all of them (`must`), at least
    one (`should`) or none (`must_not`)."""

    clause: Literal["must", "should", "must_not"]
    conditions: "tuple[Condition, ...]"


Condition = Match | MatchAny | MatchExcept | IsEmpty | Group


@dataclass(frozen=True)
class Nearest:
    """The points closest to `vector` in the named vector `using` (DENSE, PASSAGES or SPARSE).
    A PASSAGES query is a multivector: a list holding the one question vector."""

    using: str
    vector: list[float] | list[list[float]] | SparseVector


@dataclass(frozen=True)
class Branch:
    """One search whose best `limit` candidates are handed to fusion; `hnsw_ef` widens its
    HNSW candidate list (None: the engine's default)."""

    nearest: Nearest
    limit: int
    hnsw_ef: int | None = None


@dataclass(frozen=True)
class Fused:
    """The candidates of `branches` fused by DBSF. A branch listed twice counts twice: Qdrant's
    DBSF has no weights (see fusion_copies)."""

    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class QueryPlan:
    """The best `limit` points of `search` among the points that pass `filter`; a fused
    search filters each branch too."""

    search: Nearest | Fused
    filter: Group
    limit: int


def plan_query(query: VectorStoreQuery, *, bm25: Bm25Encoder, chunks_only: bool) -> QueryPlan:
    """The plan for a llama-index query: hybrid (passages and BM25 fused) when the mode asks for
    it and the query has both a vector and a text, BM25 for SPARSE and TEXT_SEARCH, the chunk's
    dense vector otherwise.

    Args:
        query: Its filters must carry the caller's audience and tenant (raises
            MissingAudienceFilter or MissingTenantFilter otherwise).
        bm25: Encodes `query.query_str` as the BM25 query vector.
        chunks_only: AND a kind=chunk condition into the filter (see `caller_filter`).

    Raises:
        ValueError: The mode needs a vector or a text the query lacks, or a filter uses an
            operator the stores do not support.
    """
    flt = caller_filter(query.filters, chunks_only=chunks_only)
    limit = query.similarity_top_k
    dense = list(query.query_embedding) if query.query_embedding is not None else None
    sparse = None
    if query.query_str:
        indices, values = bm25.query(query.query_str)
        sparse = Nearest(SPARSE, SparseVector(indices, values))

    search: Nearest | Fused
    mode = query.mode
    if mode == VectorStoreQueryMode.HYBRID and dense is not None and sparse is not None:
        depth = prefetch_depth(limit)
        passage_copies, sparse_copies = fusion_copies(query.alpha)
        closest_passage = Branch(Nearest(PASSAGES, [dense]), depth, hnsw_ef=PASSAGE_HNSW_EF)
        search = Fused(
            (closest_passage,) * passage_copies + (Branch(sparse, depth),) * sparse_copies
        )
    elif mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH):
        if sparse is None:
            raise ValueError("A sparse query needs query_str.")
        search = sparse
    else:
        if dense is None:
            raise ValueError("A dense query needs query_embedding.")
        search = Nearest(DENSE, dense)
    return QueryPlan(search=search, filter=flt, limit=limit)


def caller_filter(filters: MetadataFilters | None, *, chunks_only: bool) -> Group:
    """The caller's filters as conditions; they must carry the caller's audience and tenant.

    `chunks_only` ANDs kind=chunk in, to leave out document manifests. A vector search never
    meets a manifest (manifests carry no vectors), so a store may leave the condition out of
    its queries where it costs time.
    """
    group = _group(require_caller_filters(filters))
    if chunks_only:
        return Group("must", (Match("kind", CHUNK), group))
    return group


def _group(filters: MetadataFilters) -> Group:
    conditions = tuple(_condition(f) for f in filters.filters)
    if filters.condition == FilterCondition.OR:
        return Group("should", conditions)
    if filters.condition == FilterCondition.NOT:
        return Group("must_not", conditions)
    return Group("must", conditions)


def _condition(item: MetadataFilter | MetadataFilters) -> Condition:
    if isinstance(item, MetadataFilters):
        return _group(item)
    if item.operator == FilterOperator.IS_EMPTY:
        return IsEmpty(item.key)
    if item.operator == FilterOperator.EQ:
        return Match(item.key, filter_scalar(item.value))
    if item.operator in (FilterOperator.IN, FilterOperator.ANY):
        return MatchAny(item.key, list_values(item.value))
    if item.operator == FilterOperator.NIN:
        return MatchExcept(item.key, list_values(item.value))
    if item.operator == FilterOperator.NE:
        return Group("must_not", (Match(item.key, filter_scalar(item.value)),))
    raise ValueError(
        f"Filter operator {item.operator} is not supported by the Qdrant stores (EdgeStore, "
        "QdrantServerStore): use EQ, NE, IN, ANY, NIN or IS_EMPTY."
    )


def list_values(value: object) -> ListValues:
    """An IN, ANY or NIN filter's values; anything else is refused for both stores alike (a
    plain string would otherwise be read as its letters)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]
    raise ValueError(f"Filter value {value!r} must be a list of strings or of integers.")
