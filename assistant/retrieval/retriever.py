"""Question in, audience- and tenant-filtered hybrid search in the store, scored chunks out."""

from collections.abc import Sequence

import numpy as np
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders import Embedder
from assistant.retrieval.passage_terms import favour_passage_matches
from assistant.retrieval.reranker import CrossEncoderReranker
from assistant.retrieval.shaping import product_labels, shape
from assistant.stores import Store, audience_filters
from assistant.types import ScoredChunk

CANDIDATE_FACTOR = 3
# DBSF weight of the dense branch (llama-index's `alpha`) for a question that names a product
# label ("Auto Motion Plus Settings", 'Learn TV Remote'): such questions are answered by the
# chunks that spell the label out, so BM25 counts three times (0.25 = 1 : 3). Other questions
# fuse evenly: BM25 counted double for them cost paraphrased Ledgerly questions
# (benchmarks/retrieval.py measures the Samsung side).
LABELED_QUESTION_ALPHA = 0.25


class HybridRetriever:
    """Dense MiniLM + BM25, fused inside Qdrant, filtered by audience and tenant inside the
    query."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        top_k: int = 8,
        reranker: CrossEncoderReranker | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.top_k = top_k
        self.reranker = reranker

    @property
    def writes(self) -> int:
        return self.store.writes

    def retrieve(
        self,
        question: str,
        *,
        audiences: Sequence[str],
        tenant: str | None = None,
        top_k: int | None = None,
        query_vector: np.ndarray | None = None,
        product_version: str | None = None,
        page: str | None = None,
    ) -> list[ScoredChunk]:
        """`tenant` adds that tenant's content to the shared content (without one, shared
        only); `product_version` keeps content for that version when any matches; `page` (where
        the user is in the product) ranks content made for it higher. See
        assistant/retrieval/shaping.py.
        """
        vector = self.embedder.embed_question(question) if query_vector is None else query_vector
        limit = top_k or self.top_k
        result = self.store.query(
            VectorStoreQuery(
                query_embedding=vector.tolist(),
                query_str=question,
                # Shaping picks from more candidates than it returns.
                similarity_top_k=limit * CANDIDATE_FACTOR,
                mode=VectorStoreQueryMode.HYBRID,
                alpha=LABELED_QUESTION_ALPHA if product_labels(question) else None,
                filters=audience_filters(audiences, tenant=tenant),
            )
        )
        chunks = []
        for node, score in zip(result.nodes or [], result.similarities or [], strict=True):
            # float32 as embedded: a float64 copy would make every product with it cast.
            chunk_vector = np.asarray(node.embedding, dtype=np.float32) if node.embedding else None
            chunks.append(
                ScoredChunk(
                    chunk_id=node.node_id,
                    text=node.get_content(),
                    metadata=dict(node.metadata),
                    score=float(score),
                    similarity=float(vector @ chunk_vector) if chunk_vector is not None else 0.0,
                    vector=chunk_vector,
                )
            )
        chunks = favour_passage_matches(chunks, question)
        if self.reranker is not None:
            chunks = self.reranker.rerank(question, chunks)
        return shape(
            chunks, limit=limit, question=question, product_version=product_version, page=page
        )
