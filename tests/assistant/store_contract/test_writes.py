"""Store contract: adding, replacing and deleting chunks and manifests, and counting what is
stored."""

import pytest
from llama_index.core.schema import TextNode

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import DocumentManifest, Store
from tests.assistant.store_contract.contract import ALL, doc_ids, make_node, make_query


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
