from assistant.passage_terms import PASSAGE_TERMS_DEPTH, favour_passage_matches
from assistant.text_units import PASSAGE_WORDS
from assistant.types import ScoredChunk

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
