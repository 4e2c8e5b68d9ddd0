"""BM25 sparse vectors from Qdrant's own tokenizer; the same vectors work on a Qdrant server."""

from qdrant_edge import Bm25, Bm25Config

_CONFIG = Bm25Config(language="english")


class Bm25Encoder:
    def __init__(self) -> None:
        self._model = Bm25(_CONFIG)

    def document(self, text: str) -> tuple[list[int], list[float]]:
        vector = self._model.embed_document(text)
        return list(vector.indices), list(vector.values)

    def query(self, text: str) -> tuple[list[int], list[float]]:
        vector = self._model.embed_query(text)
        return list(vector.indices), list(vector.values)


_TERMS = Bm25(_CONFIG)


def bm25_terms(text: str) -> frozenset[int]:
    """The term ids BM25 indexes a text by (stemmed, without stopwords), as in its sparse
    vector."""
    return frozenset(_TERMS.embed_document(text).indices)
