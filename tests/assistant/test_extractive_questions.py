"""How a question is asked is not what it is about: "how long" asks for a duration."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answerer import Answerer
from assistant.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.synthesizers.extractive import ExtractiveSynthesizer
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

# The demo help article: the link's lifetime is in its steps, and its "Password requirements"
# list says "12 characters long".
ARTICLE = Path(__file__).resolve().parents[2] / "corpora" / "kb" / "reset-password.md"


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Answerer]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("how-long")
    (root / "kb").mkdir()
    (root / "kb" / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([root / "kb"], progress=False)
    retriever = HybridRetriever(store, real_embedder, top_k=6)
    yield Answerer(retriever, ExtractiveSynthesizer(real_embedder))
    store.close()


def test_how_long_is_answered_by_the_duration_not_by_the_word_long(answerer: Answerer) -> None:
    answer = answerer.ask("How long is a password reset link valid?")
    assert "30 minutes" in answer.answer
    assert "characters long" not in answer.answer
