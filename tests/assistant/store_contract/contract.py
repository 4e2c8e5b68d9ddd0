"""What the Store contract tests share: the backends under test, and nodes and queries built
with the fake embedder.

EdgeStore runs on a temporary folder; QdrantServerStore runs in qdrant-client's local mode
(`:memory:`, or `path=` where persistence is tested), which speaks the same client API as a
server. The fixtures over these are in conftest.py.
"""

from collections.abc import Callable
from pathlib import Path

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import Store, audience_filters
from assistant.stores.edge import EdgeStore
from assistant.stores.qdrant_server import QdrantServerStore

ALL = ["public", "partner", "internal"]
QUERY_MODES = [
    VectorStoreQueryMode.HYBRID,
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.SPARSE,
    VectorStoreQueryMode.TEXT_SEARCH,
]

# Opens a persistent store of the backend under test at a folder, with a dense dimension.
Opener = Callable[[Path, int], Store]


def open_edge(folder: Path, dimension: int) -> Store:
    return EdgeStore(folder / "edge", dimension=dimension)


def open_server(folder: Path, dimension: int) -> Store:
    return QdrantServerStore(path=folder / "qdrant", collection="contract", dimension=dimension)


def make_node(
    embedder: FakeEmbedder,
    doc_id: str,
    index: int,
    text: str,
    audience: str,
    **metadata: str,
) -> TextNode:
    node = TextNode(
        id_=f"{doc_id}:{index}",
        text=text,
        metadata={
            "doc_id": doc_id,
            "document": f"{doc_id}.md",
            "audience": audience,
            "title": doc_id,
            **metadata,
        },
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
    node.embedding = embedder.embed([text])[0].tolist()
    return node


def make_query(
    embedder: FakeEmbedder,
    text: str,
    audiences: list[str],
    mode: VectorStoreQueryMode = VectorStoreQueryMode.HYBRID,
    *extra: MetadataFilter | MetadataFilters,
    top_k: int = 5,
    tenant: str | None = None,
) -> VectorStoreQuery:
    return VectorStoreQuery(
        query_embedding=embedder.embed([text])[0].tolist(),
        query_str=text,
        similarity_top_k=top_k,
        mode=mode,
        filters=audience_filters(audiences, *extra, tenant=tenant),
    )


def doc_ids(store: Store, request: VectorStoreQuery) -> list[str]:
    return [node.ref_doc_id or "" for node in store.query(request).nodes or []]
