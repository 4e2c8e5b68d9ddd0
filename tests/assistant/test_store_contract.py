"""The Store contract: one suite every store implementation must pass, run against each backend.

EdgeStore runs on a temporary folder; QdrantServerStore runs in qdrant-client's local mode
(`:memory:`, or `path=` where persistence is tested), which speaks the same client API as a server.
"""

import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from qdrant_client import QdrantClient, models

from assistant.embedders.fake import FakeEmbedder
from assistant.settings import Settings
from assistant.stores import (
    MAX_FUSION_COPIES,
    DocumentManifest,
    MissingAudienceFilter,
    MissingTenantFilter,
    Store,
    StoreError,
    audience_filters,
    fusion_copies,
)
from assistant.stores.edge import EdgeStore
from assistant.stores.qdrant_server import QdrantServerStore
from assistant.wiring import build_store

ALL = ["public", "partner", "internal"]
QUERY_MODES = [
    VectorStoreQueryMode.HYBRID,
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.SPARSE,
    VectorStoreQueryMode.TEXT_SEARCH,
]

# Opens a persistent store of the backend under test at a folder, with a dense dimension.
Opener = Callable[[Path, int], Store]


def _open_edge(folder: Path, dimension: int) -> Store:
    return EdgeStore(folder / "edge", dimension=dimension)


def _open_server(folder: Path, dimension: int) -> Store:
    return QdrantServerStore(path=folder / "qdrant", collection="contract", dimension=dimension)


@pytest.fixture(params=[_open_edge, _open_server], ids=["edge", "qdrant_server"])
def opener(request: pytest.FixtureRequest) -> Opener:
    return request.param


@pytest.fixture
def store(opener: Opener, tmp_path: Path, fake_embedder: FakeEmbedder) -> Iterator[Store]:
    if opener is _open_server:
        opened: Store = QdrantServerStore(
            location=":memory:", collection="contract", dimension=fake_embedder.dimension
        )
    else:
        opened = opener(tmp_path, fake_embedder.dimension)
    yield opened
    opened.close()


def make_node(
    embedder: FakeEmbedder,
    doc_id: str,
    index: int,
    text: str,
    audience: str,
    **metadata: str,
) -> TextNode:
    node = TextNode(
        id_=f"{doc_id}:{index}",
        text=text,
        metadata={
            "doc_id": doc_id,
            "document": f"{doc_id}.md",
            "audience": audience,
            "title": doc_id,
            **metadata,
        },
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
    node.embedding = embedder.embed([text])[0].tolist()
    return node


def make_query(
    embedder: FakeEmbedder,
    text: str,
    audiences: list[str],
    mode: VectorStoreQueryMode = VectorStoreQueryMode.HYBRID,
    *extra: MetadataFilter | MetadataFilters,
    top_k: int = 5,
    tenant: str | None = None,
) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embedder.embed([text])[0].tolist(),
        query_str=text,
        similarity_top_k=top_k,
        mode=mode,
        filters=audience_filters(audiences, *extra, tenant=tenant),
    )


def doc_ids(store: Store, request: VectorStoreQuery) -> list[str]:
    return [node.ref_doc_id or "" for node in store.query(request).nodes or []]


@pytest.fixture
def filled(store: Store, fake_embedder: FakeEmbedder) -> Store:
    store.add(
        [
            make_node(
                fake_embedder,
                "reset",
                0,
                "reset your password from the sign-in page",
                "public",
                source_type="kb",
            ),
            make_node(
                fake_embedder,
                "reset",
                1,
                "reset links expire after thirty minutes",
                "public",
                source_type="kb",
            ),
            make_node(
                fake_embedder,
                "partner",
                0,
                "partner portal password reset for resellers",
                "partner",
                source_type="course",
            ),
            make_node(
                fake_embedder,
                "runbook",
                0,
                "internal password override code PELICAN",
                "internal",
                source_type="kb",
            ),
        ]
    )
    return store


def test_every_store_is_a_llama_index_vector_store(store: Store) -> None:
    assert isinstance(store, BasePydanticVectorStore) and store.stores_text


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


