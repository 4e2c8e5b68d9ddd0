"""QdrantServerStore: a Qdrant server or cluster through qdrant-client, same layout as EdgeStore."""

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQueryResult
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from assistant.stores import DocumentManifest, StoreError, payload
from assistant.stores import query_plan as qp
from assistant.stores.qdrant_base import QdrantBaseStore

_UPSERT_BATCH = 256
_T = TypeVar("_T")


class QdrantServerStore(QdrantBaseStore):
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

    url: str | None
    collection: str
    dimension: int

    _client: QdrantClient = PrivateAttr()
    _target: str = PrivateAttr()

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
            for field in payload.INDEXED_KEYWORDS:
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
        dense = models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)
        return self._client.create_collection(
            self.collection,
            vectors_config={
                payload.DENSE: dense,
                payload.PASSAGES: models.VectorParams(
                    size=self.dimension,
                    distance=models.Distance.COSINE,
                    multivector_config=models.MultiVectorConfig(
                        comparator=models.MultiVectorComparator.MAX_SIM
                    ),
                ),
            },
            sparse_vectors_config={
                payload.SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
            },
        )

    def _check_layout(self, info: models.CollectionInfo) -> None:
        vectors = info.config.params.vectors
        dense = vectors.get(payload.DENSE) if isinstance(vectors, dict) else None
        passages = vectors.get(payload.PASSAGES) if isinstance(vectors, dict) else None
        sparse = info.config.params.sparse_vectors or {}
        fix = "Delete the collection and ingest again, or set ASSISTANT_COLLECTION to a new name."
        if dense is None or payload.SPARSE not in sparse:
            raise StoreError(
                f"Collection {self.collection!r} at {self._target} was not created by this "
                f"assistant (it needs a dense vector {payload.DENSE!r} and a sparse vector "
                f"{payload.SPARSE!r}). " + fix
            )
        if passages is None or passages.multivector_config is None:
            raise StoreError(
                f"Collection {self.collection!r} at {self._target} was created by an earlier "
                f"version of the assistant, without the multivector {payload.PASSAGES!r}. " + fix
            )
        if dense.size != self.dimension:
            raise StoreError(
                f"Collection {self.collection!r} at {self._target} holds {dense.size}-d vectors "
                f"but the embedding model makes {self.dimension}-d ones (did the model change?). "
                + fix
            )

    def _upsert_chunks(self, points: list[payload.ChunkPoint]) -> None:
        structs = [_point(p) for p in points]
        for start in range(0, len(structs), _UPSERT_BATCH):
            self._upsert(structs[start : start + _UPSERT_BATCH])

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
                    id=payload.point_id(f"manifest:{manifest.doc_id}"),
                    vector={},
                    payload=payload.manifest_payload(manifest),
                )
            ]
        )

    def count(self) -> int:
        result = self._call(
            "count",
            lambda: self._client.count(
                self.collection, count_filter=_match("kind", payload.CHUNK), exact=True
            ),
        )
        return int(result.count)

    def _payload_page(
        self, kind: str, *, fields: list[str] | None, offset: Any, limit: int
    ) -> tuple[list[dict[str, Any]], Any]:
        records, next_offset = self._call(
            "scroll",
            partial(
                self._client.scroll,
                self.collection,
                scroll_filter=_match("kind", kind),
                limit=limit,
                offset=offset,
                with_payload=fields or True,
                with_vectors=False,
            ),
        )
        return [r.payload or {} for r in records], next_offset

    def _read_chunks(self, where: qp.Group, *, limit: int) -> list[TextNode]:
        records, _ = self._call(
            "scroll",
            partial(
                self._client.scroll,
                self.collection,
                scroll_filter=_filter(where),
                limit=limit,
                with_payload=True,
                with_vectors=False,
            ),
        )
        return [payload.payload_node(r.payload or {}) for r in records]

    def _run(self, plan: qp.QueryPlan) -> VectorStoreQueryResult:
        request = _request(plan)
        response = self._call(
            "query",
            lambda: self._client.query_points(
                self.collection, **request, with_payload=True, with_vectors=[payload.DENSE]
            ),
        )
        nodes = [payload.point_node(p) for p in response.points]
        return VectorStoreQueryResult(
            nodes=nodes,
            similarities=[float(p.score) for p in response.points],
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


def _point(chunk: payload.ChunkPoint) -> models.PointStruct:
    vectors: dict[str, Any] = {
        payload.DENSE: chunk.dense,
        payload.PASSAGES: chunk.passages,
        payload.SPARSE: _sparse(chunk.sparse),
    }
    return models.PointStruct(id=chunk.id, vector=vectors, payload=chunk.payload)


def _request(plan: qp.QueryPlan) -> dict[str, Any]:
    """The plan as query_points arguments, all but the collection and what to return."""
    flt = _filter(plan.filter)
    if isinstance(plan.search, qp.Nearest):
        query, using = _query(plan.search)
        return {"query": query, "using": using, "query_filter": flt, "limit": plan.limit}
    return {
        "prefetch": [_prefetch(branch, flt) for branch in plan.search.branches],
        "query": models.FusionQuery(fusion=models.Fusion.DBSF),
        "query_filter": flt,
        "limit": plan.limit,
    }


def _prefetch(branch: qp.Branch, flt: models.Filter) -> models.Prefetch:
    query, using = _query(branch.nearest)
    params = None if branch.hnsw_ef is None else models.SearchParams(hnsw_ef=branch.hnsw_ef)
    return models.Prefetch(query=query, using=using, filter=flt, limit=branch.limit, params=params)


def _query(
    nearest: qp.Nearest,
) -> tuple[list[float] | list[list[float]] | models.SparseVector, str]:
    """The query vector and the name of the vector it searches, as query_points takes them."""
    vector = nearest.vector
    return (_sparse(vector) if isinstance(vector, payload.SparseVector) else vector), nearest.using


def _sparse(vector: payload.SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)


def _filter(group: qp.Group) -> models.Filter:
    clause: dict[str, Any] = {group.clause: [_condition(c) for c in group.conditions]}
    return models.Filter(**clause)


def _condition(condition: qp.Condition) -> models.Condition:
    match condition:
        case qp.Group():
            return _filter(condition)
        case qp.Match(key, value):
            return models.FieldCondition(key=key, match=models.MatchValue(value=value))
        case qp.MatchAny(key, values):
            return models.FieldCondition(key=key, match=models.MatchAny(any=values))
        case qp.MatchExcept(key, values):
            exclude = models.MatchExcept(**{"except": values})
            return models.FieldCondition(key=key, match=exclude)
        case qp.IsEmpty(key):  # missing, null or []
            return models.IsEmptyCondition(is_empty=models.PayloadField(key=key))
