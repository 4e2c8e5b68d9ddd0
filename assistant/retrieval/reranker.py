"""Optional cross-encoder reranking of the retrieved candidates (`RERANKER_PATH`, off by default).

A cross-encoder reads the question and a chunk together, so it judges relevance better than
comparing two separate embeddings, at the price of one model pass per candidate: with 24
candidates a MiniLM-L6-sized cross-encoder took 1.5 s p50 per question on 2 cores
(benchmarks/reranker.py), so it is for machines with cores to spare. It only reorders what
the audience-filtered query returned, so it can never add a chunk the caller may not read.
"""

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from assistant.types import ScoredChunk


class CrossEncoderReranker:
    """Reorders chunks by a local sentence-transformers CrossEncoder's scores."""

    def __init__(self, model_path: Path, *, batch_size: int = 32) -> None:
        if not (Path(model_path) / "config.json").is_file():
            raise FileNotFoundError(
                f"RERANKER_PATH={model_path} is not a model folder (no config.json): point it at "
                "a local cross-encoder, e.g. a copy of cross-encoder/ms-marco-MiniLM-L6-v2, or "
                "unset it to rank without a reranker."
            )
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(str(model_path), device="cpu", local_files_only=True)
        self.batch_size = batch_size

    def rerank(self, question: str, chunks: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """The chunks, most relevant first; `score` becomes the cross-encoder's score."""
        if not chunks:
            return []
        pairs = [(question, chunk.text) for chunk in chunks]
        scores = self._model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        rescored = [replace(c, score=float(s)) for c, s in zip(chunks, scores, strict=True)]
        return sorted(rescored, key=lambda c: c.score, reverse=True)
