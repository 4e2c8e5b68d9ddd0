"""FixedRetriever: the same chunks for every question, for tests of what happens after
retrieval (composition, confidence, sessions) where the search engine does not matter."""

from collections.abc import Sequence

import numpy as np

from assistant.types import ScoredChunk


class FixedRetriever:
    """Returns `chunks` in their order, without the ones `audiences` may not read (a chunk's
    `audience` metadata, "public" when absent) and at most `top_k`."""

    def __init__(self, chunks: Sequence[ScoredChunk], *, top_k: int = 8) -> None:
        self.chunks = list(chunks)
        self.top_k = top_k
        self.writes = 0

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
        readable = [c for c in self.chunks if c.metadata.get("audience", "public") in audiences]
        return readable[: top_k or self.top_k]
