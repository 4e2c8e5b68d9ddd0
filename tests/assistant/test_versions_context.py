"""Product versions, the user's page and review status as retrieval-time preferences."""

import numpy as np

from assistant.shaping import on_page, shape
from assistant.types import ScoredChunk


def chunk(cid: str, score: float, **meta: object) -> ScoredChunk:
    vector = meta.pop("vector", None)
    return ScoredChunk(cid, f"text {cid}", {"document": f"{cid}.md", **meta}, score, vector=vector)  # type: ignore[arg-type]


def ids(chunks: list[ScoredChunk]) -> list[str]:
    return [c.chunk_id for c in chunks]


def test_matching_version_only_when_any_matches() -> None:
    chunks = [
        chunk("old", 0.9, product_version="4.1"),
        chunk("current", 0.7, product_version="4.2"),
        chunk("any", 0.5),
    ]
    assert ids(shape(chunks, limit=3, product_version="4.2")) == ["current", "any"]
    assert ids(shape(chunks, limit=3, product_version="4.1")) == ["old", "any"]


def test_other_versions_when_nothing_matches() -> None:
    chunks = [chunk("a", 0.9, product_version="4.1"), chunk("b", 0.7, product_version="4.2")]
    assert ids(shape(chunks, limit=2, product_version="5.0")) == ["a", "b"]


def test_no_version_asked_keeps_every_version() -> None:
    chunks = [chunk("a", 0.9, product_version="4.1"), chunk("b", 0.7, product_version="4.2")]
    assert ids(shape(chunks, limit=2)) == ["a", "b"]


def test_page_prefixes_match_on_path_segments() -> None:
    made_for_invoices = chunk("a", 1.0, pages=["/invoices"])
    assert on_page(made_for_invoices, "/invoices")
    assert on_page(made_for_invoices, "/invoices/42/edit")
    assert on_page(made_for_invoices, "invoices/")
    assert not on_page(made_for_invoices, "/invoices-archive")
    assert not on_page(made_for_invoices, "/billing")
    assert not on_page(chunk("b", 1.0), "/invoices")


def test_content_for_the_users_page_ranks_higher() -> None:
    chunks = [chunk("general", 1.0), chunk("for-page", 0.9, pages=["/settings/reminders"])]
    assert ids(shape(chunks, limit=2, page="/settings/reminders")) == ["for-page", "general"]
    assert ids(shape(chunks, limit=2, page="/banking")) == ["general", "for-page"]
    assert ids(shape(chunks, limit=2)) == ["general", "for-page"]


def test_a_much_better_match_still_beats_the_page_boost() -> None:
    chunks = [chunk("general", 1.0), chunk("for-page", 0.3, pages=["/invoices"])]
    assert ids(shape(chunks, limit=2, page="/invoices")) == ["general", "for-page"]


def test_reviewed_near_duplicate_ranks_above_unreviewed_one() -> None:
    v = np.array([1.0, 0.0])
    chunks = [
        chunk("forum", 0.9, reviewed=False, updated_at="2026-09-01", vector=v),
        chunk("kb", 0.8, reviewed=True, updated_at="2026-01-01", vector=v),
    ]
    assert ids(shape(chunks, limit=2)) == ["kb", "forum"]


def test_unreviewed_chunk_that_says_something_else_keeps_its_rank() -> None:
    chunks = [
        chunk("forum", 0.9, reviewed=False, vector=np.array([1.0, 0.0])),
        chunk("kb", 0.8, reviewed=True, vector=np.array([0.0, 1.0])),
    ]
    assert ids(shape(chunks, limit=2)) == ["forum", "kb"]
