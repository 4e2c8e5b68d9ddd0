"""Question in, audience-filtered hybrid search in the store, scored chunks out."""

from collections.abc import Sequence

import numpy as np
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders import Embedder
from assistant.stores import Store, audience_filters
from assistant.types import ScoredChunk


class HybridRetriever:
    """Dense MiniLM + BM25, fused inside Qdrant, filtered by audience inside the query."""

    def __init__(self, store: Store, embedder: Embedder, *, top_k: int = 8) -> None:
        self.store = store
        self.embedder = embedder
        self.top_k = top_k

    def retrieve(
        self,
        question: str,
        *,
        audiences: Sequence[str],
        top_k: int | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[ScoredChunk]:
        vector = self.embedder.embed([question])[0] if query_vector is None else query_vector
        result = self.store.query(
            VectorStoreQuery(
                query_embedding=vector.tolist(),
                query_str=question,
                similarity_top_k=top_k or self.top_k,
                mode=VectorStoreQueryMode.HYBRID,
                filters=audience_filters(audiences),
            )
        )
        chunks = []
        for node, score in zip(result.nodes or [], result.similarities or [], strict=True):
            similarity = (
                float(np.dot(vector, np.asarray(node.embedding))) if node.embedding else 0.0
            )
            chunks.append(
                ScoredChunk(
                    chunk_id=node.node_id,
                    text=node.get_content(),
                    metadata=dict(node.metadata),
                    score=float(score),
                    similarity=similarity,
                )
            )
        return chunks
