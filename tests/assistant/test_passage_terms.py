from pathlib import Path

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders.fake import FakeEmbedder
from assistant.retrieval.passage_terms import PASSAGE_TERMS_DEPTH, favour_passage_matches
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores import audience_filters
from assistant.stores.edge import EdgeStore
from assistant.text_units import PASSAGE_WORDS
from assistant.types import ScoredChunk
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

QUESTION = "How can I view which program I watched recently?"


def chunk(cid: str, text: str, score: float, title_path: str = "") -> ScoredChunk:
    return ScoredChunk(cid, text, {"document": cid, "title_path": title_path}, score)


def filler(words: int, seed: str) -> str:
    return " ".join(f"{seed}{n}" for n in range(words))


def test_the_passage_holding_the_question_together_beats_words_scattered_over_a_chunk() -> None:
    """The overview has every word of the question, one per passage; the other chunk has them
    in one sentence, so it overtakes the overview's slightly better fused score."""
    scattered = "\n".join(
        [
            f"Every program is listed here. {filler(PASSAGE_WORDS, 'a')}",
            f"You can view photos too. {filler(PASSAGE_WORDS, 'b')}",
            f"Apps were watched recently by others. {filler(PASSAGE_WORDS, 'c')}",
        ]
    )
    together = "You can view the programs you watched most recently."
    ranked = favour_passage_matches(
        [chunk("overview", scattered, 1.0), chunk("recent", together, 0.95)], QUESTION
    )
    assert [c.chunk_id for c in ranked] == ["recent", "overview"]
    assert ranked[0].score > 0.95


def test_a_word_every_candidate_holds_weighs_less_than_a_rare_one() -> None:
    """Both hold two of the question's words in one passage; 'program' is in every candidate,
    'recently' in one, so the chunk with 'recently' gains more."""
    common = [chunk(f"c{n}", f"Program guide page {n}.", 1.0) for n in range(4)]
    rare = chunk("rare", "What you watched recently.", 1.0)
    usual = chunk("usual", "Watch any program.", 1.0)
    ranked = favour_passage_matches([usual, rare, *common], QUESTION)
    by_id = {c.chunk_id: c.score for c in ranked}
    assert by_id["rare"] > by_id["usual"] > 1.0


def test_candidates_past_the_depth_keep_their_scores_and_order() -> None:
    chunks = [chunk(f"x{n}", "Nothing related.", 2.0 - n / 100) for n in range(PASSAGE_TERMS_DEPTH)]
    tail = [chunk("t1", "program watched recently", 0.5), chunk("t2", "view program", 0.4)]
    ranked = favour_passage_matches([*chunks, *tail], QUESTION)
    assert ranked[-2:] == tail


def test_a_question_without_searchable_words_changes_nothing() -> None:
    chunks = [chunk("a", "You can view it here.", 1.0), chunk("b", "Programs.", 0.9)]
    assert favour_passage_matches(chunks, "how do I do it?") == chunks


def test_the_retriever_adds_the_passage_match_to_the_fused_score(tmp_path: Path) -> None:
    """Through the real engine: the chunk holding the question's words in one passage comes
    back from the retriever scored above what fusion gave it."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "history.md").write_text(
        "# Watch history\n\nYou can view the programs you watched most recently.\n"
    )
    (tmp_path / "docs" / "guide.md").write_text(
        "# The guide\n\nThe guide lists every channel's schedule for the week.\n"
    )
    embedder = FakeEmbedder()
    store = EdgeStore(tmp_path / "edge", dimension=embedder.dimension)
    chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
    IngestJob(store, embedder, chunker).run([tmp_path / "docs"], progress=False)
    vector = embedder.embed_question(QUESTION)
    fused = store.query(
        VectorStoreQuery(
            query_embedding=vector.tolist(),
            query_str=QUESTION,
            similarity_top_k=8,
            mode=VectorStoreQueryMode.HYBRID,
            filters=audience_filters(["public"]),
        )
    )
    fused_score = {
        node.metadata["document"]: score
        for node, score in zip(fused.nodes or [], fused.similarities or [], strict=True)
    }
    retrieved = HybridRetriever(store, embedder).retrieve(QUESTION, audiences=["public"])
    scores = {c.document: c.score for c in retrieved}
    store.close()
    assert scores["history.md"] > fused_score["history.md"]
    assert scores["guide.md"] == pytest.approx(fused_score["guide.md"])
