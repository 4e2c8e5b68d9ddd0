"""The ONNX runtime gives the vectors and token counts sentence-transformers on torch gives."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.embedders.onnx_runtime import OnnxEmbedder
from assistant.embedders.sentence_transformer import (
    SentenceTransformerEmbedder,
    packaged_model_path,
)

TEXTS = [
    "How do I reset my password?",
    "what about on mobile",
    "Invoices > Reminders: turn on automatic payment reminders, up to 3 per invoice.",
    "Ünïcödé, emoji 🙂 and tabs\tin one line",
    "word " * 400,  # longer than MiniLM's 256 tokens: truncated the same way
    "",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(cache_dir=cache_dir)


def test_vectors_match_torch_one_by_one_and_padded_in_a_batch(
    onnx_embedder: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    expected = torch_embedder.embed(TEXTS)
    one_by_one = np.vstack([onnx_embedder.embed([text]) for text in TEXTS])
    batched = onnx_embedder.embed(TEXTS * 2)  # > SMALL_BATCH: the all-cores session
    assert one_by_one.shape == (len(TEXTS), 384)
    assert np.min(np.sum(one_by_one * expected, axis=1)) > 0.9999
    assert np.min(np.sum(batched[: len(TEXTS)] * expected, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_token_counts_match_torch_without_truncation(
    onnx_embedder: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    for text in TEXTS:
        assert onnx_embedder.count_tokens(text) == torch_embedder.count_tokens(text)
    assert onnx_embedder.count_tokens("word " * 400) > onnx_embedder.max_tokens == 256


def test_export_happens_once_then_the_cached_file_is_reused(
    onnx_embedder: OnnxEmbedder, cache_dir: Path
) -> None:
    [exported] = list(cache_dir.glob("*.onnx"))
    before = exported.stat().st_mtime_ns
    again = OnnxEmbedder(cache_dir=cache_dir)
    assert again.embed(["hello"]).shape == (1, 384)
    assert [p.stat().st_mtime_ns for p in cache_dir.glob("*.onnx")] == [before]


def test_int8_stays_close_to_the_original(
    cache_dir: Path, torch_embedder: SentenceTransformerEmbedder
) -> None:
    int8 = OnnxEmbedder(cache_dir=cache_dir, int8=True)
    cosines = np.sum(int8.embed(TEXTS[:4]) * torch_embedder.embed(TEXTS[:4]), axis=1)
    assert np.min(cosines) > 0.98
    assert len(list(cache_dir.glob("*.int8.onnx"))) == 1


def test_int8_questions_leave_content_vectors_float32(
    cache_dir: Path, onnx_embedder: OnnxEmbedder
) -> None:
    mixed = OnnxEmbedder(cache_dir=cache_dir, int8_questions=True)
    assert np.array_equal(mixed.embed(TEXTS), onnx_embedder.embed(TEXTS))
    for question in TEXTS[:4]:
        asked = mixed.embed_question(question)
        exact = onnx_embedder.embed_question(question)
        assert asked.dtype == np.float32 and abs(np.linalg.norm(asked) - 1.0) < 1e-5
        assert 0.98 < float(asked @ exact) < 0.99999  # close, yet the int8 model answered


def test_a_pooling_onnx_cannot_express_is_refused_with_the_fix(tmp_path: Path) -> None:
    model = tmp_path / "max-pooled"
    shutil.copytree(packaged_model_path(), model)
    config = model / "1_Pooling" / "config.json"
    settings = json.loads(config.read_text())
    settings.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    config.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="ASSISTANT_EMBEDDING_RUNTIME=torch"):
        OnnxEmbedder(model, cache_dir=tmp_path / "cache")
