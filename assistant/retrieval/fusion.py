"""Several queries' results as one list: what a follow-up retrieves with the standalone query
and with the question as asked."""

import dataclasses

import numpy as np

from assistant.types import ScoredChunk

_RRF_K = 60


def fused(
    results: list[list[ScoredChunk]], vectors: list[np.ndarray], *, limit: int
) -> list[ScoredChunk]:
    """Result lists of several queries in one, by reciprocal rank (k=60, as commonly used):
    a chunk several queries find rises. Its similarity is its closest to any of the queries'
    `vectors`, so a follow-up's closeness is measured with the conversation as well."""
    scores: dict[str, float] = {}
    chunks: dict[str, ScoredChunk] = {}
    for result in results:
        for rank, chunk in enumerate(result):
            scores[chunk.chunk_id] = scores.get(chunk.chunk_id, 0.0) + 1 / (_RRF_K + rank + 1)
            chunks.setdefault(chunk.chunk_id, chunk)
    ranked = sorted(scores, key=lambda chunk_id: -scores[chunk_id])[:limit]
    return [_closest(chunks[chunk_id], vectors, score=scores[chunk_id]) for chunk_id in ranked]


def _closest(chunk: ScoredChunk, vectors: list[np.ndarray], *, score: float) -> ScoredChunk:
    if chunk.vector is None:
        return dataclasses.replace(chunk, score=score)
    similarity = max(float(vector @ chunk.vector) for vector in vectors)
    return dataclasses.replace(chunk, score=score, similarity=similarity)
