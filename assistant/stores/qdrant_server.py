"""QdrantServerStore: a Qdrant server or cluster through qdrant-client, same layout as EdgeStore."""

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

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
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import (
    PASSAGE_HNSW_EF,
    DocumentManifest,
    StoreError,
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
_UPSERT_BATCH = 256
_T = TypeVar("_T")


class QdrantServerStore(BasePydanticVectorStore):
    """Dense (each chunk's and its passages') and BM25 sparse vectors in one collection on a
    Qdrant server or cluster.

    Args:
        url: The server, e.g. `http://localhost:6333` (`QDRANT_URL`).
        api_key: Sent with every request (`QDRANT_API_KEY`).
        location: `":memory:"` for qdrant-client's in-process local mode (tests).
        path: A folder for qdrant-client's persistent local mode (tests).
        collection: Created on first use with the dense, sparse and payload-index config.
        dimension: Size of the dense vectors; an existing collection must match it.
        timeout: Seconds per request.
    """

    stores_text: bool = True
    url: str | None
    collection: str
    dimension: int

    _client: QdrantClient = PrivateAttr()
    _bm25: Bm25Encoder = PrivateAttr()
    _target: str = PrivateAttr()
    _writes: int = PrivateAttr(default=0)

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        location: str | None = None,
        path: Path | str | None = None,
        collection: str,
        dimension: int,
        timeout: int = 30,
    ) -> None:
        if sum(x is not None for x in (url, location, path)) != 1:
            raise ValueError("Pass exactly one of url (a Qdrant server), location or path.")
        if location not in (None, ":memory:"):
            raise ValueError('location must be ":memory:"; pass a Qdrant server as url=.')
        super().__init__(url=url, collection=collection, dimension=dimension)  # type: ignore[call-arg]
        self._bm25 = Bm25Encoder()
        self._target = url or f"local mode ({location or path})"
        if url is not None:
            # The compatibility check warns from a background thread; unreachable or
            # incompatible servers fail our first request instead, with a StoreError.
            self._client = QdrantClient(
                url=url, api_key=api_key, timeout=timeout, check_compatibility=False
            )
        else:
            self._client = QdrantClient(location=location, path=None if path is None else str(path))
        try:
            self._ensure_collection(indexes=url is not None)
        except BaseException:
            self._client.close()  # local mode holds a folder lock until closed
            raise

    @classmethod
    def class_name(cls) -> str:
        return "QdrantServerStore"

    @property
    def client(self) -> QdrantClient:
        return self._client

    def _call(self, action: str, request: Callable[[], _T]) -> _T:
        """Runs one client request; turns transport and server errors into StoreError."""
        try:
            return request()
        except ResponseHandlingException as exc:
            raise StoreError(
                f"Cannot reach the Qdrant server at {self._target} ({action}: {exc.source}). "
                "Check QDRANT_URL and that the server is running."
            ) from exc
        except UnexpectedResponse as exc:
            if exc.status_code in (401, 403):
                raise StoreError(
                    f"The Qdrant server at {self._target} refused the request ({action}: "
                    f"HTTP {exc.status_code}). Check QDRANT_API_KEY and QDRANT_URL."
                ) from exc
            raise StoreError(
                f"Qdrant {action} failed at {self._target}: HTTP {exc.status_code} "
                f"{exc.content.decode(errors='replace')[:300]}"
            ) from exc

    def _ensure_collection(self, *, indexes: bool) -> None:
        name = self.collection
        if not self._call("collection lookup", lambda: self._client.collection_exists(name)):
            try:
                self._call("collection creation", self._create_collection)
            except StoreError as exc:
                # Another process (an API worker, an ingest job) created it first: use theirs.
                cause = exc.__cause__
                if not (isinstance(cause, UnexpectedResponse) and cause.status_code == 409):
                    raise
        info = self._call("collection lookup", lambda: self._client.get_collection(name))
        self._check_layout(info)
        # Local mode has no payload indexes (qdrant-client warns and ignores them). On a server,
        # create the missing ones, so a creator that died half-way is repaired by the next open.
        if indexes:
            for field in INDEXED_KEYWORDS:
                if field in (info.payload_schema or {}):
                    continue
                schema = models.KeywordIndexParams(
                    type=models.KeywordIndexType.KEYWORD, is_tenant=field == "tenant"
                )
                self._call(
                    "payload index creation",
                    partial(
                        self._client.create_payload_index,
                        name,
                        field,
                        field_schema=schema,
                        wait=True,
                    ),
                )

    def _create_collection(self) -> bool:
        return self._client.create_collection(
            self.collection,
            vectors_config={
                DENSE: models.VectorParams(size=self.dimension, distance=models.Distance.COSINE),
                PASSAGES: models.VectorParams(
                    size=self.dimension,
                    distance=models.Distance.COSINE,
                    multivector_config=models.MultiVectorConfig(
                        comparator=models.MultiVectorComparator.MAX_SIM
                    ),
                ),
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )

    def _check_layout(self, info: models.CollectionInfo) -> None:
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
        passages = vectors.get(PASSAGES) if isinstance(vectors, dict) else None
        sparse = info.config.params.sparse_vectors or {}
        fix = "Delete the collection and ingest again, or set ASSISTANT_COLLECTION to a new name."
        if dense is None or SPARSE not in sparse:
            raise StoreError(
                f"Collection {self.collection!r} at {self._target} was not created by this "
                f"assistant (it needs a dense vector {DENSE!r} and a sparse vector {SPARSE!r}). "
                + fix
            )
        if passages is None or passages.multivector_config is None:
            raise StoreError(
                f"Collection {self.collection!r} at {self._target} was created by an earlier "
                f"version of the assistant, without the multivector {PASSAGES!r}. " + fix
            )
        if dense.size != self.dimension:
            raise StoreError(
                f"Collection {self.collection!r} at {self._target} holds {dense.size}-d vectors "
                f"but the embedding model makes {self.dimension}-d ones (did the model change?). "
                + fix
            )

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
                SPARSE: models.SparseVector(indices=indices, values=values),
            }
            points.append(
                models.PointStruct(
                    id=point_id(node.node_id), vector=vectors, payload=node_payload(node)
                )
            )
        for start in range(0, len(points), _UPSERT_BATCH):
            self._upsert(points[start : start + _UPSERT_BATCH])
        return [node.node_id for node in nodes]

    @property
    def writes(self) -> int:
        """Only this process's writes: other writers to the server are not seen."""
        return self._writes

    def _upsert(self, points: list[models.PointStruct]) -> None:
        try:
            self._call(
                "upsert", lambda: self._client.upsert(self.collection, points=points, wait=True)
            )
        finally:
            self._writes += 1  # a failed write may have changed something too

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Removes a document's chunks and its manifest."""
        try:
            self._call(
                "delete",
                lambda: self._client.delete(
                    self.collection,
                    points_selector=models.FilterSelector(filter=_match("doc_id", ref_doc_id)),
                    wait=True,
                ),
            )
        finally:
            self._writes += 1

    def put_manifest(self, manifest: DocumentManifest) -> None:
        self._upsert(
            [
                models.PointStruct(
                    id=point_id(f"manifest:{manifest.doc_id}"),
                    vector={},
                    payload=manifest_payload(manifest),
                )
            ]
        )

    def manifests(self) -> dict[str, DocumentManifest]:
        return {m["doc_id"]: payload_manifest(m) for m in self._scroll(_match("kind", MANIFEST))}

    def chunk_doc_ids(self) -> set[str]:
        return {str(p["doc_id"]) for p in self._scroll(_match("kind", CHUNK), fields=["doc_id"])}

    def count(self) -> int:
        result = self._call(
            "count",
            lambda: self._client.count(
                self.collection, count_filter=_match("kind", CHUNK), exact=True
            ),
        )
        return int(result.count)

    def _scroll(self, flt: models.Filter, fields: list[str] | None = None) -> list[dict[str, Any]]:
        payloads: list[dict[str, Any]] = []
        offset: Any = None
        while True:
            records, offset = self._call(
                "scroll",
                partial(
                    self._client.scroll,
                    self.collection,
                    scroll_filter=flt,
                    limit=_SCROLL_PAGE,
                    offset=offset,
                    with_payload=fields or True,
                    with_vectors=False,
                ),
            )
            payloads.extend(r.payload or {} for r in records)
            if offset is None:
                return payloads

    def chunks(self, filters: MetadataFilters, *, limit: int) -> list[TextNode]:
        records, _ = self._call(
            "scroll",
            partial(
                self._client.scroll,
                self.collection,
                scroll_filter=_qdrant_filter(require_caller_filters(filters)),
                limit=limit,
                with_payload=True,
                with_vectors=False,
            ),
        )
        return [payload_node(r.payload or {}) for r in records]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        flt = _qdrant_filter(require_caller_filters(query.filters))
        limit = query.similarity_top_k
        branch_limit = prefetch_depth(limit)
        dense = list(query.query_embedding) if query.query_embedding is not None else None
        sparse = None
        if query.query_str:
            indices, values = self._bm25.query(query.query_str)
            sparse = models.SparseVector(indices=indices, values=values)

        request: dict[str, Any]
        mode = query.mode
        if mode == VectorStoreQueryMode.HYBRID and dense is not None and sparse is not None:
            passage_copies, sparse_copies = fusion_copies(query.alpha)
            closest_passage = models.Prefetch(
                query=[dense],
                using=PASSAGES,
                filter=flt,
                limit=branch_limit,
                params=models.SearchParams(hnsw_ef=PASSAGE_HNSW_EF),
            )
            bm25 = models.Prefetch(query=sparse, using=SPARSE, filter=flt, limit=branch_limit)
            request = {
                "prefetch": [closest_passage] * passage_copies + [bm25] * sparse_copies,
                "query": models.FusionQuery(fusion=models.Fusion.DBSF),
            }
        elif mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH):
            if sparse is None:
                raise ValueError("A sparse query needs query_str.")
            request = {"query": sparse, "using": SPARSE}
        else:
            if dense is None:
                raise ValueError("A dense query needs query_embedding.")
            request = {"query": dense, "using": DENSE}
        response = self._call(
            "query",
            lambda: self._client.query_points(
                self.collection,
                **request,
                query_filter=flt,
                limit=limit,
                with_payload=True,
                with_vectors=[DENSE],
            ),
        )
        points = response.points
        nodes = [payload_node(p.payload or {}, dense_vector(p.vector)) for p in points]
        return VectorStoreQueryResult(
            nodes=nodes,
            similarities=[float(p.score) for p in points],
            ids=[n.node_id for n in nodes],
        )

    def optimize(self) -> None:
        """A Qdrant server optimizes in the background by itself."""

    def close(self) -> None:
        self._client.close()


