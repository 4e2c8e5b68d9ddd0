"""Thumbs up or down on an answer, kept in the app database beside the conversation turns.

A rating belongs to the session's latest turn at the time it is given, so reports can show
which question it was about (the knowledge-gap report groups thumbs-down questions).
"""

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from assistant.records.redaction import redact
from assistant.records.sessions import (
    Base,
    TurnRow,
    create_tables,
    in_batches,
    stored_utc,
    utc_now,
    write_session,
)


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class Feedback:
    id: int
    session_id: str
    rating: Rating
    comment: str | None
    question: str  # the rated turn's question, as asked
    refused: bool  # whether that turn's answer was a refusal
    created_at: dt.datetime


class UnknownSessionError(LookupError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"No conversation has the session_id {session_id!r}.")
        self.session_id = session_id


class FeedbackStore:
    """Records and lists ratings; shares the app database engine with the SessionStore.
    `clock`: the current time (tests set when ratings are given)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock
        create_tables(engine)

    def add(self, session_id: str, rating: Rating, *, comment: str | None = None) -> Feedback:
        """Rates the session's latest turn.

        Raises:
            UnknownSessionError: no turn has this session id.
        """
        with write_session(self._engine) as db:
            turn = db.scalars(
                select(TurnRow)
                .where(TurnRow.session_id == session_id)
                .order_by(TurnRow.id.desc())
                .limit(1)
            ).first()
            if turn is None:
                raise UnknownSessionError(session_id)
            row = FeedbackRow(
                session_id=session_id,
                turn_id=turn.id,
                rating=rating.value,
                comment=redact(comment) if comment else comment,
                created_at=self._clock(),
            )
            db.add(row)
            db.flush()
            return _feedback(row, turn)

    def entries(
        self,
        *,
        since: dt.datetime | None = None,
        session_ids: Collection[str] | None = None,
    ) -> list[Feedback]:
        """Every rating (given at or after `since`; of these sessions only), oldest first,
        with the rated question."""
        query = select(FeedbackRow, TurnRow).join(TurnRow, FeedbackRow.turn_id == TurnRow.id)
        if since is not None:
            query = query.where(FeedbackRow.created_at >= since)
        with Session(self._engine) as db:
            if session_ids is None:
                rows = db.execute(query.order_by(FeedbackRow.id)).all()
            else:
                rows = [
                    row
                    for batch in in_batches(sorted(set(session_ids)))
                    for row in db.execute(query.where(FeedbackRow.session_id.in_(batch)))
                ]
                rows.sort(key=lambda row: row[0].id)
            return [_feedback(row, turn) for row, turn in rows]


def _feedback(row: FeedbackRow, turn: TurnRow) -> Feedback:
    return Feedback(
        id=row.id,
        session_id=row.session_id,
        rating=Rating(row.rating),
        comment=row.comment,
        question=turn.question,
        refused=bool(turn.refused),
        created_at=stored_utc(row.created_at),
    )
