"""Store contract: metadata filters beside the audience narrow every query mode; operators a
store cannot apply are refused, not ignored."""

import pytest
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQueryMode,
)

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import Store
from tests.assistant.store_contract.contract import ALL, QUERY_MODES, doc_ids, make_query


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (MetadataFilter(key="doc_id", value="reset"), {"reset"}),
        (
            MetadataFilter(key="doc_id", value=["reset", "runbook"], operator=FilterOperator.IN),
            {"reset", "runbook"},
        ),
        (
            MetadataFilter(key="doc_id", value=["partner"], operator=FilterOperator.ANY),
            {"partner"},
        ),
        (
            MetadataFilter(key="doc_id", value=["reset", "runbook"], operator=FilterOperator.NIN),
            {"partner"},
        ),
        (MetadataFilter(key="source_type", value="kb", operator=FilterOperator.NE), {"partner"}),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="doc_id", value="partner"),
                    MetadataFilter(key="doc_id", value="runbook"),
                ],
                condition=FilterCondition.OR,
            ),
            {"partner", "runbook"},
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="source_type", value="kb")],
                condition=FilterCondition.NOT,
            ),
            {"partner"},
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="source_type", value="kb"),
                    MetadataFilters(
                        filters=[MetadataFilter(key="doc_id", value="reset")],
                        condition=FilterCondition.NOT,
                    ),
                ],
                condition=FilterCondition.AND,
            ),
            {"runbook"},
        ),
    ],
    ids=["eq", "in", "any", "nin", "ne", "or", "not", "nested-and-not"],
)
@pytest.mark.parametrize("mode", QUERY_MODES)
def test_metadata_filters_narrow_every_query_mode(
    filled: Store,
    fake_embedder: FakeEmbedder,
    extra: MetadataFilter,
    expected: set[str],
    mode: VectorStoreQueryMode,
) -> None:
    request = make_query(fake_embedder, "password reset", ALL, mode, extra, top_k=10)
    assert set(doc_ids(filled, request)) == expected


def test_unsupported_filter_operators_are_refused(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    newer = MetadataFilter(key="updated_at", value="2024-01-01", operator=FilterOperator.GT)
    with pytest.raises(ValueError, match="not supported"):
        filled.query(make_query(fake_embedder, "password", ALL, VectorStoreQueryMode.HYBRID, newer))


@pytest.mark.parametrize("operator", [FilterOperator.IN, FilterOperator.NIN])
@pytest.mark.parametrize("value", ["reset", [1.5, 2.5]])
def test_a_list_operator_needs_a_list_of_strings_or_of_integers(
    filled: Store, fake_embedder: FakeEmbedder, operator: FilterOperator, value: object
) -> None:
    """Both stores refuse it alike: "reset" is not read as the letters r, e, s, e, t."""
    extra = MetadataFilter(key="doc_id", value=value, operator=operator)  # type: ignore[arg-type]
    request = make_query(fake_embedder, "password", ALL, VectorStoreQueryMode.HYBRID, extra)
    with pytest.raises(ValueError, match="list of strings or of integers"):
        filled.query(request)
