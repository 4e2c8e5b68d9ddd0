"""The query planner both Qdrant stores share: mode, fusion branches, depth and filter tree."""

import pytest
from llama_index.core.vector_stores import types as vs

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import (
    PASSAGE_HNSW_EF,
    PREFETCH_DEPTH,
    MissingAudienceFilter,
    MissingTenantFilter,
    audience_filters,
)
from assistant.stores.payload import CHUNK, DENSE, PASSAGES, SPARSE, SparseVector
from assistant.stores.query_plan import (
    Branch,
    Fused,
    Group,
    IsEmpty,
    Match,
    MatchAny,
    MatchExcept,
    Nearest,
    caller_filter,
    plan_query,
)

BM25 = Bm25Encoder()
VECTOR = [0.6, 0.8, 0.0]
TEXT = "reset the picture settings"


def query(
    mode: vs.VectorStoreQueryMode,
    *,
    vector: list[float] | None = VECTOR,
    text: str | None = TEXT,
    alpha: float | None = None,
    top_k: int = 8,
    filters: vs.MetadataFilters | None = None,
) -> vs.VectorStoreQuery:
    return vs.VectorStoreQuery(
        query_embedding=vector,
        query_str=text,
        similarity_top_k=top_k,
        mode=mode,
        alpha=alpha,
        filters=filters or audience_filters(["public"]),
    )


def bm25_vector(text: str) -> SparseVector:
    indices, values = BM25.query(text)
    return SparseVector(indices, values)


def test_hybrid_fuses_the_closest_passage_and_bm25_at_the_fixed_depth() -> None:
    plan = plan_query(query(vs.VectorStoreQueryMode.HYBRID), bm25=BM25, chunks_only=False)
    passage = Branch(Nearest(PASSAGES, [VECTOR]), PREFETCH_DEPTH, hnsw_ef=PASSAGE_HNSW_EF)
    bm25 = Branch(Nearest(SPARSE, bm25_vector(TEXT)), PREFETCH_DEPTH)
    assert plan.search == Fused((passage, bm25))
    assert plan.limit == 8


def test_alpha_becomes_copies_of_a_branch_passages_first() -> None:
    plan = plan_query(
        query(vs.VectorStoreQueryMode.HYBRID, alpha=0.25), bm25=BM25, chunks_only=False
    )
    assert isinstance(plan.search, Fused)
    assert [b.nearest.using for b in plan.search.branches] == [PASSAGES, SPARSE, SPARSE, SPARSE]
    dense_only = plan_query(
        query(vs.VectorStoreQueryMode.HYBRID, alpha=1.0), bm25=BM25, chunks_only=False
    )
    assert isinstance(dense_only.search, Fused)
    assert [b.nearest.using for b in dense_only.search.branches] == [PASSAGES]


def test_branches_reach_deeper_only_when_two_could_not_fill_the_limit() -> None:
    plan = plan_query(
        query(vs.VectorStoreQueryMode.HYBRID, top_k=250), bm25=BM25, chunks_only=False
    )
    assert isinstance(plan.search, Fused)
    assert {b.limit for b in plan.search.branches} == {125}
    assert plan.limit == 250


def test_hybrid_without_a_text_searches_the_chunk_vector() -> None:
    plan = plan_query(
        query(vs.VectorStoreQueryMode.HYBRID, text=None), bm25=BM25, chunks_only=False
    )
    assert plan.search == Nearest(DENSE, VECTOR)


def test_hybrid_without_a_vector_is_refused_like_a_dense_query() -> None:
    with pytest.raises(ValueError, match="needs query_embedding"):
        plan_query(query(vs.VectorStoreQueryMode.HYBRID, vector=None), bm25=BM25, chunks_only=False)


@pytest.mark.parametrize(
    "mode", [vs.VectorStoreQueryMode.SPARSE, vs.VectorStoreQueryMode.TEXT_SEARCH]
)
def test_sparse_modes_search_bm25_only(mode: vs.VectorStoreQueryMode) -> None:
    plan = plan_query(query(mode), bm25=BM25, chunks_only=False)
    assert plan.search == Nearest(SPARSE, bm25_vector(TEXT))
    with pytest.raises(ValueError, match="needs query_str"):
        plan_query(query(mode, text=None), bm25=BM25, chunks_only=False)


def test_default_mode_searches_the_chunk_vector() -> None:
    plan = plan_query(query(vs.VectorStoreQueryMode.DEFAULT), bm25=BM25, chunks_only=False)
    assert plan.search == Nearest(DENSE, VECTOR)
    with pytest.raises(ValueError, match="needs query_embedding"):
        plan_query(
            query(vs.VectorStoreQueryMode.DEFAULT, vector=None), bm25=BM25, chunks_only=False
        )


def test_the_caller_filter_becomes_audience_and_tenant_conditions() -> None:
    group = caller_filter(audience_filters(["public", "partner"], tenant="acme"), chunks_only=False)
    tenant = Group("should", (Match("tenant", "acme"), IsEmpty("tenant")))
    assert group == Group("must", (MatchAny("audience", ["public", "partner"]), tenant))


def test_chunks_only_ands_the_kind_in_around_the_caller_filter() -> None:
    filters = audience_filters(["public"])
    assert caller_filter(filters, chunks_only=True) == Group(
        "must", (Match("kind", CHUNK), caller_filter(filters, chunks_only=False))
    )
    plan = plan_query(
        query(vs.VectorStoreQueryMode.DEFAULT, filters=filters), bm25=BM25, chunks_only=True
    )
    assert plan.filter == caller_filter(filters, chunks_only=True)


def test_negations_and_groups_keep_their_meaning() -> None:
    extra = vs.MetadataFilters(
        filters=[
            vs.MetadataFilter(key="doc_id", value="runbook", operator=vs.FilterOperator.NE),
            vs.MetadataFilter(key="source_type", value=["pdf"], operator=vs.FilterOperator.NIN),
        ],
        condition=vs.FilterCondition.NOT,
    )
    group = caller_filter(audience_filters(["public"], extra), chunks_only=False)
    assert group.conditions[-1] == Group(
        "must_not",
        (Group("must_not", (Match("doc_id", "runbook"),)), MatchExcept("source_type", ["pdf"])),
    )


def test_unsupported_operators_and_values_are_refused() -> None:
    newer = vs.MetadataFilter(key="updated_at", value="2024-01-01", operator=vs.FilterOperator.GT)
    with pytest.raises(ValueError, match="not supported"):
        caller_filter(audience_filters(["public"], newer), chunks_only=False)
    listed = vs.MetadataFilter(key="doc_id", value=["a", "b"], operator=vs.FilterOperator.EQ)
    with pytest.raises(ValueError, match="must be a string, integer or boolean"):
        caller_filter(audience_filters(["public"], listed), chunks_only=False)


def test_queries_without_the_callers_audience_or_tenant_are_refused() -> None:
    tenant_only = vs.MetadataFilters(filters=[vs.MetadataFilter(key="tenant", value="acme")])
    with pytest.raises(MissingAudienceFilter):
        plan_query(
            query(vs.VectorStoreQueryMode.HYBRID, filters=tenant_only), bm25=BM25, chunks_only=False
        )
    audience_only = vs.MetadataFilters(
        filters=[vs.MetadataFilter(key="audience", value=["public"], operator=vs.FilterOperator.IN)]
    )
    with pytest.raises(MissingTenantFilter):
        caller_filter(audience_only, chunks_only=True)
