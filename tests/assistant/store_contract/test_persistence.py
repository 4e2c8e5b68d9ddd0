"""Store contract: what was written is there after reopening; opening data the store cannot
read (another dimension, a collection of an earlier version or of another program) is a
StoreError that says what to do."""

from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import DocumentManifest, StoreError
from assistant.stores.qdrant_server import QdrantServerStore
from tests.assistant.store_contract.contract import Opener, doc_ids, make_node, make_query


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
