"""EdgeStore: the real Qdrant engine in-process (qdrant-edge-py), persistent on local disk."""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import qdrant_edge as qe
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQueryResult

from assistant.stores import DocumentManifest, StoreError, StoreInUse, payload
from assistant.stores import query_plan as qp
from assistant.stores.qdrant_base import QdrantBaseStore

# Chunks kept as nodes between queries (each ~17 KB: text, payload, 384 floats as a list).
NODE_CACHE_SIZE = 4096


class EdgeStore(QdrantBaseStore):
    """Dense MiniLM vectors (of each chunk and of its passages) and BM25 sparse vectors in one
    Qdrant Edge shard."""

    path: str
    dimension: int
    # No kind=chunk condition in queries: vector queries never meet a manifest, and the
    # condition slows an unoptimized shard (benchmarks/latency.py).
    query_chunks_only: ClassVar[bool] = False

    _shard: Any = PrivateAttr()
    _write_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _nodes: "NodeCache" = PrivateAttr()

    def __init__(
        self,
        path: Path,
        *,
        dimension: int,
        search_threads: int = 1,
        node_cache_size: int = NODE_CACHE_SIZE,
    ) -> None:
        """`search_threads`: the engine's search pool. One runs each search on the calling
        thread: the engine keeps Python's GIL while it searches, so a larger pool only makes
        every answer waiting on the GIL slower under load (benchmarks/latency.py).
        `node_cache_size`: chunks kept as nodes between queries (0: none)."""
        super().__init__(path=str(path), dimension=dimension)  # type: ignore[call-arg]
        self._nodes = NodeCache(node_cache_size)
        self._shard = self._open(Path(path), dimension, search_threads)

    @staticmethod
    def _open(path: Path, dimension: int, search_threads: int) -> Any:
        config = shard_config(dimension, max_search_threads=search_threads)
        try:
            if path.is_dir() and any(path.iterdir()):
                shard = qe.EdgeShard.load(str(path), config)
            else:
                path.mkdir(parents=True, exist_ok=True)
                shard = qe.EdgeShard.create(str(path), config)
            # Create missing payload indexes, so a creator killed half-way is repaired on open.
            present = shard.info().payload_schema or {}
            for field in payload.INDEXED_KEYWORDS:
                if field not in present:
                    shard.update(
                        qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword)
                    )
            return shard
        except Exception as exc:  # the engine raises plain Exception
            if "WouldBlock" in str(exc):
                raise StoreInUse(
                    f"The embedded Qdrant store at {path} is open in another process (an "
                    "`assistant serve`, `mcp` or `ingest` on the same ASSISTANT_DATA_DIR): wait "
                    "for it to finish or stop it, or use a Qdrant server (QDRANT_URL), which "
                    "any number of processes share."
                ) from exc
            message = str(exc)
            if (
                "vector storages with keys" in message
                and payload.PASSAGES not in message.split("but got")[-1]
            ):
                raise StoreError(
                    f"The embedded Qdrant store at {path} was built by an earlier version of the "
                    "assistant, without passage vectors. Remove that folder and run `assistant "
                    "ingest` again."
                ) from exc
            raise StoreError(
                f"Cannot open the embedded Qdrant store at {path}: {exc}. If the embedding "
                "model changed, remove that folder and ingest again."
            ) from exc

    @property
    def client(self) -> Any:
        return self._shard

    @property
    def node_cache(self) -> "NodeCache":
        """The nodes kept between queries; benchmarks set `NodeCache(0)` for a while to time
        queries that read every node from the shard, then put the old cache back."""
        return self._nodes

    @node_cache.setter
    def node_cache(self, cache: "NodeCache") -> None:
        self._nodes = cache

    def _update(self, operation: Any) -> None:
        try:
            with self._write_lock:
                # Counted before and after: a query that overlaps the write in any way sees
                # the count change (see _run()); a failed write may have changed something.
                self._writes += 1
                try:
                    self._shard.update(operation)
                finally:
                    self._writes += 1
        except Exception as exc:
            raise StoreError(f"Qdrant Edge update failed: {exc}") from exc

    def _upsert_chunks(self, points: list[payload.ChunkPoint]) -> None:
        self._update(qe.UpdateOperation.upsert_points([_point(p) for p in points]))

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Removes a document's chunks and its manifest."""
        self._update(qe.UpdateOperation.delete_points_by_filter(_match("doc_id", ref_doc_id)))

    def put_manifest(self, manifest: DocumentManifest) -> None:
        point_id = payload.point_id(f"manifest:{manifest.doc_id}")
        self._update(
            qe.UpdateOperation.upsert_points(
                [qe.Point(point_id, {}, payload.manifest_payload(manifest))]
            )
        )
        self._shard.flush()

    def count(self) -> int:
        chunks = _match("kind", payload.CHUNK)
        return int(self._shard.count(qe.CountRequest(exact=True, filter=chunks)))

    def _payload_page(
        self, kind: str, *, fields: list[str] | None, offset: Any, limit: int
    ) -> tuple[list[dict[str, Any]], Any]:
        records, next_offset = self._shard.scroll(
            qe.ScrollRequest(
                offset=offset,
                limit=limit,
                filter=_match("kind", kind),
                with_payload=fields or True,
            )
        )
        return [r.payload or {} for r in records], next_offset

    def _read_chunks(self, where: qp.Group, *, limit: int) -> list[TextNode]:
        request = qe.ScrollRequest(
            limit=limit, filter=_filter(where), with_payload=True, with_vector=False
        )
        try:
            records, _ = self._shard.scroll(request)
        except Exception as exc:
            raise StoreError(f"Qdrant Edge scroll failed: {exc}") from exc
        return [payload.payload_node(r.payload or {}) for r in records]

    def _run(self, plan: qp.QueryPlan) -> VectorStoreQueryResult:
        search = _search(plan)
        try:
            writes = self._writes  # before searching: nodes read after a write are not kept
            points = self._shard.query(
                qe.QueryRequest(**search, with_payload=False, with_vector=False)
            )
            nodes = self._nodes_of([p.id for p in points], writes)
            if self._writes != writes:
                # A write began meanwhile: the search and the nodes may have seen different
                # versions of a chunk (its audience, its text), so read both in one query.
                points = self._shard.query(
                    qe.QueryRequest(**search, with_payload=True, with_vector=[payload.DENSE])
                )
                nodes = {p.id: payload.point_node(p) for p in points}
        except Exception as exc:
            raise StoreError(f"Qdrant Edge query failed: {exc}") from exc
        # A point deleted between the search and the node lookup is left out.
        found = [(nodes[p.id], float(p.score)) for p in points if p.id in nodes]
        return VectorStoreQueryResult(
            nodes=[node for node, _ in found],
            similarities=[score for _, score in found],
            ids=[node.node_id for node, _ in found],
        )

    def _nodes_of(self, ids: list[Any], writes: int) -> dict[Any, TextNode]:
        """The nodes of these point ids: from the cache, the rest read from the shard. The
        search asks for ids only: payloads and vectors cost the engine ~0.5 ms a query at
        100,000 chunks and their conversion to nodes as much again (benchmarks/latency.py),
        all of it holding the GIL, while a help centre's answers keep drawing on the same
        chunks."""
        nodes = self._nodes.get_many(ids, writes)
        missing = [point for point in ids if point not in nodes]
        if missing:
            for record in self._shard.retrieve(missing, True, [payload.DENSE]):
                node = payload.point_node(record)
                nodes[record.id] = node
                self._nodes.put(record.id, node, writes)
        return nodes

    def optimize(self) -> None:
        """Builds the HNSW index, without which a filtered hybrid query at 100k chunks is many
        times slower (benchmarks/latency.py)."""
        try:
            with self._write_lock:
                self._shard.optimize()
        except Exception as exc:
            raise StoreError(f"Qdrant Edge optimize failed: {exc}") from exc

    def close(self) -> None:
        self._shard.flush()
        self._shard.close()


