"""EdgeStore-only behaviour; what every store must do lives in store_contract/."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.stores import StoreError, audience_filters
from assistant.stores.edge import EdgeStore, NodeCache


def test_a_store_open_elsewhere_gets_a_clear_error(tmp_path: Path) -> None:
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


def _node(text: str) -> TextNode:
    return TextNode(id_=text, text=text)


def test_node_cache_keeps_the_most_recently_used() -> None:
    cache = NodeCache(2)
    for name in ("a", "b"):
        cache.put(name, _node(name), writes=0)
    assert set(cache.get_many(["a"], writes=0)) == {"a"}  # "a" is now the most recent
    cache.put("c", _node("c"), writes=0)
    assert set(cache.get_many(["a", "b", "c"], writes=0)) == {"a", "c"}


def test_node_cache_forgets_everything_read_before_a_write() -> None:
    cache = NodeCache(8)
    cache.put("a", _node("a"), writes=0)
    assert cache.get_many(["a"], writes=1) == {}
    cache.put("b", _node("b"), writes=0)  # read before the write: not kept
    assert cache.get_many(["a", "b"], writes=1) == {}
    cache.put("b", _node("b"), writes=1)
    assert set(cache.get_many(["b"], writes=1)) == {"b"}


def test_a_store_without_node_cache_reads_every_node(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "s", dimension=2, node_cache_size=0)
    node = TextNode(id_="kb:0", text="reset links expire", metadata={"audience": "public"})
    node.embedding = [1.0, 0.0]
    store.add([node])
    query = VectorStoreQuery(
        query_embedding=[1.0, 0.0],
        query_str="reset links",
        similarity_top_k=3,
        mode=VectorStoreQueryMode.HYBRID,
        filters=audience_filters(["public"]),
    )
    for _ in range(2):
        assert [n.get_content() for n in store.query(query).nodes or []] == ["reset links expire"]
    store.close()


def test_a_chunk_rewritten_while_queried_never_shows_internal_text_to_the_public(
    tmp_path: Path,
) -> None:
    """One chunk flips between internal (a canary text) and public while public and internal
    callers query in a loop: the internal callers fill the node cache with the canary, yet no
    public result may carry it, whatever the interleaving."""
    store = EdgeStore(tmp_path / "s", dimension=2)

    def version(audience: str) -> TextNode:
        text = "CANARY reset override" if audience == "internal" else "reset your password"
        node = TextNode(id_="kb:0", text=text, metadata={"audience": audience})
        node.embedding = [1.0, 0.0]
        return node

    def query(audiences: list[str]) -> VectorStoreQuery:
        return VectorStoreQuery(
            query_embedding=[1.0, 0.0],
            query_str="reset",
            similarity_top_k=3,
            mode=VectorStoreQueryMode.HYBRID,
            filters=audience_filters(audiences),
        )

    store.add([version("internal")])
    done = threading.Event()

    def flip() -> None:
        while not done.is_set():
            for audience in ("public", "internal"):
                store.add([version(audience)])

    writer = threading.Thread(target=flip)
    writer.start()
    leaked = []
    try:
        for _ in range(3000):
            store.query(query(["internal", "public"]))
            public = store.query(query(["public"]))
            leaked += [n.get_content() for n in public.nodes or [] if "CANARY" in n.get_content()]
    finally:
        done.set()
        writer.join()
        store.close()
    assert leaked == []


def test_node_cache_gives_a_reader_from_before_a_write_nothing_and_keeps_the_rest() -> None:
    cache = NodeCache(8)
    cache.put("a", _node("a"), writes=2)
    assert cache.get_many(["a"], writes=2) == {}  # the cache had not seen write 2 yet
    cache.put("a", _node("a"), writes=2)
    assert cache.get_many(["a"], writes=1) == {}
    assert set(cache.get_many(["a"], writes=2)) == {"a"}