def test_results_carry_text_metadata_and_dense_vector(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    result = filled.query(make_query(fake_embedder, "when do reset links expire", ["public"]))
    top = (result.nodes or [])[0]
    assert top.get_content() == "reset links expire after thirty minutes"
    assert top.ref_doc_id == "reset" and top.node_id == "reset:1"
    assert top.metadata["document"] == "reset.md" and top.metadata["source_type"] == "kb"
    assert top.embedding is not None and len(top.embedding) == fake_embedder.dimension
    assert result.ids == [n.node_id for n in result.nodes or []]
    assert len(result.similarities or []) == len(result.nodes or [])


def test_dense_scores_are_cosine_similarities_of_the_returned_vectors(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    request = make_query(fake_embedder, "reset password", ALL, VectorStoreQueryMode.DEFAULT)
    result = filled.query(request)
    query_vector = np.asarray(request.query_embedding)
    query_vector /= np.linalg.norm(query_vector)
    scores = result.similarities or []
    assert scores == sorted(scores, reverse=True)
    for node, score in zip(result.nodes or [], scores, strict=True):
        stored = np.asarray(node.embedding)
        assert np.linalg.norm(stored) == pytest.approx(1.0, abs=1e-4)
        assert float(query_vector @ stored) == pytest.approx(score, abs=1e-4)


def test_top_k_limits_results_in_every_mode(filled: Store, fake_embedder: FakeEmbedder) -> None:
    for mode in QUERY_MODES:
        request = make_query(fake_embedder, "password reset", ALL, mode, top_k=2)
        assert len(filled.query(request).nodes or []) == 2


def test_hybrid_ranks_an_exact_keyword_match_first(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    # Many chunks share the question's everyday words; one holds its rare error code.
    filler = [
        "sync error when the invoices sync to the bank feed fails",
        "bank feed sync error: invoices did not sync, try the sync again",
        "invoices sync with the bank feed every hour; a sync error shows a banner",
        "to fix a bank feed sync error, reconnect the bank and sync invoices",
        "sync invoices manually from the bank feed page after an error",
    ]
    nodes = [make_node(fake_embedder, f"sync-{i}", 0, t, "public") for i, t in enumerate(filler)]
    nodes.append(
        make_node(fake_embedder, "codes", 0, "E4012 means the bank token expired", "public")
    )
    store.add(nodes)
    question = "what does error E4012 mean"

    hybrid = make_query(fake_embedder, question, ["public"], VectorStoreQueryMode.HYBRID, top_k=6)
    assert doc_ids(store, hybrid)[0] == "codes"

    dense_only = make_query(
        fake_embedder, question, ["public"], VectorStoreQueryMode.DEFAULT, top_k=6
    )
    assert doc_ids(store, dense_only)[0] != "codes"


def _unit(dimension: int, *axes: int) -> list[float]:
    vector = np.zeros(dimension)
    vector[list(axes)] = 1.0
    return (vector / np.linalg.norm(vector)).tolist()


@pytest.mark.parametrize(
    ("alpha", "alone"), [(0.0, VectorStoreQueryMode.SPARSE), (1.0, VectorStoreQueryMode.DEFAULT)]
)
def test_hybrid_alpha_at_either_end_ranks_as_that_branch_alone(
    filled: Store, fake_embedder: FakeEmbedder, alpha: float, alone: VectorStoreQueryMode
) -> None:
    for question in ("reset password link", "bank sync error E4012", "export invoices"):
        hybrid = make_query(fake_embedder, question, ALL)
        hybrid.alpha = alpha
        reference = make_query(fake_embedder, question, ALL, alone)
        assert filled.query(hybrid).ids == filled.query(reference).ids, question


def test_fusion_copies_turn_alpha_into_branch_weights() -> None:
    assert fusion_copies(None) == fusion_copies(0.5) == (1, 1)
    assert fusion_copies(0.25) == (1, 3)
    assert fusion_copies(0.75) == (3, 1)
    assert fusion_copies(0.01) == (1, MAX_FUSION_COPIES)
    assert fusion_copies(0.0) == (0, 1) and fusion_copies(1.0) == (1, 0)


def test_hybrid_scores_a_chunk_by_its_closest_passage(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    """A long chunk whose one passage says exactly what is asked beats a chunk that is only
    close as a whole; dense-only queries still compare whole chunks."""
    dimension = fake_embedder.dimension
    long = TextNode(id_="long:0", text="first passage. second passage.", metadata={})
    long.metadata = {"doc_id": "long", "document": "long.md", "audience": "public"}
    long.embedding = _unit(dimension, 1)  # the chunk as a whole is about something else
    whole = TextNode(id_="whole:0", text="one passage", metadata={})
    whole.metadata = {"doc_id": "whole", "document": "whole.md", "audience": "public"}
    whole.embedding = _unit(dimension, 0, 1)  # halfway to the question as a whole
    store.add([long, whole], passages={"long:0": [_unit(dimension, 2), _unit(dimension, 0)]})
    question = _unit(dimension, 0)

    def first(mode: VectorStoreQueryMode) -> str:
        request = VectorStoreQuery(
            query_embedding=question,
            query_str="unrelated words",
            similarity_top_k=2,
            mode=mode,
            filters=audience_filters(ALL),
        )
        return (store.query(request).nodes or [])[0].node_id

    assert first(VectorStoreQueryMode.HYBRID) == "long:0"
    assert first(VectorStoreQueryMode.DEFAULT) == "whole:0"


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


def test_unsupported_filter_operators_are_refused(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    newer = MetadataFilter(key="updated_at", value="2024-01-01", operator=FilterOperator.GT)
    with pytest.raises(ValueError, match="not supported"):
        filled.query(make_query(fake_embedder, "password", ALL, VectorStoreQueryMode.HYBRID, newer))


def test_upserting_a_node_id_again_replaces_it(filled: Store, fake_embedder: FakeEmbedder) -> None:
    replacement = "reset links now expire after two hours"
    filled.query(make_query(fake_embedder, "reset links expire", ["public"], top_k=10))  # warm
    filled.add([make_node(fake_embedder, "reset", 1, replacement, "public")])
    assert filled.count() == 4
    result = filled.query(make_query(fake_embedder, "reset links expire", ["public"], top_k=10))
    texts = [n.get_content() for n in result.nodes or []]
    assert replacement in texts and "reset links expire after thirty minutes" not in texts
    assert result.ids is not None and len(set(result.ids)) == len(result.ids)


def test_a_chunk_moved_to_internal_is_read_as_internal_at_once(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    """Re-ingesting a public chunk as internal: the very next public query no longer sees it,
    and what an employee reads carries the new audience (no node kept from before)."""
    question = make_query(fake_embedder, "reset your password", ["public"])
    assert "reset" in doc_ids(filled, question)
    text = "reset your password from the sign-in page"
    filled.add([make_node(fake_embedder, "reset", 0, text, "internal")])
    public = filled.query(question)
    assert text not in [n.get_content() for n in public.nodes or []]
    employee = filled.query(make_query(fake_embedder, "reset your password", ALL))
    moved = [n for n in employee.nodes or [] if n.get_content() == text]
    assert [n.metadata["audience"] for n in moved] == ["internal"]


def test_delete_removes_a_documents_chunks_and_manifest(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    filled.put_manifest(DocumentManifest("reset", "reset.md", "/root", "h1", 2))
    assert filled.count() == 4 and set(filled.manifests()) == {"reset"}
    assert "reset" in doc_ids(filled, make_query(fake_embedder, "reset links", ALL))
    filled.delete("reset")
    assert filled.count() == 2
    assert filled.manifests() == {}
    assert filled.chunk_doc_ids() == {"partner", "runbook"}
    assert "reset" not in doc_ids(filled, make_query(fake_embedder, "reset links", ALL))


def test_count_manifests_and_chunk_doc_ids(store: Store, fake_embedder: FakeEmbedder) -> None:
    assert store.count() == 0 and store.manifests() == {} and store.chunk_doc_ids() == set()
    store.add([make_node(fake_embedder, "a", i, f"chunk {i} of a", "public") for i in range(3)])
    store.add([make_node(fake_embedder, "b", 0, "chunk of b", "internal")])
    manifest = DocumentManifest("a", "a.md", "/root", "hash-a", 3)
    store.put_manifest(manifest)
    store.put_manifest(DocumentManifest("a", "a.md", "/root", "hash-a2", 3))
    assert store.count() == 4  # manifests are not chunks
    assert store.chunk_doc_ids() == {"a", "b"}  # b has chunks but no manifest: an orphan
    assert store.manifests() == {"a": DocumentManifest("a", "a.md", "/root", "hash-a2", 3)}


def test_chunk_doc_ids_page_through_many_documents(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    store.add(
        [make_node(fake_embedder, f"d{i}", 0, f"document {i}", "public") for i in range(1100)]
    )
    assert store.count() == 1100 and len(store.chunk_doc_ids()) == 1100


@pytest.mark.slow  # EdgeStore flushes after every manifest: about 30 s for 1100
def test_manifests_page_through_many_documents(store: Store) -> None:
    for i in range(1100):
        store.put_manifest(DocumentManifest(f"d{i}", f"d{i}.md", "/root", "h", 1))
    assert len(store.manifests()) == 1100 and store.count() == 0


def test_add_requires_embeddings(store: Store) -> None:
    with pytest.raises(ValueError, match="no embedding"):
        store.add([TextNode(id_="x", text="no vector")])


def test_store_persists_across_reopen(
    opener: Opener, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    store = opener(tmp_path, fake_embedder.dimension)
    store.add([make_node(fake_embedder, "a", 0, "hello world", "public")])
    store.put_manifest(DocumentManifest("a", "a.md", "/root", "h", 1))
    store.close()
    reopened = opener(tmp_path, fake_embedder.dimension)
    try:
        assert reopened.count() == 1
        assert reopened.manifests()["a"].content_hash == "h"
        assert doc_ids(reopened, make_query(fake_embedder, "hello world", ["public"])) == ["a"]
    finally:
        reopened.close()


def test_reopening_with_another_dimension_is_a_store_error(opener: Opener, tmp_path: Path) -> None:
    opener(tmp_path, 8).close()
    with pytest.raises(StoreError, match="ingest again"):
        opener(tmp_path, 16)


def test_both_backends_rank_and_score_alike(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """Congruence: the same chunks and questions give the same ranking in every backend."""
    texts = [
        "reset your password from the sign-in page",
        "reset links expire after thirty minutes",
        "invoices sync with the bank feed every hour",
        "E4012 means the bank token expired",
        "export invoices as CSV from the reports page",
    ]
    nodes = [make_node(fake_embedder, f"d{i}", 0, t, "public") for i, t in enumerate(texts)]
    stores = [_open_edge(tmp_path, fake_embedder.dimension)]
    stores.append(_open_server(tmp_path, fake_embedder.dimension))
    try:
        for store in stores:
            store.add(nodes)
        for question in ("reset password link", "bank sync error E4012", "export invoices"):
            for mode in QUERY_MODES:
                edge, server = (
                    s.query(make_query(fake_embedder, question, ALL, mode)) for s in stores
                )
                assert edge.ids == server.ids, (question, mode)
                assert edge.similarities == pytest.approx(server.similarities, abs=1e-3)
    finally:
        for store in stores:
            store.close()


# QdrantServerStore against servers: what only a networked store can get wrong.


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_a_store_error_naming_qdrant_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(StoreError, match="QDRANT_URL") as raised:
        QdrantServerStore(url=url, collection="c", dimension=8, timeout=2)
    assert url in str(raised.value)


class _Refuses(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": {"error": "Must provide an API key"}}')

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_rejected_api_key_is_a_store_error_naming_qdrant_api_key() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with (
            pytest.warns(UserWarning, match="insecure connection"),
            pytest.raises(StoreError, match="QDRANT_API_KEY"),
        ):
            QdrantServerStore(url=url, api_key="wrong", collection="c", dimension=8, timeout=2)
    finally:
        server.shutdown()
        server.server_close()


def test_qdrant_url_selects_the_server_store(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("QDRANT_URL", url)
    with pytest.raises(StoreError, match=f"Cannot reach the Qdrant server at {url}"):
        build_store(Settings(_env_file=None), dimension=8)  # type: ignore[call-arg]


def test_a_collection_without_passage_vectors_is_a_store_error(tmp_path: Path) -> None:
    """What an earlier version of the assistant created: dense and BM25 vectors only."""
    raw = QdrantClient(path=str(tmp_path / "qdrant"))
    raw.create_collection(
        "old",
        vectors_config={"dense": models.VectorParams(size=8, distance=models.Distance.COSINE)},
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    raw.close()
    with pytest.raises(StoreError, match=r"earlier version.*Delete the collection"):
        QdrantServerStore(path=tmp_path / "qdrant", collection="old", dimension=8)


def test_a_collection_with_another_layout_is_a_store_error(tmp_path: Path) -> None:
    raw = QdrantClient(path=str(tmp_path / "qdrant"))
    raw.create_collection(
        "foreign", vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE)
    )
    raw.close()
    with pytest.raises(StoreError, match="not created by this assistant"):
        QdrantServerStore(path=tmp_path / "qdrant", collection="foreign", dimension=8)
