"""QdrantBaseStore: what every store of our Qdrant layout does the same, whatever its client."""

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import DocumentManifest
from assistant.stores.payload import CHUNK, MANIFEST, ChunkPoint, chunk_points, payload_manifest
from assistant.stores.query_plan import Group, QueryPlan, caller_filter, plan_query

_PAYLOAD_PAGE = 1000


class QdrantBaseStore(BasePydanticVectorStore):
    """Lays nodes out as points (payload.py) and plans queries (query_plan.py) once for every
    Qdrant client; a subclass translates points, plans and filters into its client's types and
    runs them (`_upsert_chunks`, `_run`, `_read_chunks`, `_payload_page`)."""

    stores_text: bool = True
    # Whether a query's filter ANDs kind=chunk in (see query_plan.caller_filter).
    query_chunks_only: ClassVar[bool] = True

    _bm25: Bm25Encoder = PrivateAttr(default_factory=Bm25Encoder)
    _writes: int = PrivateAttr(default=0)

    @classmethod
    def class_name(cls) -> str:
        return cls.__name__

    @property
    def writes(self) -> int:
        """Writes made through this object so far; a server's other writers are not seen."""
        return self._writes

    def add(
        self,
        nodes: Sequence[BaseNode],
        *,
        passages: Mapping[str, list[list[float]]] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        points = chunk_points(nodes, passages=passages, bm25=self._bm25)
        if points:
            self._upsert_chunks(points)
        return [node.node_id for node in nodes]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return self._run(plan_query(query, bm25=self._bm25, chunks_only=self.query_chunks_only))

    def chunks(self, filters: MetadataFilters, *, limit: int) -> list[TextNode]:
        return self._read_chunks(caller_filter(filters, chunks_only=True), limit=limit)

    def manifests(self) -> dict[str, DocumentManifest]:
        return {m["doc_id"]: payload_manifest(m) for m in self._payloads(MANIFEST)}

    def chunk_doc_ids(self) -> set[str]:
        return {str(p["doc_id"]) for p in self._payloads(CHUNK, fields=["doc_id"])}

    @abstractmethod
    def _upsert_chunks(self, points: list[ChunkPoint]) -> None:
        """Writes the points (at least one), replacing any with the same id."""

    @abstractmethod
    def _run(self, plan: QueryPlan) -> VectorStoreQueryResult:
        """The plan's points, best first, as nodes with their dense vectors."""

    @abstractmethod
    def _read_chunks(self, where: Group, *, limit: int) -> list[TextNode]:
        """Up to `limit` points that pass `where`, as nodes without vectors."""

    def _payloads(self, kind: str, *, fields: list[str] | None = None) -> list[dict[str, Any]]:
        """The payloads (only `fields` of them, if given) of every point of this kind."""
        payloads: list[dict[str, Any]] = []
        offset = None
        while True:
            page, offset = self._payload_page(
                kind, fields=fields, offset=offset, limit=_PAYLOAD_PAGE
            )
            payloads.extend(page)
            if offset is None:
                return payloads

    @abstractmethod
    def _payload_page(
        self, kind: str, *, fields: list[str] | None, offset: Any, limit: int
    ) -> tuple[list[dict[str, Any]], Any]:
        """Up to `limit` payloads of points of this kind from `offset` (None: the first), and
        the offset of the next page (None: there is none)."""