class NodeCache:
    """The most recently used chunks as TextNodes, by point id; emptied when the store was
    written to since (a node is only put with the write count its read started at). Callers
    share the nodes: read them, never change them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._nodes: OrderedDict[Any, TextNode] = OrderedDict()
        self._writes = 0
        self._lock = threading.Lock()

    def get_many(self, ids: Sequence[Any], writes: int) -> dict[Any, TextNode]:
        with self._lock:
            if writes < self._writes:
                return {}  # a reader from before the last write: it reads from the shard
            if writes > self._writes:
                self._nodes.clear()
                self._writes = writes
            found = {}
            for point in ids:
                node = self._nodes.get(point)
                if node is not None:
                    self._nodes.move_to_end(point)
                    found[point] = node
            return found

    def put(self, point: Any, node: TextNode, writes: int) -> None:
        with self._lock:
            if writes != self._writes or self.size <= 0:
                return
            self._nodes[point] = node
            if len(self._nodes) > self.size:
                self._nodes.popitem(last=False)


def shard_config(dimension: int, **options: Any) -> Any:
    """The shard layout: the chunk's dense vector, its passages (MaxSim) and BM25 with IDF;
    `options` go to EdgeConfig as they are (benchmarks try HNSW settings)."""
    return qe.EdgeConfig(
        vectors={
            payload.DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
            payload.PASSAGES: qe.EdgeVectorParams(
                size=dimension,
                distance=qe.Distance.Cosine,
                multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
            ),
        },
        sparse_vectors={payload.SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        **options,
    )


def _point(chunk: payload.ChunkPoint) -> qe.Point:
    vectors: dict[str, Any] = {
        payload.DENSE: chunk.dense,
        payload.PASSAGES: chunk.passages,
        payload.SPARSE: _sparse(chunk.sparse),
    }
    return qe.Point(chunk.id, vectors, chunk.payload)


def _match(key: str, value: str) -> Any:
    return qe.Filter(must=[qe.FieldCondition(key=key, match=qe.MatchValue(value))])


def _search(plan: qp.QueryPlan) -> dict[str, Any]:
    """The plan as QueryRequest arguments, all but what to return."""
    flt = _filter(plan.filter)
    if isinstance(plan.search, qp.Nearest):
        return dict(limit=plan.limit, query=_nearest(plan.search), filter=flt)
    return dict(
        limit=plan.limit,
        prefetches=[_prefetch(branch, flt) for branch in plan.search.branches],
        query=qe.Fusion.Dbsf(),
        filter=flt,
    )


def _prefetch(branch: qp.Branch, flt: qe.Filter) -> qe.Prefetch:
    params = None if branch.hnsw_ef is None else qe.SearchParams(hnsw_ef=branch.hnsw_ef)
    return qe.Prefetch(
        limit=branch.limit, query=_nearest(branch.nearest), filter=flt, params=params
    )


def _nearest(nearest: qp.Nearest) -> qe.Query:
    vector = nearest.vector
    if isinstance(vector, payload.SparseVector):
        return qe.Query.Nearest(_sparse(vector), using=nearest.using)
    return qe.Query.Nearest(vector, using=nearest.using)


def _sparse(vector: payload.SparseVector) -> qe.SparseVector:
    return qe.SparseVector(vector.indices, vector.values)


def _filter(group: qp.Group) -> qe.Filter:
    clause: dict[str, Any] = {group.clause: [_condition(c) for c in group.conditions]}
    return qe.Filter(**clause)


def _condition(condition: qp.Condition) -> Any:
    match condition:
        case qp.Group():
            return _filter(condition)
        case qp.Match(key, value):
            return qe.FieldCondition(key=key, match=qe.MatchValue(value))
        case qp.MatchAny(key, values):
            return qe.FieldCondition(key=key, match=qe.MatchAny(values))
        case qp.MatchExcept(key, values):
            return qe.FieldCondition(key=key, match=qe.MatchExcept(values))
        case qp.IsEmpty(key):  # missing, null or []
            return qe.IsEmptyCondition(key=key)
