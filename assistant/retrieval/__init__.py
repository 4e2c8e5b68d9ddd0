"""Retrieval: a question in, the chunks that answer it out (hybrid query, shaping, fusion).

`Retriever` is the seam the Answerer uses: `HybridRetriever` over a store in production,
`FixedRetriever` (retrieval/fake.py) where tests need chunks but not the engine."""

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from assistant.types import ScoredChunk


class Retriever(Protocol):
    top_k: int

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
        """The chunks that answer `question`, best first, that a caller of `audiences` (and
        `tenant`) may read."""
        ...

    @property
    def writes(self) -> int:
        """How many writes the content has had: an answer cached before it changed is stale."""
        ...
