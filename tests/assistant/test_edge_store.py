from pathlib import Path

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import (
    DocumentManifest,
    MissingAudienceFilter,
    StoreError,
    audience_filters,
)
from assistant.stores.edge import EdgeStore


def make_node(
    embedder: FakeEmbedder, doc_id: str, index: int, text: str, audience: str
) -> TextNode:
    node = TextNode(
        id_=f"{doc_id}:{index}",
        text=text,
        metadata={
            "doc_id": doc_id,
            "document": f"{doc_id}.md",
            "audience": audience,
            "title": doc_id,
        },
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
    node.embedding = embedder.embed([text])[0].tolist()
    return node


def query(
    embedder: FakeEmbedder, text: str, audiences: list[str], mode=VectorStoreQueryMode.HYBRID
):  # type: ignore[no-untyped-def]
    return VectorStoreQuery(
        query_embedding=embedder.embed([text])[0].tolist(),
        query_str=text,
        similarity_top_k=5,
        mode=mode,
        filters=audience_filters(audiences),
    )


@pytest.fixture
def filled(edge_store: EdgeStore, fake_embedder: FakeEmbedder) -> EdgeStore:
    edge_store.add(
        [
            make_node(
                fake_embedder, "reset", 0, "reset your password from the sign-in page", "public"
            ),
            make_node(
                fake_embedder, "reset", 1, "reset links expire after thirty minutes", "public"
            ),
            make_node(
                fake_embedder,
                "partner",
                0,
                "partner portal password reset for resellers",
                "partner",
            ),
            make_node(
                fake_embedder, "runbook", 0, "internal password override code PELICAN", "internal"
            ),
        ]
    )
    return edge_store


@pytest.mark.parametrize(
    "mode", [VectorStoreQueryMode.HYBRID, VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.SPARSE]
)
def test_audience_filter_is_applied_inside_every_query_mode(
    filled: EdgeStore, fake_embedder: FakeEmbedder, mode: VectorStoreQueryMode
) -> None:
    public = filled.query(query(fake_embedder, "password override PELICAN", ["public"], mode))
    assert public.nodes and {n.metadata["audience"] for n in public.nodes} == {"public"}
    partner = filled.query(
        query(fake_embedder, "password override PELICAN", ["public", "partner"], mode)
    )
    assert "internal" not in {n.metadata["audience"] for n in partner.nodes or []}
    everyone = filled.query(
        query(fake_embedder, "password override PELICAN", ["public", "partner", "internal"], mode)
    )
    assert (everyone.nodes or [])[0].metadata["doc_id"] == "runbook"


def test_query_without_audience_filter_is_refused(
    filled: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    request = query(fake_embedder, "password", ["public"])
    request.filters = None
    with pytest.raises(MissingAudienceFilter):
        filled.query(request)
    request.filters = MetadataFilters(filters=[])
    with pytest.raises(MissingAudienceFilter):
        filled.query(request)


def test_results_carry_text_metadata_and_dense_vector(
    filled: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    result = filled.query(query(fake_embedder, "when do reset links expire", ["public"]))
    top = (result.nodes or [])[0]
    assert top.get_content() == "reset links expire after thirty minutes"
    assert top.ref_doc_id == "reset" and top.metadata["document"] == "reset.md"
    assert top.embedding is not None and len(top.embedding) == fake_embedder.dimension


def test_delete_removes_a_documents_chunks_and_manifest(
    filled: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    filled.put_manifest(DocumentManifest("reset", "reset.md", "/root", "h1", 2))
    assert filled.count() == 4 and set(filled.manifests()) == {"reset"}
    filled.delete("reset")
    assert filled.count() == 2
    assert filled.manifests() == {}
    assert filled.chunk_doc_ids() == {"partner", "runbook"}


def test_store_persists_across_reopen(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    store = EdgeStore(tmp_path / "s", dimension=fake_embedder.dimension)
    store.add([make_node(fake_embedder, "a", 0, "hello world", "public")])
    store.put_manifest(DocumentManifest("a", "a.md", "/root", "h", 1))
    store.close()
    reopened = EdgeStore(tmp_path / "s", dimension=fake_embedder.dimension)
    try:
        assert reopened.count() == 1
        assert reopened.manifests()["a"].content_hash == "h"
    finally:
        reopened.close()


def test_add_requires_embeddings(edge_store: EdgeStore) -> None:
    with pytest.raises(ValueError, match="no embedding"):
        edge_store.add([TextNode(id_="x", text="no vector")])


def test_a_store_open_elsewhere_gets_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from assistant.stores.edge import EdgeStore; "
            f"store = EdgeStore({str(tmp_path / 's')!r}, dimension=8); print('open', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="open in another process"):
            EdgeStore(tmp_path / "s", dimension=8)
    finally:
        holder.kill()
        holder.communicate()
