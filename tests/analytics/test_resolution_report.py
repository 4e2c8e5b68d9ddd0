"""The resolution report over a synthetic app database (SQLite and Postgres) with known
outcomes: the rates overall, per day, by content kind, page and mode; requests for a person
stored and purged; and unresolved conversations feeding the gap report."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from assistant.analytics.gaps import GapAnalyzer
from assistant.analytics.resolution import ResolutionAnalyzer, ResolutionReport, SliceOutcomes
from assistant.embedders.fake import FakeEmbedder
from assistant.records.escalations import EscalationSource, EscalationStore
from assistant.records.feedback import FeedbackStore, Rating, UnknownSessionError
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore, Turn
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Answer, Citation

DAY_ONE = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)


class Clock:
    """A movable current time, shared by every store of a test."""

    def __init__(self) -> None:
        self.now = DAY_ONE

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


class App:
    """The app database's stores on one clock, and what the chat path writes per turn."""

    def __init__(self, sessions: SessionStore, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.log = QuestionLog(sessions.engine, clock=clock)
        self.feedback = FeedbackStore(sessions.engine, clock=clock)
        self.escalations = EscalationStore(sessions.engine, clock=clock)

    def ask(
        self,
        session_id: str,
        question: str,
        *,
        at: dt.datetime,
        kind: str | None = "kb",
        refused: bool = False,
        page: str | None = None,
        mode: str = "customer",
        confidence: float = 0.8,
    ) -> None:
        """An answered (or refused) question: its turn and its question-log row."""
        self.clock.set(at)
        cited = [
            Citation(
                id=1,
                title=f"A {kind}",
                source_type=kind,
                document=f"{kind}/doc",
                snippet="…",
                audience="public",
            )
        ]
        answer = Answer(
            answer="I couldn't find this." if refused else "Here is how [1].",
            citations=[] if refused or kind is None else cited,
            confidence=0.2 if refused else confidence,
            refused=refused,
            session_id=session_id,
            query=question,
        )

        def log_row(db: Session, turn_id: int) -> None:
            self.log.insert(
                db,
                question,
                answer,
                audience="public",
                mode=mode,
                latency_ms=1.0,
                turn_id=turn_id,
                page=page,
            )

        turn = Turn(question, question, answer.answer, refused)
        self.sessions.append(session_id, turn, also=log_row)

    def rate(self, session_id: str, rating: Rating, *, at: dt.datetime) -> None:
        self.clock.set(at)
        self.feedback.add(session_id, rating)

    def contact_support(self, session_id: str, *, at: dt.datetime) -> None:
        self.clock.set(at)
        self.escalations.add(session_id)

    def ask_for_a_person(self, session_id: str, *, at: dt.datetime) -> None:
        """A typed request: its turn (no question-log row) and its escalation, together."""
        self.clock.set(at)

        def escalate(db: Session, turn_id: int) -> None:
            self.escalations.insert(db, session_id, turn_id=turn_id, source=EscalationSource.ASKED)

        turn = Turn("can I talk to a human?", "", "You can reach support…", False)
        self.sessions.append(session_id, turn, also=escalate)


def minutes(start: dt.datetime, n: float) -> dt.datetime:
    return start + dt.timedelta(minutes=n)


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionStore]:
    store = SessionStore(database_url)
    yield store
    store.close()


@pytest.fixture
def app(sessions: SessionStore) -> App:
    """Conversations with known outcomes, on 2 and 3 November; "now" is 3 November, noon."""
    app = App(sessions, Clock())
    morning = DAY_ONE + dt.timedelta(hours=10)
    app.ask("confirmed", "How do I export?", at=morning, page="/billing")
    app.rate("confirmed", Rating.UP, at=minutes(morning, 1))
    app.ask("assumed", "Webinar on reminders?", at=minutes(morning, 5), kind="transcript",
            page="/billing")  # fmt: skip
    app.ask("refused", "Do you do payroll?", at=minutes(morning, 10), refused=True,
            page="/users/jane@example.com/settings")  # fmt: skip
    app.ask("rated down", "How do I add a user?", at=minutes(morning, 15), mode="agent",
            page="/users")  # fmt: skip
    app.rate("rated down", Rating.DOWN, at=minutes(morning, 16))
    app.ask("contact support", "Why was my card declined?", at=minutes(morning, 20),
            kind="thread")  # fmt: skip
    app.contact_support("contact support", at=minutes(morning, 21))
    app.ask_for_a_person("asked in words", at=NOW - dt.timedelta(hours=3))
    app.ask("still open", "How do I close the year?", at=NOW - dt.timedelta(minutes=10))
    # Started before the period: not counted, though it goes on inside it.
    app.ask("earlier", "How do I import?", at=DAY_ONE - dt.timedelta(minutes=5))
    app.ask("earlier", "and from CSV?", at=DAY_ONE + dt.timedelta(minutes=5), refused=True)
    app.clock.set(NOW)
    return app


def _report(app: App, **kw: object) -> ResolutionReport:
    analyzer = ResolutionAnalyzer(app.log, app.feedback, app.escalations, clock=app.clock)
    return analyzer.report(since=DAY_ONE, until=NOW, **kw)  # type: ignore[arg-type]


