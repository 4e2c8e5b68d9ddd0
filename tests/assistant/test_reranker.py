"""The optional cross-encoder reranker (RERANKER_PATH).

No trained cross-encoder can be installed here, so these tests build a tiny, randomly
initialised one (MiniLM's tokenizer, a 2-layer BERT with one output) in a temporary folder:
they check the plumbing (loading from a local path, reordering by the model's scores, never
adding chunks), not ranking quality.
"""

from pathlib import Path

import pytest

from assistant.embedders import Embedder
from assistant.embedders.sentence_transformer import packaged_model_path
from assistant.retrieval.reranker import CrossEncoderReranker
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.stores.edge import EdgeStore
from assistant.wiring import build_components
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    torch.manual_seed(7)
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_chunks_come_back_in_the_cross_encoders_order_and_none_is_added(
    tmp_path: Path, tiny_cross_encoder: Path, real_embedder: Embedder
) -> None:
    from sentence_transformers import CrossEncoder

    store = EdgeStore(tmp_path / "edge", dimension=real_embedder.dimension)
    try:
        chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
        IngestJob(store, real_embedder, chunker).run([write_corpus(tmp_path / "corpus")])
        question = "How do I reset my password?"
        plain = HybridRetriever(store, real_embedder, top_k=50)
        reranked = HybridRetriever(
            store, real_embedder, top_k=50, reranker=CrossEncoderReranker(tiny_cross_encoder)
        )
        before = plain.retrieve(question, audiences=["public"])
        after = reranked.retrieve(question, audiences=["public"])
    finally:
        store.close()
    assert {c.chunk_id for c in after} == {c.chunk_id for c in before}
    assert all(c.metadata["audience"] == "public" for c in after)
    model = CrossEncoder(str(tiny_cross_encoder), device="cpu", local_files_only=True)
    expected = model.predict([(question, c.text) for c in after], show_progress_bar=False)
    assert [c.score for c in after] == pytest.approx([float(s) for s in expected], abs=1e-5)
    assert [c.chunk_id for c in after] != [c.chunk_id for c in before] or len(after) < 2


def test_a_path_that_is_not_a_model_is_a_clear_error_before_the_store_opens(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        RERANKER_PATH=str(tmp_path / "nowhere"),  # type: ignore[call-arg]
    )
    with pytest.raises(FileNotFoundError, match="RERANKER_PATH"):
        build_components(settings, embedder=real_embedder)
    # Nothing was left open: the store can be opened at once.
    EdgeStore(settings.edge_path, dimension=real_embedder.dimension).close()
