"""How a question is asked is not what it is about: "how long" asks for a duration."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.embedders.fake import FakeEmbedder
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import ScoredChunk
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
    yield Answerer(
        retriever,
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )
    store.close()


def test_how_long_is_answered_by_the_duration_not_by_the_word_long(answerer: Answerer) -> None:
    answer = answerer.ask("How long is a password reset link valid?")
    assert "30 minutes" in answer.answer
    assert "characters long" not in answer.answer


def test_the_best_fused_chunk_is_quoted_even_when_another_is_closer_in_meaning() -> None:
    """MiniLM alone ranks sections far worse than fusion (benchmarks/retrieval.py): the
    section fusion put first stays quotable however far its cosine falls below the closest
    one's, while later sections that far below are still left out."""
    labelled = ScoredChunk(
        "auto",
        "Auto Motion Plus Settings: set Blur Reduction to reduce motion blur.",
        {"document": "auto.md", "title": "Configuring Auto Motion Plus"},
        2.0,
        similarity=0.26,
    )
    closer = ScoredChunk(
        "game",
        "Game Motion Plus Settings: turn on Game Motion Plus in Game Mode.",
        {"document": "game.md", "title": "Game Mode"},
        1.5,
        similarity=0.65,
    )
    unrelated = ScoredChunk(
        "wifi",
        "Auto Motion Plus Settings are described in the picture chapter.",
        {"document": "wifi.md", "title": "Network"},
        1.0,
        similarity=0.2,
    )
    synthesizer = ExtractiveSynthesizer(FakeEmbedder())
    draft = synthesizer.synthesize(
        "Can I configure Auto Motion Plus Settings?",
        [labelled, closer, unrelated],
        question_vector=np.zeros(FakeEmbedder().dimension, dtype=np.float32),
    )
    cited = [source.chunk_id for source in draft.sources]
    assert cited[0] == "auto"
    assert "wifi" not in cited