def _by_value(slices: list[SliceOutcomes]) -> dict[str | None, tuple[int, int, int]]:
    return {s.value: (s.conversations, s.resolved, s.escalated) for s in slices}


def test_the_report_counts_each_conversation_once_by_its_outcome(app: App) -> None:
    report = _report(app)
    assert (report.conversations, report.open) == (6, 1)
    assert (report.resolved_confirmed, report.resolved_assumed) == (1, 1)
    assert (report.escalated, report.unresolved, report.resolved) == (2, 2, 2)
    assert (report.resolution_rate, report.escalation_rate) == (0.333, 0.333)
    assert report.window_minutes == 30


def test_over_time_by_kind_page_and_mode(app: App) -> None:
    report = _report(app)
    days = {d.day: (d.conversations, d.resolved, d.escalated, d.unresolved) for d in report.by_day}
    assert days == {dt.date(2026, 11, 2): (5, 2, 1, 2), dt.date(2026, 11, 3): (1, 0, 1, 0)}
    # The kind of the last answer's top citation; a refusal or a typed request cites nothing.
    assert _by_value(report.by_kind) == {
        "kb": (2, 1, 0),
        None: (2, 0, 1),
        "thread": (1, 0, 1),
        "transcript": (1, 1, 0),
    }
    assert [s.value for s in report.by_kind] == ["kb", None, "thread", "transcript"]
    assert _by_value(report.by_page) == {
        "/billing": (2, 2, 0),
        None: (2, 0, 2),
        "/users": (1, 0, 0),
        "/users/[email]/settings": (1, 0, 0),  # pages are redacted like questions
    }
    assert _by_value(report.by_mode) == {"customer": (4, 2, 1), "agent": (1, 0, 0), None: (1, 0, 1)}


def test_a_shorter_window_closes_the_open_conversation(app: App) -> None:
    analyzer = ResolutionAnalyzer(
        app.log, app.feedback, app.escalations, clock=app.clock, window=dt.timedelta(minutes=5)
    )
    report = analyzer.report(since=DAY_ONE, until=NOW)
    assert (report.conversations, report.open, report.resolved_assumed) == (7, 0, 2)


def test_an_empty_period_lists_its_quiet_days(app: App) -> None:
    since = DAY_ONE + dt.timedelta(days=5)  # midnight to midnight: three whole days
    report = ResolutionAnalyzer(app.log, app.feedback, app.escalations, clock=app.clock).report(
        since=since, until=since + dt.timedelta(days=3)
    )
    assert report.conversations == 0 and report.resolution_rate == 0
    assert [d.conversations for d in report.by_day] == [0, 0, 0]
    assert report.by_kind == report.by_page == report.by_mode == []


def test_contact_support_needs_a_conversation(app: App) -> None:
    with pytest.raises(UnknownSessionError):
        app.escalations.add("nobody-asked")
    stored = app.escalations.entries(session_ids=["contact support", "asked in words"])
    assert [(e.session_id, e.source) for e in stored] == [
        ("contact support", EscalationSource.CONTROL),
        ("asked in words", EscalationSource.ASKED),
    ]


def test_retention_deletes_requests_for_a_person_with_their_turns(app: App) -> None:
    # Turns keep the real time they were written; everything else the synthetic one.
    later = max(NOW, dt.datetime.now(dt.UTC)) + dt.timedelta(days=3)
    QuestionLog(app.sessions.engine, retention_days=1, clock=lambda: later)
    with app.sessions.engine.connect() as db:
        left = [
            int(db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in ("escalations", "turns", "questions", "feedback")
        ]
    assert left == [0, 0, 0, 0]


def test_unresolved_conversations_feed_the_gap_groups(app: App, tmp_path: Path) -> None:
    """An answer whose conversation then ended on a refusal is a gap ("unresolved"); the
    refusal counts as refused only, and resolved conversations add nothing."""
    base = NOW - dt.timedelta(hours=2)
    app.ask("rephrased", "How do I pay an invoice in instalments?", at=base, confidence=0.9)
    app.ask("rephrased", "split an invoice payment", at=minutes(base, 1), refused=True)
    app.clock.set(NOW)
    embedder = FakeEmbedder()
    store = EdgeStore(tmp_path / "edge", dimension=embedder.dimension)
    try:
        analyzer = GapAnalyzer(
            app.log,
            HybridRetriever(store, embedder),
            resolution=ResolutionAnalyzer(app.log, app.feedback, app.escalations, clock=app.clock),
        )
        report = analyzer.report(since=DAY_ONE, until=NOW)
    finally:
        store.close()
    reasons = {e.question: e.reasons for g in report.groups for e in g.examples}
    assert reasons["How do I pay an invoice in instalments?"] == ["unresolved"]
    assert reasons["split an invoice payment"] == ["refused"]
    assert reasons["How do I add a user?"] == ["thumbs_down"]
    for resolved in ("How do I export?", "Webinar on reminders?", "How do I close the year?"):
        assert resolved not in reasons
    assert report.unresolved == 1
    assert report.resolution is not None and report.resolution.unresolved == 3
