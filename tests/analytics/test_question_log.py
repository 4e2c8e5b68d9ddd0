"""The question log in a real SQLite and a real Postgres database: what it stores, redacted,
with ratings linked, and the retention period that deletes old questions, turns and ratings."""

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from assistant.analytics.gaps import top_contributors
from assistant.records.feedback import FeedbackStore, Rating
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore, Turn
from assistant.types import Answer, Citation

PII_QUESTION = "I'm jane@example.com, +1 555 123 4567, card 4111 1111 1111 1111: refund?"


class Clock:
    """A movable current time."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionStore]:
    store = SessionStore(database_url)
    yield store
    store.close()


def _answer(session_id: str, query: str, *, refused: bool = False) -> Answer:
    citation = Citation(
        id=1,
        title="Refunds > Steps",
        source_type="kb",
        document="kb/refunds.md",
        snippet="…",
        audience="public",
    )
    return Answer(
        answer="Refunds take 5 days [1]." if not refused else "I couldn't find this.",
        citations=[] if refused else [citation],
        confidence=0.3 if refused else 0.8,
        refused=refused,
        session_id=session_id,
        query=query,
    )


def _log_turn(
    sessions: SessionStore, log: QuestionLog, session_id: str, question: str, **kw: bool
) -> int:
    answer = _answer(session_id, question, **kw)
    turn_id = sessions.append(session_id, Turn(question, question, answer.answer, answer.refused))
    return log.record(
        question, answer, audience="public", mode="customer", latency_ms=12.34, turn_id=turn_id
    )


def test_records_every_field_with_the_latest_rating(sessions: SessionStore) -> None:
    log = QuestionLog(sessions.engine)
    feedback = FeedbackStore(sessions.engine)
    _log_turn(sessions, log, "s1", "How long do refunds take?")
    _log_turn(sessions, log, "s2", "Can I pay in bitcoin?", refused=True)
    feedback.add("s1", Rating.UP)
    feedback.add("s1", Rating.DOWN)  # changed their mind: the latest counts

    first, second = log.entries()
    assert (first.question, first.query, first.audience, first.mode) == (
        "How long do refunds take?",
        "How long do refunds take?",
        "public",
        "customer",
    )
    assert (first.confidence, first.refused, first.latency_ms) == (0.8, False, 12.3)
    assert [c.document for c in first.citations] == ["kb/refunds.md"]
    assert first.rating == Rating.DOWN
    assert second.refused and second.citations == [] and second.rating is None


def test_nothing_is_stored_unredacted(sessions: SessionStore) -> None:
    log = QuestionLog(sessions.engine)
    _log_turn(sessions, log, "s1", PII_QUESTION)
    FeedbackStore(sessions.engine).add("s1", Rating.DOWN, comment="reach me at bob@example.org")

    assert log.entries()[0].question == "I'm [email], [phone], card [card]: refund?"
    with sessions.engine.connect() as db:
        stored = " ".join(
            str(value)
            for table in ("questions", "turns", "feedback")
            for row in db.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    for secret in ("jane@example.com", "555 123 4567", "4111", "bob@example.org"):
        assert secret not in stored
    assert "[email]" in stored and "[card]" in stored


def test_entries_filter_by_period(sessions: SessionStore) -> None:
    clock = Clock()
    log = QuestionLog(sessions.engine, clock=clock)
    _log_turn(sessions, log, "old", "first")
    clock.now += dt.timedelta(days=2)
    _log_turn(sessions, log, "new", "second")
    since = clock.now - dt.timedelta(days=1)
    assert [q.question for q in log.entries(since=since)] == ["second"]
    assert [q.question for q in log.entries(until=since)] == ["first"]


def _count(sessions: SessionStore, table: str) -> int:
    with sessions.engine.connect() as db:
        return int(db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_retention_deletes_old_questions_turns_and_ratings_at_start(
    sessions: SessionStore,
) -> None:
    log = QuestionLog(sessions.engine)
    _log_turn(sessions, log, "s1", "How long do refunds take?")
    FeedbackStore(sessions.engine).add("s1", Rating.DOWN)

    later = Clock()
    later.now = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    QuestionLog(sessions.engine, retention_days=30, clock=later)  # as at the next start

    assert [_count(sessions, t) for t in ("questions", "turns", "feedback")] == [0, 0, 0]


def test_retention_keeps_recent_records_and_zero_keeps_everything(
    sessions: SessionStore,
) -> None:
    log = QuestionLog(sessions.engine)
    _log_turn(sessions, log, "s1", "How long do refunds take?")
    soon = Clock()
    soon.now = dt.datetime.now(dt.UTC) + dt.timedelta(days=29)
    QuestionLog(sessions.engine, retention_days=30, clock=soon)
    far = Clock()
    far.now = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    QuestionLog(sessions.engine, retention_days=0, clock=far)
    assert [_count(sessions, t) for t in ("questions", "turns")] == [1, 1]


def test_retention_also_runs_hourly_as_questions_arrive(sessions: SessionStore) -> None:
    clock = Clock()
    log = QuestionLog(sessions.engine, retention_days=1, clock=clock)
    log.record("old", _answer("s", "old"), audience="public", mode="customer", latency_ms=1)
    clock.now += dt.timedelta(days=2)
    log.record("new", _answer("s", "new"), audience="public", mode="customer", latency_ms=1)
    assert [q.question for q in log.entries()] == ["new"]


def test_forum_citations_keep_their_author_for_contributor_credit(
    sessions: SessionStore,
) -> None:
    log = QuestionLog(sessions.engine)
    post = Citation(
        id=1,
        title="Bank feed > Accepted answer by staff_sam",
        source_type="thread",
        document="threads/bank-feed.json",
        snippet="Reconnect the bank.",
        audience="public",
        author="staff_sam",
    )
    kb = _answer("s2", "q").citations[0]
    for session, citations in (("s1", [post]), ("s2", [kb]), ("s3", [kb, post])):
        answer = Answer(
            answer="a [1].", citations=citations, confidence=0.8, refused=False, session_id=session
        )
        log.record("q", answer, audience="public", mode="customer", latency_ms=1.0)
    entries = log.entries()
    assert [c.author for c in entries[0].citations] == ["staff_sam"]
    assert [c.author for c in entries[1].citations] == [None]
    [credit] = top_contributors(entries)
    assert (credit.author, credit.answers) == ("staff_sam", 2)


def test_a_turn_and_its_question_log_row_commit_together(sessions: SessionStore) -> None:
    """One transaction per answer: the row links to the turn, and a failed log write leaves
    no turn behind."""
    log = QuestionLog(sessions.engine)
    answer = _answer("s", "refund?")

    def log_row(db: Session, turn_id: int) -> None:
        log.insert(
            db, "refund?", answer, audience="public", mode="customer", latency_ms=1, turn_id=turn_id
        )

    turn_id = sessions.append("s", Turn("refund?", "refund?", answer.answer, False), also=log_row)
    with sessions.engine.connect() as db:
        linked = db.execute(text("SELECT turn_id FROM questions")).scalars().all()
    assert linked == [turn_id]

    def failing(db: Session, turn_id: int) -> None:
        log_row(db, turn_id)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        sessions.append("s", Turn("again?", "again?", answer.answer, False), also=failing)
    assert [t.question for t in sessions.history("s")] == ["refund?"]
    assert [q.question for q in log.entries()] == ["refund?"]
