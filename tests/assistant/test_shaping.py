import numpy as np

from assistant.retrieval.shaping import product_labels, shape
from assistant.types import ScoredChunk


def chunk(
    cid: str, document: str, score: float, *, text: str | None = None, **meta: object
) -> ScoredChunk:
    vector = meta.pop("vector", None)
    return ScoredChunk(
        cid,
        text or f"text {cid}",
        {"document": document, **meta},
        score,
        vector=vector,  # type: ignore[arg-type]
    )


def test_other_documents_surface_before_a_documents_later_chunks() -> None:
    chunks = [
        chunk("a1", "a", 1.0),
        chunk("a2", "a", 0.9),
        chunk("a3", "a", 0.88),
        chunk("b1", "b", 0.85),
    ]
    assert [c.chunk_id for c in shape(chunks, limit=3)] == ["a1", "b1", "a2"]


def test_a_much_better_chunk_of_the_same_document_still_wins() -> None:
    chunks = [chunk("a1", "a", 1.0), chunk("a2", "a", 0.99), chunk("b1", "b", 0.2)]
    assert [c.chunk_id for c in shape(chunks, limit=2)] == ["a1", "a2"]


def test_accepted_answer_ranks_above_other_replies_of_its_thread() -> None:
    chunks = [
        chunk("reply", "t.json", 0.9, post_role="reply"),
        chunk("kb", "kb.md", 0.8),
        chunk("accepted", "t.json", 0.5, post_role="accepted_answer"),
    ]
    order = [c.chunk_id for c in shape(chunks, limit=3)]
    assert order.index("accepted") < order.index("reply")
    assert order[0] == "accepted"


def test_newer_of_two_near_duplicates_comes_first() -> None:
    v = np.array([1.0, 0.0])
    chunks = [
        chunk("old", "old.md", 0.9, updated_at="2025-01-01", vector=v),
        chunk("other", "other.md", 0.8, vector=np.array([0.0, 1.0])),
        chunk("new", "new.md", 0.7, updated_at="2026-06-01", vector=v),
    ]
    assert [c.chunk_id for c in shape(chunks, limit=3)] == ["new", "other", "old"]


def test_limit_is_respected() -> None:
    chunks = [chunk(str(i), str(i), 1.0 - i / 10) for i in range(8)]
    assert len(shape(chunks, limit=5)) == 5


def test_product_labels_are_quoted_or_title_case_runs_not_sentence_starts() -> None:
    assert product_labels("Can I configure Auto Motion Plus Settings?") == [
        "auto motion plus settings"
    ]
    assert product_labels("What does 'Learn TV Remote' do?") == ["learn tv remote"]
    assert product_labels('Where is "Send reminders"?') == ["send reminders"]
    assert product_labels("How do I turn on automatic payment reminders?") == []
    assert product_labels("I can't find it and don't know where. Do I Need help?") == []


def test_a_chunk_spelling_out_the_questions_label_outranks_a_near_miss() -> None:
    near_miss = ScoredChunk(
        "game", "Game Motion Plus Settings reduce blur.", {"document": "g"}, 1.0
    )
    exact = ScoredChunk(
        "auto", "Auto Motion Plus Settings: set Blur Reduction.", {"document": "a"}, 0.8
    )
    question = "Can I configure Auto Motion Plus Settings?"
    assert [c.chunk_id for c in shape([near_miss, exact], limit=2, question=question)] == [
        "auto",
        "game",
    ]
    assert [c.chunk_id for c in shape([near_miss, exact], limit=2)] == ["game", "auto"]


def test_a_section_that_opens_with_the_label_outranks_one_that_lists_it() -> None:
    """Both spell 'Learn TV Remote'; the section whose first sentence (its menu path) names it
    is about it, the shortcuts menu only lists it among other items."""
    listing = chunk(
        "menu",
        "shortcuts",
        1.2,
        text="Press and hold VOL to open the menu. Voice Guide: reads the screen. "
        "Learn TV Remote: names the buttons. High Contrast: white text on black.",
        chunk_index=0,
        title_path="Accessibility Shortcuts",
    )
    own = chunk(
        "own",
        "remote",
        1.0,
        text="Settings General Accessibility Learn TV Remote Try Now. This function helps you "
        "learn where the buttons are.",
        chunk_index=0,
        title_path="Learning about the remote",
    )
    question = "What is the features of 'Learn TV Remote'?"
    ranked = shape([listing, own], limit=2, question=question)
    assert [c.chunk_id for c in ranked] == ["own", "menu"]


def test_only_a_documents_first_chunk_opens_with_its_first_sentence() -> None:
    """A later chunk's first sentence is the middle of the document, not what it is about;
    its heading path still is."""
    question = "What does 'Learn TV Remote' do?"
    said = "Learn TV Remote names each button you press."
    later = chunk("later", "a", 1.2, text=said, chunk_index=3, title_path="Guide > Buttons")
    opener = chunk("opener", "b", 1.0, text=said, chunk_index=0, title_path="Guide")
    assert [c.chunk_id for c in shape([later, opener], limit=2, question=question)] == [
        "opener",
        "later",
    ]
    headed = chunk(
        "headed",
        "a",
        1.2,
        text="It names each button you press: Learn TV Remote.",
        chunk_index=3,
        title_path="Guide > Learn TV Remote",
    )
    assert shape([headed, opener], limit=2, question=question)[0].chunk_id == "headed"
