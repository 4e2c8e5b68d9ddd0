"""Store contract: what a query returns (text, metadata, vectors, scores, at most top_k) and in
which order, in each query mode; both backends rank and score alike."""

from pathlib import Path

import numpy as np
import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from assistant.embedders.fake import FakeEmbedder
from assistant.stores import MAX_FUSION_COPIES, Store, audience_filters, fusion_copies
from tests.assistant.store_contract.contract import (
    ALL,
    QUERY_MODES,
    doc_ids,
    make_node,
    make_query,
    open_edge,
    open_server,
)


def test_every_store_is_a_llama_index_vector_store(store: Store) -> None:
    assert isinstance(store, BasePydanticVectorStore) and store.stores_text


def test_results_carry_text_metadata_and_dense_vector(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    result = filled.query(make_query(fake_embedder, "when do reset links expire", ["public"]))
    top = (result.nodes or [])[0]
    assert top.get_content() == "reset links expire after thirty minutes"
    assert top.ref_doc_id == "reset" and top.node_id == "reset:1"
    assert top.metadata["document"] == "reset.md" and top.metadata["source_type"] == "kb"
    assert top.embedding is not None and len(top.embedding) == fake_embedder.dimension
    assert result.ids == [n.node_id for n in result.nodes or []]
    assert len(result.similarities or []) == len(result.nodes or [])


def test_dense_scores_are_cosine_similarities_of_the_returned_vectors(
    filled: Store, fake_embedder: FakeEmbedder
) -> None:
    request = make_query(fake_embedder, "reset password", ALL, VectorStoreQueryMode.DEFAULT)
    result = filled.query(request)
    query_vector = np.asarray(request.query_embedding)
    query_vector /= np.linalg.norm(query_vector)
    scores = result.similarities or []
    assert scores == sorted(scores, reverse=True)
    for node, score in zip(result.nodes or [], scores, strict=True):
        stored = np.asarray(node.embedding)
        assert np.linalg.norm(stored) == pytest.approx(1.0, abs=1e-4)
        assert float(query_vector @ stored) == pytest.approx(score, abs=1e-4)


def test_top_k_limits_results_in_every_mode(filled: Store, fake_embedder: FakeEmbedder) -> None:
    for mode in QUERY_MODES:
        request = make_query(fake_embedder, "password reset", ALL, mode, top_k=2)
        assert len(filled.query(request).nodes or []) == 2


def test_hybrid_ranks_an_exact_keyword_match_first(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    # Many chunks share the question's everyday words; one holds its rare error code.
    filler = [
        "sync error when the invoices sync to the bank feed fails",
        "bank feed sync error: invoices did not sync, try the sync again",
        "invoices sync with the bank feed every hour; a sync error shows a banner",
        "to fix a bank feed sync error, reconnect the bank and sync invoices",
        "sync invoices manually from the bank feed page after an error",
    ]
    nodes = [make_node(fake_embedder, f"sync-{i}", 0, t, "public") for i, t in enumerate(filler)]
    nodes.append(
        make_node(fake_embedder, "codes", 0, "E4012 means the bank token expired", "public")
    )
    store.add(nodes)
    question = "what does error E4012 mean"

    hybrid = make_query(fake_embedder, question, ["public"], VectorStoreQueryMode.HYBRID, top_k=6)
    assert doc_ids(store, hybrid)[0] == "codes"

    dense_only = make_query(
        fake_embedder, question, ["public"], VectorStoreQueryMode.DEFAULT, top_k=6
    )
    assert doc_ids(store, dense_only)[0] != "codes"


def _unit(dimension: int, *axes: int) -> list[float]:
    vector = np.zeros(dimension)
    vector[list(axes)] = 1.0
    return (vector / np.linalg.norm(vector)).tolist()


@pytest.mark.parametrize(
    ("alpha", "alone"), [(0.0, VectorStoreQueryMode.SPARSE), (1.0, VectorStoreQueryMode.DEFAULT)]
)
def test_hybrid_alpha_at_either_end_ranks_as_that_branch_alone(
    filled: Store, fake_embedder: FakeEmbedder, alpha: float, alone: VectorStoreQueryMode
) -> None:
    for question in ("reset password link", "bank sync error E4012", "export invoices"):
        hybrid = make_query(fake_embedder, question, ALL)
        hybrid.alpha = alpha
        reference = make_query(fake_embedder, question, ALL, alone)
        assert filled.query(hybrid).ids == filled.query(reference).ids, question


def test_fusion_copies_turn_alpha_into_branch_weights() -> None:
    assert fusion_copies(None) == fusion_copies(0.5) == (1, 1)
    assert fusion_copies(0.25) == (1, 3)
    assert fusion_copies(0.75) == (3, 1)
    assert fusion_copies(0.01) == (1, MAX_FUSION_COPIES)
    assert fusion_copies(0.0) == (0, 1) and fusion_copies(1.0) == (1, 0)


def test_hybrid_scores_a_chunk_by_its_closest_passage(
    store: Store, fake_embedder: FakeEmbedder
) -> None:
    """A long chunk whose one passage says exactly what is asked beats a chunk that is only
    close as a whole; dense-only queries still compare whole chunks."""
    dimension = fake_embedder.dimension
    long = TextNode(id_="long:0", text="first passage. second passage.", metadata={})
    long.metadata = {"doc_id": "long", "document": "long.md", "audience": "public"}
    long.embedding = _unit(dimension, 1)  # the chunk as a whole is about something else
    whole = TextNode(id_="whole:0", text="one passage", metadata={})
    whole.metadata = {"doc_id": "whole", "document": "whole.md", "audience": "public"}
    whole.embedding = _unit(dimension, 0, 1)  # halfway to the question as a whole
    store.add([long, whole], passages={"long:0": [_unit(dimension, 2), _unit(dimension, 0)]})
    question = _unit(dimension, 0)

    def first(mode: VectorStoreQueryMode) -> str:
        request = VectorStoreQuery(
            query_embedding=question,
            query_str="unrelated words",
            similarity_top_k=2,
            mode=mode,
            filters=audience_filters(ALL),
        )
        return (store.query(request).nodes or [])[0].node_id

    assert first(VectorStoreQueryMode.HYBRID) == "long:0"
    assert first(VectorStoreQueryMode.DEFAULT) == "whole:0"


def test_both_backends_rank_and_score_alike(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """Congruence: the same chunks and questions give the same ranking in every backend."""
    texts = [
        "reset your password from the sign-in page",
        "reset links expire after thirty minutes",
        "invoices sync with the bank feed every hour",
        "E4012 means the bank token expired",
        "export invoices as CSV from the reports page",
    ]
    nodes = [make_node(fake_embedder, f"d{i}", 0, t, "public") for i, t in enumerate(texts)]
    stores = [open_edge(tmp_path, fake_embedder.dimension)]
    stores.append(open_server(tmp_path, fake_embedder.dimension))
    try:
        for store in stores:
            store.add(nodes)
        for question in ("reset password link", "bank sync error E4012", "export invoices"):
            for mode in QUERY_MODES:
                edge, server = (
                    s.query(make_query(fake_embedder, question, ALL, mode)) for s in stores
                )
                assert edge.ids == server.ids, (question, mode)
                assert edge.similarities == pytest.approx(server.similarities, abs=1e-3)
    finally:
        for store in stores:
            store.close()
