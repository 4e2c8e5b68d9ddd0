"""Every question asked, with how it was answered, in the app database (table `questions`).

The knowledge-gap report reads it: which questions were refused, answered with low confidence
or rated thumbs-down, and which documents answers cite; the resolution report reads how each
conversation went, and on which page of the product it was asked. Question text (and the page)
is redacted (e-mail addresses, phone and card numbers) before it is stored, and records older
than the retention period are deleted together with their conversation turns, ratings and
requests for a person.

Each gap question's query vector is kept in its row once a report has embedded it (with the
model that made it), so later reports embed only questions asked since. Rows logged before
the columns existed get them on open, empty: they are filled as reports need them (a `page`
stays empty).
"""

import datetime as dt
import json
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from assistant.records.escalations import EscalationRow
from assistant.records.feedback import FeedbackRow, Rating
from assistant.records.redaction import redact
from assistant.records.sessions import (
    Base,
    TurnRow,
    create_tables,
    in_batches,
    insert_row,
    stored_utc,
    utc_now,
    write_session,
)
from assistant.types import Answer

_PURGE_EVERY = dt.timedelta(hours=1)


class QuestionRow(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    turn_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    question: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    refused: Mapped[int] = mapped_column(Integer)
    citations: Mapped[str] = mapped_column(Text)  # JSON list of CitedSource fields
    latency_ms: Mapped[float] = mapped_column(Float)
    # The query's unit vector as float32 bytes, and which model made it (see `vectors`).
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    vector_model: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Where in the product it was asked (the chat request's `context.page`), redacted.
    page: Mapped[str | None] = mapped_column(Text, nullable=True)


_TABLE = Base.metadata.tables[QuestionRow.__tablename__]
_INSERT = insert(_TABLE)
_STORE_VECTOR = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(vector=bindparam("vector"), vector_model=bindparam("model"))
)


@dataclass(frozen=True)
class CitedSource:
    document: str
    title: str
    source_type: str
    author: str | None = None  # forum posts: who wrote the cited post


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    created_at: dt.datetime
    session_id: str
    question: str  # redacted, as asked
    query: str  # redacted, the standalone query that was searched
    audience: str
    mode: str
    confidence: float
    refused: bool
    citations: list[CitedSource]
    latency_ms: float
    rating: Rating | None  # the latest thumbs up or down on this answer, if any
    page: str | None = None  # where in the product it was asked, if the client said


class QuestionLog:
    """Appends and lists logged questions; safe to share between threads.

    Args:
        engine: the app database (the SessionStore's engine).
        retention_days: records older than this are deleted at start and then at most hourly
            as questions arrive; 0 keeps them forever.
        clock: the current time (tests move it forward to check retention).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        retention_days: int = 0,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._retention = dt.timedelta(days=retention_days) if retention_days > 0 else None
        self._clock = clock
        self._lock = threading.Lock()
        self._last_purge: dt.datetime | None = None
        create_tables(engine, _TABLE)
        self.purge()

    def record(
        self,
        question: str,
        answer: Answer,
        *,
        audience: str,
        mode: str,
        latency_ms: float,
        turn_id: int | None = None,
        page: str | None = None,
    ) -> int:
        """Stores one answered (or refused) question, redacted; returns its id."""
        with write_session(self._engine) as db:
            row_id = self.insert(
                db,
                question,
                answer,
                audience=audience,
                mode=mode,
                latency_ms=latency_ms,
                turn_id=turn_id,
                page=page,
            )
        self.purge_if_due()
        return row_id

    def insert(
        self,
        db: Session,
        question: str,
        answer: Answer,
        *,
        audience: str,
        mode: str,
        latency_ms: float,
        turn_id: int | None = None,
        page: str | None = None,
    ) -> int:
        """`record` inside the caller's write transaction (the answer's turn is written in
        the same commit); call `purge_if_due` once it has committed."""
        cited = [
            {"document": c.document, "title": c.title, "source_type": c.source_type}
            | ({"author": c.author} if c.author else {})
            for c in answer.citations
        ]
        row = {
            "created_at": self._clock(),
            "session_id": answer.session_id,
            "turn_id": turn_id,
            "question": redact(question),
            "query": redact(answer.query or question),
            "audience": audience,
            "mode": mode,
            "confidence": float(answer.confidence),
            "refused": int(answer.refused),
            "citations": json.dumps(cited, ensure_ascii=False),
            "latency_ms": round(latency_ms, 1),
            "page": redact(page) if page else None,
        }
        return insert_row(db, _INSERT, row)

    def entries(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[LoggedQuestion]:
        """Questions asked at or after `since` and before `until`, oldest first."""
        query = _QUESTIONS
        if since is not None:
            query = query.where(QuestionRow.created_at >= since)
        if until is not None:
            query = query.where(QuestionRow.created_at < until)
        with Session(self._engine) as db:
            return _with_ratings(db, list(db.scalars(query.order_by(QuestionRow.id))))

    def of_sessions(self, session_ids: Collection[str]) -> list[LoggedQuestion]:
        """Every question asked in these conversations, oldest first."""
        with Session(self._engine) as db:
            rows = [
                row
                for batch in in_batches(sorted(set(session_ids)))
                for row in db.scalars(_QUESTIONS.where(QuestionRow.session_id.in_(batch)))
            ]
            rows.sort(key=lambda row: row.id)
            return _with_ratings(db, rows)

    def vectors(self, ids: Iterable[int], *, model: str) -> dict[int, bytes]:
        """The stored query vectors `model` made for these questions (those it has), by id."""
        found: dict[int, bytes] = {}
        with Session(self._engine) as db:
            for chunk in in_batches(sorted(set(ids))):
                rows = db.execute(
                    select(QuestionRow.id, QuestionRow.vector).where(
                        QuestionRow.id.in_(chunk),
                        QuestionRow.vector_model == model,
                        QuestionRow.vector.is_not(None),
                    )
                )
                found.update({i: bytes(vector) for i, vector in rows if vector is not None})
        return found

    def store_vectors(self, vectors: dict[int, bytes], *, model: str) -> None:
        """Keeps query vectors (float32 bytes) with their questions, made by `model`."""
        if not vectors:
            return
        rows = [{"row_id": i, "vector": v, "model": model} for i, v in vectors.items()]
        with write_session(self._engine) as db:
            db.connection().execute(_STORE_VECTOR, rows)

    def purge(self) -> int:
        """Deletes questions, ratings, requests for a person and conversation turns older than
        the retention period; returns how many questions went. A no-op without a retention
        period."""
        if self._retention is None:
            return 0
        now = self._clock()
        cutoff = now - self._retention
        with self._lock:
            self._last_purge = now
        with write_session(self._engine) as db:
            old_turns = select(TurnRow.id).where(TurnRow.created_at < cutoff)
            for table in (FeedbackRow, EscalationRow):
                db.execute(
                    delete(table).where((table.created_at < cutoff) | table.turn_id.in_(old_turns))
                )
            db.execute(delete(TurnRow).where(TurnRow.created_at < cutoff))
            result = db.execute(delete(QuestionRow).where(QuestionRow.created_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    def purge_if_due(self) -> None:
        """Deletes expired records when the last purge is an hour old."""
        if self._retention is None:
            return
        with self._lock:
            due = self._last_purge is None or self._clock() - self._last_purge >= _PURGE_EVERY
        if due:
            self.purge()


_QUESTIONS = select(QuestionRow).options(defer(QuestionRow.vector))


def _with_ratings(db: Session, rows: list[QuestionRow]) -> list[LoggedQuestion]:
    """The rows as LoggedQuestions with the latest rating of each answer."""
    turn_ids = sorted({r.turn_id for r in rows if r.turn_id is not None})
    ratings: dict[int, Rating] = {}
    for batch in in_batches(turn_ids):
        feedback = db.execute(
            select(FeedbackRow.turn_id, FeedbackRow.rating)
            .where(FeedbackRow.turn_id.in_(batch))
            .order_by(FeedbackRow.id)
        ).all()
        ratings.update({turn_id: Rating(rating) for turn_id, rating in feedback})  # latest wins
    return [_logged(r, ratings.get(r.turn_id) if r.turn_id else None) for r in rows]


def _logged(row: QuestionRow, rating: Rating | None) -> LoggedQuestion:
    return LoggedQuestion(
        id=row.id,
        created_at=stored_utc(row.created_at),
        session_id=row.session_id,
        question=row.question,
        query=row.query,
        audience=row.audience,
        mode=row.mode,
        confidence=row.confidence,
        refused=bool(row.refused),
        citations=[CitedSource(**c) for c in json.loads(row.citations)],
        latency_ms=row.latency_ms,
        rating=rating,
        page=row.page,
    )
