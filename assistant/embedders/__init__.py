"""The embedder seam: texts in, unit-length vectors out."""

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    dimension: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        ...

    def embed_question(self, question: str) -> np.ndarray:
        """One question's unit vector, compared with the vectors `embed` gave the content."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        ...


class BatchingEmbedder:
    """Base that batches and normalises; subclasses implement `embed_batch` only."""

    dimension: int
    max_tokens: int

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def embed_question(self, question: str) -> np.ndarray:
        return self.embed([question])[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self.embed_batch(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return unit_rows(np.vstack(parts))


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 rows scaled to length 1 (an all-zero row stays zero)."""
    vectors = vectors.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
