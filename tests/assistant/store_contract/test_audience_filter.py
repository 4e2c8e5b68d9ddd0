"""Store contract: a query reads only the audiences it names, in every query mode, and a query
that names none is refused."""

import pytest
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQueryMode,
)

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import MissingAudienceFilter, Store
from tests.assistant.store_contract.contract import ALL, QUERY_MODES, doc_ids, make_query


@pytest.mark.parametrize("mode", QUERY_MODES)
def test_audience_filter_is_applied_inside_every_query_mode(
    filled: Store, fake_embedder: FakeEmbedder, mode: VectorStoreQueryMode
) -> None:
    text = "password override PELICAN"
    public = filled.query(make_query(fake_embedder, text, ["public"], mode))
    assert public.nodes and {n.metadata["audience"] for n in public.nodes} == {"public"}
    partner = filled.query(make_query(fake_embedder, text, ["public", "partner"], mode))
    assert partner.nodes and "internal" not in {n.metadata["audience"] for n in partner.nodes}
    everyone = filled.query(make_query(fake_embedder, text, ALL, mode))
    assert (everyone.nodes or [])[0].metadata["doc_id"] == "runbook"


@pytest.mark.parametrize(
    "filters",
    [
        None,
        MetadataFilters(filters=[]),
        MetadataFilters(filters=[MetadataFilter(key="doc_id", value="reset")]),
        MetadataFilters(
            filters=[
                MetadataFilter(key="audience", value=["public"], operator=FilterOperator.IN),
                MetadataFilter(key="doc_id", value="reset"),
            ],
            condition=FilterCondition.OR,
        ),
    ],
    ids=["none", "empty", "other-key", "or-ed"],
)
@pytest.mark.parametrize("mode", QUERY_MODES)
def test_query_without_audience_filter_is_refused(
    filled: Store,
    fake_embedder: FakeEmbedder,
    filters: MetadataFilters | None,
    mode: VectorStoreQueryMode,
) -> None:
    request = make_query(fake_embedder, "password", ["public"], mode)
    request.filters = filters
    with pytest.raises(MissingAudienceFilter):
        filled.query(request)


def test_extra_filters_never_widen_the_audience(filled: Store, fake_embedder: FakeEmbedder) -> None:
    widen = MetadataFilters(
        filters=[
            MetadataFilter(key="audience", value="internal"),
            MetadataFilter(key="doc_id", value="runbook"),
        ],
        condition=FilterCondition.OR,
    )
    request = make_query(fake_embedder, "password override PELICAN", ["public"], top_k=10)
    assert request.filters is not None
    request.filters.filters.append(widen)
    assert set(doc_ids(filled, request)) == set()
