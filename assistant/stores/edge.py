"""EdgeStore: the real Qdrant engine in-process (qdrant-edge-py), persistent on local disk."""

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import (
    PASSAGE_HNSW_EF,
    DocumentManifest,
    StoreError,
    StoreInUse,
    fusion_copies,
    prefetch_depth,
    require_caller_filters,
)
from assistant.stores.payload import (
    CHUNK,
    DENSE,
    INDEXED_KEYWORDS,
    MANIFEST,
    PASSAGES,
    SPARSE,
    dense_vector,
    filter_scalar,
    manifest_payload,
    node_payload,
    payload_manifest,
    payload_node,
    point_id,
)

_SCROLL_PAGE = 1000
# Chunks kept as nodes between queries (each ~17 KB: text, payload, 384 floats as a list).
NODE_CACHE_SIZE = 4096


class EdgeStore(BasePydanticVectorStore):
    """Dense MiniLM vectors (of each chunk and of its passages) and BM25 sparse vectors in one
    Qdrant Edge shard."""

    stores_text: bool = True
    path: str
    dimension: int

    _shard: Any = PrivateAttr()
    _bm25: Bm25Encoder = PrivateAttr()
    _write_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _writes: int = PrivateAttr(default=0)
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
        thread: the engine keeps Python's GIL while it searches, and on 2 cores a pool of 8
        turned a 1.3 ms query into 4-5 ms for every answer waiting on the GIL under load.
        `node_cache_size`: chunks kept as nodes between queries (0: none)."""
        super().__init__(path=str(path), dimension=dimension)  # type: ignore[call-arg]
        self._bm25 = Bm25Encoder()
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
            for field in INDEXED_KEYWORDS:
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
                and PASSAGES not in message.split("but got")[-1]
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

    @classmethod
    def class_name(cls) -> str:
        return "EdgeStore"

    @property
    def client(self) -> Any:
        return self._shard

    @property
    def writes(self) -> int:
        return self._writes

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
                # the count change (see query()); a failed write may have changed something.
                self._writes += 1
                try:
                    self._shard.update(operation)
                finally:
                    self._writes += 1
        except Exception as exc:
            raise StoreError(f"Qdrant Edge update failed: {exc}") from exc

    def add(
        self,
        nodes: Sequence[BaseNode],
        *,
        passages: Mapping[str, list[list[float]]] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        points = []
        for node in nodes:
            if node.embedding is None:
                raise ValueError(f"Node {node.node_id} has no embedding; embed before add().")
            indices, values = self._bm25.document(node.get_content(MetadataMode.EMBED))
            embedding = list(node.embedding)
            vectors: dict[str, Any] = {
                DENSE: embedding,
                PASSAGES: (passages or {}).get(node.node_id) or [embedding],
                SPARSE: qe.SparseVector(indices, values),
            }
            points.append(qe.Point(point_id(node.node_id), vectors, node_payload(node)))
        if points:
            self._update(qe.UpdateOperation.upsert_points(points))
        return [node.node_id for node in nodes]

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Removes a document's chunks and its manifest."""
        self._update(qe.UpdateOperation.delete_points_by_filter(_match("doc_id", ref_doc_id)))

    def put_manifest(self, manifest: DocumentManifest) -> None:
        point = qe.Point(point_id(f"manifest:{manifest.doc_id}"), {}, manifest_payload(manifest))
        self._update(qe.UpdateOperation.upsert_points([point]))
        self._shard.flush()

    def manifests(self) -> dict[str, DocumentManifest]:
        return {m["doc_id"]: payload_manifest(m) for m in self._scroll(_match("kind", MANIFEST))}

    def chunk_doc_ids(self) -> set[str]:
        return {str(p["doc_id"]) for p in self._scroll(_match("kind", CHUNK), fields=["doc_id"])}

    def count(self) -> int:
        return int(self._shard.count(qe.CountRequest(exact=True, filter=_match("kind", CHUNK))))

    def _scroll(self, flt: Any, fields: list[str] | None = None) -> list[dict[str, Any]]:
        payloads: list[dict[str, Any]] = []
        offset = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=_SCROLL_PAGE, filter=flt, with_payload=fields or True
                )
            )
            payloads.extend(r.payload or {} for r in records)
            if offset is None:
                return payloads

    def chunks(self, filters: MetadataFilters, *, limit: int) -> list[TextNode]:
        flt = qe.Filter(
            must=[
                qe.FieldCondition(key="kind", match=qe.MatchValue(CHUNK)),
                _edge_group(require_caller_filters(filters)),
            ]
        )
        try:
            records, _ = self._shard.scroll(
                qe.ScrollRequest(limit=limit, filter=flt, with_payload=True, with_vector=False)
            )
        except Exception as exc:
            raise StoreError(f"Qdrant Edge scroll failed: {exc}") from exc
        return [payload_node(r.payload or {}) for r in records]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        # No kind=chunk condition: manifests carry no vectors, so vector queries never see them,
        # and the extra condition cost ~35% on an unoptimized shard (benchmarks/latency.py).
        flt = _edge_group(require_caller_filters(query.filters))
        limit = query.similarity_top_k
        branch_limit = prefetch_depth(limit)
        vector = list(query.query_embedding) if query.query_embedding is not None else None
        sparse = None
        if query.query_str:
            indices, values = self._bm25.query(query.query_str)
            sparse = qe.Query.Nearest(qe.SparseVector(indices, values), using=SPARSE)

        mode = query.mode
        if mode == VectorStoreQueryMode.HYBRID and vector is not None and sparse is not None:
            passage_copies, sparse_copies = fusion_copies(query.alpha)
            closest_passage = qe.Prefetch(
                limit=branch_limit,
                query=qe.Query.Nearest([vector], using=PASSAGES),
                filter=flt,
                params=qe.SearchParams(hnsw_ef=PASSAGE_HNSW_EF),
            )
            search: dict[str, Any] = dict(
                limit=limit,
                prefetches=[
                    *[closest_passage] * passage_copies,
                    *[qe.Prefetch(limit=branch_limit, query=sparse, filter=flt)] * sparse_copies,
                ],
                query=qe.Fusion.Dbsf(),
                filter=flt,
            )
        elif mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH):
            if sparse is None:
                raise ValueError("A sparse query needs query_str.")
            search = dict(limit=limit, query=sparse, filter=flt)
        else:
            if vector is None:
                raise ValueError("A dense query needs query_embedding.")
            search = dict(limit=limit, query=qe.Query.Nearest(vector, using=DENSE), filter=flt)
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
                    qe.QueryRequest(**search, with_payload=True, with_vector=[DENSE])
                )
                nodes = {p.id: _point_node(p) for p in points}
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
            for record in self._shard.retrieve(missing, True, [DENSE]):
                node = _point_node(record)
                nodes[record.id] = node
                self._nodes.put(record.id, node, writes)
        return nodes

    def optimize(self) -> None:
        """Builds the HNSW index: filtered hybrid p95 drops from ~50 ms to under 10 ms at 100k
        chunks (benchmarks/latency.py)."""
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