def _match(key: str, value: str) -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))]
    )


def _qdrant_filter(filters: MetadataFilters) -> models.Filter:
    """Translates llama-index metadata filters into a Qdrant filter over chunks."""
    return models.Filter(
        must=[
            models.FieldCondition(key="kind", match=models.MatchValue(value=CHUNK)),
            _qdrant_group(filters),
        ]
    )


def _qdrant_group(filters: MetadataFilters) -> models.Filter:
    conditions = [_qdrant_condition(f) for f in filters.filters]
    if filters.condition == FilterCondition.OR:
        return models.Filter(should=conditions)
    if filters.condition == FilterCondition.NOT:
        return models.Filter(must_not=conditions)
    return models.Filter(must=conditions)


def _qdrant_condition(item: MetadataFilter | MetadataFilters) -> models.Condition:
    if isinstance(item, MetadataFilters):
        return _qdrant_group(item)
    value = item.value
    if item.operator == FilterOperator.IS_EMPTY:  # missing, null or []
        return models.IsEmptyCondition(is_empty=models.PayloadField(key=item.key))
    if item.operator == FilterOperator.EQ:
        return models.FieldCondition(
            key=item.key, match=models.MatchValue(value=filter_scalar(value))
        )
    if item.operator in (FilterOperator.IN, FilterOperator.ANY):
        return models.FieldCondition(key=item.key, match=models.MatchAny(any=_values(value)))
    if item.operator == FilterOperator.NIN:
        return models.FieldCondition(
            key=item.key, match=models.MatchExcept(**{"except": _values(value)})
        )
    if item.operator == FilterOperator.NE:
        return models.Filter(
            must_not=[
                models.FieldCondition(
                    key=item.key, match=models.MatchValue(value=filter_scalar(value))
                )
            ]
        )
    raise ValueError(f"Filter operator {item.operator} is not supported by QdrantServerStore.")


def _values(value: object) -> list[str] | list[int]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]
    raise ValueError(f"Filter value {value!r} must be a list of strings or of integers.")
