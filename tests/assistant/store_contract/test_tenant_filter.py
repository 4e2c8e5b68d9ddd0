"""Store contract: a tenant's query reads its own and the shared chunks, never another
tenant's, in every query mode and when reading chunks by filter; a query that names no tenant
is refused."""

import pytest
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQueryMode,
)

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import (
    DocumentManifest,
    MissingAudienceFilter,
    MissingTenantFilter,
    Store,
    audience_filters,
)
from tests.assistant.store_contract.contract import ALL, QUERY_MODES, doc_ids, make_node, make_query


@pytest.fixture
def tenanted(store: Store, fake_embedder: FakeEmbedder) -> Store:
    """Two tenants' documents beside shared ones (no `tenant`), all about one topic."""
    store.add(
        [
            make_node(fake_embedder, "shared", 0, "export invoices as a CSV file", "public"),
            make_node(
                fake_embedder,
                "acme",
                0,
                "acme exports invoices to CSV ACMECANARY",
                "public",
                tenant="acme",
            ),
            make_node(
                fake_embedder,
                "acme-runbook",
                0,
                "acme internal invoice export override",
                "internal",
                tenant="acme",
            ),
            make_node(
                fake_embedder,
                "globex",
                0,
                "globex exports invoices to CSV GLOBEXCANARY",
                "public",
                tenant="globex",
            ),
        ]
    )
    return store


@pytest.mark.parametrize(
    ("tenant", "audiences", "expected"),
    [
        ("acme", ["public"], {"shared", "acme"}),
        ("acme", ALL, {"shared", "acme", "acme-runbook"}),
        ("globex", ALL, {"shared", "globex"}),
        (None, ALL, {"shared"}),
        ("initech", ALL, {"shared"}),
    ],
    ids=["acme-public", "acme-internal", "globex", "no-tenant", "tenant-without-content"],
)
@pytest.mark.parametrize("mode", QUERY_MODES)
def test_tenant_filter_is_applied_inside_every_query_mode(
    tenanted: Store,
    fake_embedder: FakeEmbedder,
    tenant: str | None,
    audiences: list[str],
    expected: set[str],
    mode: VectorStoreQueryMode,
) -> None:
    text = "export invoices CSV ACMECANARY GLOBEXCANARY override"
    request = make_query(fake_embedder, text, audiences, mode, top_k=10, tenant=tenant)
    assert set(doc_ids(tenanted, request)) == expected


@pytest.mark.parametrize(
    "tenant_condition",
    [
        None,
        MetadataFilter(key="tenant", value="globex", operator=FilterOperator.NE),
        MetadataFilter(key="tenant", value=["globex"], operator=FilterOperator.NIN),
        MetadataFilters(
            filters=[MetadataFilter(key="tenant", value="globex")],
            condition=FilterCondition.NOT,
        ),
    ],
    ids=["none", "ne", "nin", "not"],
)
@pytest.mark.parametrize("mode", QUERY_MODES)
def test_query_without_tenant_filter_is_refused(
    tenanted: Store,
    fake_embedder: FakeEmbedder,
    tenant_condition: MetadataFilter | MetadataFilters | None,
    mode: VectorStoreQueryMode,
) -> None:
    request = make_query(fake_embedder, "export invoices", ALL, mode)
    audience = MetadataFilter(key="audience", value=ALL, operator=FilterOperator.IN)
    conditions = [audience] if tenant_condition is None else [audience, tenant_condition]
    request.filters = MetadataFilters(filters=conditions)
    with pytest.raises(MissingTenantFilter):
        tenanted.query(request)


def test_extra_filters_never_widen_the_tenant(tenanted: Store, fake_embedder: FakeEmbedder) -> None:
    widen = MetadataFilters(
        filters=[
            MetadataFilter(key="tenant", value="globex"),
            MetadataFilter(key="doc_id", value="globex"),
        ],
        condition=FilterCondition.OR,
    )
    request = make_query(
        fake_embedder,
        "GLOBEXCANARY",
        ALL,
        VectorStoreQueryMode.HYBRID,
        widen,
        top_k=10,
        tenant="acme",
    )
    assert set(doc_ids(tenanted, request)) == set()


def test_chunks_are_read_by_filter_within_the_callers_audience_and_tenant(
    tenanted: Store,
) -> None:
    def texts(audiences: list[str], tenant: str | None, *extra: MetadataFilter) -> set[str]:
        filters = audience_filters(audiences, *extra, tenant=tenant)
        return {node.text for node in tenanted.chunks(filters, limit=10)}

    acme = MetadataFilter(key="doc_id", value="acme")
    assert texts(ALL, "acme", acme) == {"acme exports invoices to CSV ACMECANARY"}
    assert texts(ALL, "globex", acme) == set()
    assert texts(ALL, None, acme) == set()
    runbook = MetadataFilter(key="document", value="acme-runbook.md")
    assert texts(["public"], "acme", runbook) == set()
    assert texts(ALL, "acme", runbook) == {"acme internal invoice export override"}
    assert len(texts(ALL, "acme")) == 3  # shared, acme's two
    tenanted.put_manifest(DocumentManifest("acme", "acme.md", "root", "hash", 1))
    nodes = tenanted.chunks(audience_filters(ALL, acme, tenant="acme"), limit=10)
    assert [n.metadata["title"] for n in nodes] == ["acme"] and nodes[0].ref_doc_id == "acme"
    assert len(tenanted.chunks(audience_filters(ALL, tenant="acme"), limit=2)) == 2
    with pytest.raises(MissingAudienceFilter):
        tenanted.chunks(MetadataFilters(filters=[acme]), limit=10)
    with pytest.raises(MissingTenantFilter):
        audience = MetadataFilter(key="audience", value=ALL, operator=FilterOperator.IN)
        tenanted.chunks(MetadataFilters(filters=[audience, acme]), limit=10)