def _point_node(point: Any) -> TextNode:
    """A point or record the engine returned with its payload and dense vector, as a node."""
    return payload_node(point.payload or {}, dense_vector(point.vector))


def shard_config(dimension: int, **options: Any) -> Any:
    """The shard layout: the chunk's dense vector, its passages (MaxSim) and BM25 with IDF;
    `options` go to EdgeConfig as they are (benchmarks try HNSW settings)."""
    return qe.EdgeConfig(
        vectors={
            DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine),
            PASSAGES: qe.EdgeVectorParams(
                size=dimension,
                distance=qe.Distance.Cosine,
                multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
            ),
        },
        sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        **options,
    )


def _match(key: str, value: str) -> Any:
    return qe.Filter(must=[qe.FieldCondition(key=key, match=qe.MatchValue(value))])


def _edge_group(filters: MetadataFilters) -> Any:
    """Translates llama-index metadata filters into a Qdrant filter."""
    conditions = [_edge_condition(f) for f in filters.filters]
    if filters.condition == FilterCondition.OR:
        return qe.Filter(should=conditions)
    if filters.condition == FilterCondition.NOT:
        return qe.Filter(must_not=conditions)
    return qe.Filter(must=conditions)


def _edge_condition(item: MetadataFilter | MetadataFilters) -> Any:
    if isinstance(item, MetadataFilters):
        return _edge_group(item)
    value = item.value
    if item.operator == FilterOperator.IS_EMPTY:  # missing, null or []
        return qe.IsEmptyCondition(key=item.key)
    if item.operator == FilterOperator.EQ:
        return qe.FieldCondition(key=item.key, match=qe.MatchValue(filter_scalar(value)))
    if item.operator in (FilterOperator.IN, FilterOperator.ANY):
        return qe.FieldCondition(key=item.key, match=qe.MatchAny(list(value)))  # type: ignore[arg-type]
    if item.operator == FilterOperator.NIN:
        return qe.FieldCondition(key=item.key, match=qe.MatchExcept(list(value)))  # type: ignore[arg-type]
    if item.operator == FilterOperator.NE:
        return qe.Filter(
            must_not=[qe.FieldCondition(key=item.key, match=qe.MatchValue(filter_scalar(value)))]
        )
    raise ValueError(f"Filter operator {item.operator} is not supported by EdgeStore.")
