"""FakeEmbedder: deterministic bag-of-words vectors for fast tests; no model, no semantics."""

import hashlib
import re

import numpy as np

from assistant.embedders import BatchingEmbedder

_WORD = re.compile(r"\w+")


class FakeEmbedder(BatchingEmbedder):
    """Hashes each lower-cased word to a seeded unit vector and sums them.

    Texts sharing words get similar vectors, so retrieval tests behave sensibly,
    but nothing here understands language: use the real embedder for quality.
    """

    def __init__(self, *, dimension: int = 64, max_tokens: int = 256) -> None:
        super().__init__(batch_size=256)
        self.dimension = dimension
        self.max_tokens = max_tokens

    def _word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            words = _WORD.findall(text.lower()) or ["<empty>"]
            rows.append(np.sum([self._word_vector(w) for w in words], axis=0))
        return np.asarray(rows, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text)) + 2
