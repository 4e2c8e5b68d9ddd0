"""wiring.build_ingester: the one place the ingest stack (embedder, store, chunker, job) is
put together, for the CLI, the ingest route, evals and benchmarks."""

from pathlib import Path

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders.fake import FakeEmbedder
from assistant.settings import Settings
from assistant.stores import audience_filters
from assistant.stores.edge import EdgeStore, NodeCache
from benchmarks.common import query_without_node_cache
from ingest.wiring import build_ingester
from tests.corpus import write_corpus


def test_builds_the_embedder_and_store_the_settings_name(tmp_path: Path) -> None:
    settings = Settings(embedder="fake", data_dir=tmp_path / "data", qdrant_url=None)
    job = build_ingester(settings)
    try:
        assert isinstance(job.embedder, FakeEmbedder)
        assert isinstance(job.store, EdgeStore)
        assert Path(job.store.path) == settings.edge_path
        assert job.chunker.max_tokens == job.embedder.max_tokens
        summary = job.run([write_corpus(tmp_path / "c")], progress=False)
        assert summary.failed == [] and summary.added == 7
        assert job.store.count() == summary.chunks_written
    finally:
        job.store.close()


def test_uses_the_embedder_and_store_it_is_given(
    tmp_path: Path, edge_store: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    job = build_ingester(embedder=fake_embedder, store=edge_store)
    assert job.embedder is fake_embedder and job.store is edge_store
    assert job.chunker.count_tokens == fake_embedder.count_tokens


def test_settings_build_only_what_is_not_given(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    settings = Settings(embedder="minilm", data_dir=tmp_path / "data", qdrant_url=None)
    job = build_ingester(settings, embedder=fake_embedder)  # no MiniLM is loaded
    try:
        assert job.embedder is fake_embedder
        assert isinstance(job.store, EdgeStore) and Path(job.store.path) == settings.edge_path
    finally:
        job.store.close()


def test_without_settings_both_must_be_given(fake_embedder: FakeEmbedder) -> None:
    with pytest.raises(TypeError, match="needs settings"):
        build_ingester(embedder=fake_embedder)


def test_a_query_without_node_cache_leaves_the_cache_as_it_was(
    tmp_path: Path, edge_store: EdgeStore, fake_embedder: FakeEmbedder
) -> None:
    build_ingester(embedder=fake_embedder, store=edge_store).run(
        [write_corpus(tmp_path / "c")], progress=False
    )
    query = VectorStoreQuery(
        query_embedding=fake_embedder.embed(["reset links"])[0].tolist(),
        query_str="reset links",
        similarity_top_k=3,
        mode=VectorStoreQueryMode.HYBRID,
        filters=audience_filters(["public"]),
    )
    cache = edge_store.node_cache
    assert isinstance(cache, NodeCache) and cache.size > 0
    cached = [n.node_id for n in edge_store.query(query).nodes or []]
    uncached = [n.node_id for n in query_without_node_cache(edge_store, query).nodes or []]
    assert uncached == cached and cached
    assert edge_store.node_cache is cache
