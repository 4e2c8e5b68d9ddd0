"""BM25 sparse vectors from Qdrant's own tokenizer; the same vectors work on a Qdrant server."""

from qdrant_edge import Bm25, Bm25Config


class Bm25Encoder:
    def __init__(self) -> None:
        self._model = Bm25(Bm25Config(language="english"))

    def document(self, text: str) -> tuple[list[int], list[float]]:
        vector = self._model.embed_document(text)
        return list(vector.indices), list(vector.values)

    def query(self, text: str) -> tuple[list[int], list[float]]:
        vector = self._model.embed_query(text)
        return list(vector.indices), list(vector.values)
