"""How a llama-index node is laid out as a Qdrant point, shared by every Qdrant-backed store."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import DocumentManifest

DENSE = "dense"
# A multivector of the chunk's passages (ingest/chunker.py), compared by MaxSim: a chunk scores
# as its passage closest to the question. Chunks of one passage hold their dense vector here.
PASSAGES = "passages"
SPARSE = "bm25"
CHUNK = "chunk"
MANIFEST = "manifest"
# Payload fields with an index: everything a query filters or an ingest deletes by.
INDEXED_KEYWORDS = ("audience", "source_type", "doc_id", "kind", "tenant", "source_root")
_NAMESPACE = uuid.UUID("5b0f3c5e-7f1e-4a8e-9a55-1c2d9f3b7a10")


@dataclass(frozen=True)
class SparseVector:
    """A BM25 vector as both clients take it: term ids and their weights."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class ChunkPoint:
    """A node laid out as a point, before any client's types: id, named vectors, payload."""

    id: str
    dense: list[float]
    passages: list[list[float]]
    sparse: SparseVector
    payload: dict[str, Any]


def chunk_points(
    nodes: Sequence[BaseNode],
    *,
    passages: Mapping[str, list[list[float]]] | None,
    bm25: Bm25Encoder,
) -> list[ChunkPoint]:
    """The points of embedded nodes; `passages` maps a node id to its passages' vectors (a node
    without any is its own one passage). Raises ValueError for a node without an embedding."""
    points = []
    for node in nodes:
        if node.embedding is None:
            raise ValueError(f"Node {node.node_id} has no embedding; embed before add().")
        indices, values = bm25.document(node.get_content(MetadataMode.EMBED))
        embedding = list(node.embedding)
        points.append(
            ChunkPoint(
                id=point_id(node.node_id),
                dense=embedding,
                passages=(passages or {}).get(node.node_id) or [embedding],
                sparse=SparseVector(indices, values),
                payload=node_payload(node),
            )
        )
    return points


def point_id(key: str) -> str:
    """Qdrant ids are UUIDs; derive them from our stable string ids."""
    return str(uuid.uuid5(_NAMESPACE, key))


def node_payload(node: BaseNode) -> dict[str, Any]:
    return {
        **node.metadata,
        "kind": CHUNK,
        "node_id": node.node_id,
        "doc_id": node.ref_doc_id or node.metadata.get("doc_id", ""),
        "text": node.get_content(),
    }


def payload_node(payload: dict[str, Any], embedding: list[float] | None = None) -> TextNode:
    meta = {k: v for k, v in payload.items() if k not in ("kind", "node_id", "text")}
    # All in the constructor: assigning `embedding` afterwards validated its 384 floats again.
    return TextNode(
        id_=str(payload["node_id"]),
        text=str(payload.get("text", "")),
        metadata=meta,
        embedding=embedding,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=str(payload["doc_id"]))},
    )


def point_node(point: Any) -> TextNode:
    """A point or record a client returned with its payload and dense vector, as a node."""
    return payload_node(point.payload or {}, dense_vector(point.vector))


def manifest_payload(manifest: DocumentManifest) -> dict[str, Any]:
    return {"kind": MANIFEST, **manifest.__dict__}


def payload_manifest(payload: dict[str, Any]) -> DocumentManifest:
    return DocumentManifest(
        doc_id=str(payload["doc_id"]),
        document=str(payload["document"]),
        source_root=str(payload["source_root"]),
        content_hash=str(payload["content_hash"]),
        chunk_count=int(payload["chunk_count"]),
    )


def dense_vector(vector: Any) -> list[float] | None:
    """The dense vector of a returned point's named vectors, if it came back."""
    if isinstance(vector, dict) and DENSE in vector:
        values = vector[DENSE]
        # Both clients return plain lists of floats; converting each element cost ~1 ms a query.
        return values if isinstance(values, list) else [float(x) for x in values]
    return None


def filter_scalar(value: object) -> str | int | bool:
    """A value an exact-match filter condition accepts."""
    if isinstance(value, str | int | bool):
        return value
    raise ValueError(f"Filter value {value!r} must be a string, integer or boolean.")
