"""all-MiniLM-L6-v2 (or any mean/CLS-pooled sentence-transformers folder) on onnxruntime.

The same vectors as sentence-transformers on torch (cosine 0.9999997 on our dev questions) for
less than half the CPU per question, and with threads we control: a question runs on one
thread, so concurrent API requests use the cores side by side instead of fighting over torch's
spinning intra-op threads (benchmarks/embedders.py). Batches (ingest) use every core.

With `int8_questions`, questions run on a copy with int8 MatMul weights while content stays
float32: 4 ms of CPU per question instead of 7, the most expensive step of a computed answer,
for vectors at cosine 0.99 to the float32 ones and the same retrieval on the Samsung TV manual
(benchmarks/embedders.py, "onnx, int8 questions"). Content vectors are stored and reused, so
they keep full precision.
"""

import json
import os
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from assistant.embedders import BatchingEmbedder, unit_rows
from assistant.embedders.onnx_export import cached_onnx_path
from assistant.embedders.sentence_transformer import packaged_model_path

SMALL_BATCH = 4  # up to this many texts (a question, a condensed follow-up) run on one thread


class OnnxEmbedder(BatchingEmbedder):
    def __init__(
        self,
        model_path: Path | None = None,
        *,
        cache_dir: Path,
        int8: bool = False,
        int8_questions: bool = False,
        batch_size: int = 64,
    ) -> None:
        super().__init__(batch_size=batch_size)
        import onnxruntime
        from tokenizers import Tokenizer

        path = Path(model_path or packaged_model_path())
        tokenizer_file = path / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise FileNotFoundError(
                f"No fast tokenizer (tokenizer.json) at {path}: set ASSISTANT_EMBEDDING_MODEL_PATH "
                "to a sentence-transformers folder, or ASSISTANT_EMBEDDING_RUNTIME=torch."
            )
        self.max_tokens = _max_seq_length(path)
        self._counter = Tokenizer.from_file(str(tokenizer_file))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.enable_padding()

        self._onnx_file = cached_onnx_path(path, cache_dir, int8=int8)
        self._single = _session(onnxruntime, self._onnx_file, threads=1)
        self._question_session = (
            _session(onnxruntime, cached_onnx_path(path, cache_dir, int8=True), threads=1)
            if int8_questions and not int8
            else self._single
        )
        self.dimension = int(self._single.get_outputs()[0].shape[-1])

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        session = self._single if len(texts) <= SMALL_BATCH else self._parallel_session
        return self._run(session, texts)

    def embed_question(self, question: str) -> np.ndarray:
        return unit_rows(self._run(self._question_session, [question]))[0]

    def _run(self, session: Any, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return np.asarray(session.run(None, feed)[0])

    @cached_property
    def _parallel_session(self) -> Any:
        """Made on the first batch: a server that only embeds questions never loads it."""
        import onnxruntime

        return _session(onnxruntime, self._onnx_file, threads=os.cpu_count() or 1)

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=True).ids)


def _max_seq_length(model_path: Path) -> int:
    config = model_path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def _session(onnxruntime: ModuleType, onnx_file: Path, *, threads: int) -> Any:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
