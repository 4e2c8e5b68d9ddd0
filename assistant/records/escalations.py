"""Requests for a person, kept in the app database beside the conversation turns: the chat
page's "Contact support" control, and a user asking for one in words ("can I talk to a
human?", see assistant/conversation/handover.py). The resolution report counts a
conversation with one as escalated.
"""

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from assistant.records.feedback import UnknownSessionError
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


class EscalationSource(StrEnum):
    CONTROL = "control"  # "Contact support" on the chat page or in the widget
    ASKED = "asked"  # the user asked for a person in a message


class EscalationRow(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    # The session's latest turn when it was asked for (the request itself, when typed).
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id"), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


_INSERT = insert(Base.metadata.tables[EscalationRow.__tablename__])


@dataclass(frozen=True)
class Escalation:
    id: int
    session_id: str
    source: EscalationSource
    created_at: dt.datetime


class EscalationStore:
    """Records and lists requests for a person; shares the app database engine with the
    SessionStore. `clock`: the current time (tests set when requests are made)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock
        create_tables(engine)

    def add(
        self, session_id: str, *, source: EscalationSource = EscalationSource.CONTROL
    ) -> Escalation:
        """Records a request for a person in the session, at its latest turn.

        Raises:
            UnknownSessionError: no turn has this session id.
        """
        with write_session(self._engine) as db:
            turn_id = db.scalar(
                select(TurnRow.id)
                .where(TurnRow.session_id == session_id)
                .order_by(TurnRow.id.desc())
                .limit(1)
            )
            if turn_id is None:
                raise UnknownSessionError(session_id)
            return self.insert(db, session_id, turn_id=turn_id, source=source)

    def insert(
        self,
        db: Session,
        session_id: str,
        *,
        turn_id: int | None,
        source: EscalationSource,
    ) -> Escalation:
        """`add` inside the caller's write transaction, for the turn `turn_id` (a typed
        request is written in the same commit as its turn)."""
        now = self._clock()
        row = {"session_id": session_id, "turn_id": turn_id, "source": source.value}
        row_id = insert_row(db, _INSERT, row | {"created_at": now})
        return Escalation(row_id, session_id, source, now)

    def entries(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        session_ids: Collection[str] | None = None,
    ) -> list[Escalation]:
        """Requests made at or after `since` and before `until` (in these sessions only),
        oldest first."""
        query = select(EscalationRow)
        if since is not None:
            query = query.where(EscalationRow.created_at >= since)
        if until is not None:
            query = query.where(EscalationRow.created_at < until)
        with Session(self._engine) as db:
            if session_ids is None:
                rows = list(db.scalars(query))
            else:
                rows = [
                    row
                    for batch in in_batches(sorted(set(session_ids)))
                    for row in db.scalars(query.where(EscalationRow.session_id.in_(batch)))
                ]
        rows.sort(key=lambda row: row.id)
        return [
            Escalation(
                row.id, row.session_id, EscalationSource(row.source), stored_utc(row.created_at)
            )
            for row in rows
        ]
