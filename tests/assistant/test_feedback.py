"""Ratings in the app database (SQLite and Postgres): each rates the session's latest turn."""

import datetime as dt
from collections.abc import Iterator

import pytest

from assistant.records.feedback import FeedbackStore, Rating, UnknownSessionError
from assistant.records.sessions import SessionStore, Turn


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionStore]:
    store = SessionStore(database_url)
    yield store
    store.close()


def test_a_rating_belongs_to_the_latest_turn_of_its_session(sessions: SessionStore) -> None:
    feedback = FeedbackStore(sessions.engine)
    sessions.append("s", Turn("How do I export?", "export", "Open Reports [1].", False))
    sessions.append("s", Turn("and as PDF?", "export PDF", "I couldn't find this.", True))
    sessions.append("other", Turn("unrated", "unrated", "a", False))
    given = feedback.add("s", Rating.DOWN, comment="Mail me: jane@example.com")
    assert (given.question, given.refused, given.rating) == ("and as PDF?", True, Rating.DOWN)
    assert given.comment == "Mail me: [email]"
    [stored] = feedback.entries()
    assert (stored.id, stored.session_id, stored.question) == (given.id, "s", "and as PDF?")
    assert stored.created_at == given.created_at  # in UTC, whichever the backend


def test_a_session_without_turns_cannot_be_rated(sessions: SessionStore) -> None:
    feedback = FeedbackStore(sessions.engine)
    with pytest.raises(UnknownSessionError):
        feedback.add("nobody-asked", Rating.UP)
    assert feedback.entries() == []


def test_entries_since_a_moment_oldest_first(sessions: SessionStore) -> None:
    feedback = FeedbackStore(sessions.engine)
    sessions.append("s", Turn("q", "q", "a", False))
    first = feedback.add("s", Rating.UP)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert [f.id for f in feedback.entries()] == [first.id]
    assert feedback.entries(since=later) == []
    second = feedback.add("s", Rating.DOWN)
    assert [f.id for f in feedback.entries()] == [first.id, second.id]
