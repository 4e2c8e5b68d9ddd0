"""Conversation sessions in the app database: SQLite under the data folder, or Postgres.

Each turn keeps the question as asked, the standalone query it was condensed to, and the
answer, so follow-ups can be condensed and conversations reviewed later. A session belongs to
the caller that started it (its key, audience and tenant): nobody else can continue it, read
its history through a follow-up or rate its answers.
"""

import datetime as dt
import hashlib
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql.dml import Insert

from assistant.records.redaction import redact


class Base(DeclarativeBase):
    pass


class TurnRow(Base):
    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    question: Mapped[str] = mapped_column(Text)
    standalone: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SessionOwnerRow(Base):
    """Who started a session: a table of its own, so databases made before tenants existed
    gain it without a migration. `caller` came later (`add_missing_columns`): NULL in rows
    from before it, whose caller nobody can prove to be."""

    __tablename__ = "session_owners"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(128), nullable=True)
    caller: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class SessionOwner:
    """Who may continue a session: the caller that started it, and its tenant.

    `caller` is an identity from `caller_identity`, never a key. `names_sessions`: whether an
    unknown session id the caller sends becomes its session. Anonymous callers all share one
    identity, so their session ids must be the server's or as hard to guess (`unguessable`);
    a key's sessions are its own whatever their ids.
    """

    caller: str
    tenant: str | None = None
    names_sessions: bool = True

    @classmethod
    def operator(cls, *, audience: str, tenant: str | None = None) -> "SessionOwner":
        """Someone at the command line (`assistant ask --session`), who holds the database
        anyway; still not the owner of any HTTP caller's session."""
        return cls(caller_identity("operator", audience, tenant or ""), tenant)


# An id of 32 or more letters, digits, "-" and "_" (a UUID, a random token) is not guessed:
# anonymous callers may name their sessions with one.
_UNGUESSABLE = re.compile(r"[A-Za-z0-9_-]{32,128}")


def unguessable(session_id: str) -> bool:
    return bool(_UNGUESSABLE.fullmatch(session_id))


def caller_identity(*parts: str) -> str:
    """A caller's identity from what identifies it (e.g. the key's digest, its audience and
    tenant): a digest of those, so the database holds no key and no key digest."""
    return hashlib.sha256("\0".join(("session-owner", *parts)).encode()).hexdigest()[:32]


_INSERT_TURN = insert(Base.metadata.tables[TurnRow.__tablename__])
_INSERT_OWNER = insert(Base.metadata.tables[SessionOwnerRow.__tablename__])

_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, threading.Lock]" = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session in a write transaction. SQLite takes one writer at a time and its busy
    handler polls: under load (benchmarks/load.py, 32 clients) a waiting thread gave up after
    its timeout ("database is locked", a 500) while the writer waited for the GIL. Writers in
    this process queue on a lock instead; other databases need none."""
    if engine.dialect.name != "sqlite":
        lock: AbstractContextManager[object] = nullcontext()
    else:
        with _WRITE_LOCKS_GUARD:
            lock = _WRITE_LOCKS.setdefault(engine, threading.Lock())
    with lock, Session(engine) as db, db.begin():
        yield db


def insert_row(db: Session, statement: Insert, row: dict[str, Any]) -> int:
    """A plain INSERT with bound parameters (compiled once); returns the new row's integer
    key. For the rows written with every answer: the ORM's unit of work cost more than the
    rest of an answer served from the cache."""
    key = db.connection().execute(statement, row).inserted_primary_key
    assert key is not None
    return int(key[0])


T = TypeVar("T")
_VALUES_PER_QUERY = 500  # SQLite allows a few thousand bound parameters per statement at least


def in_batches(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one `IN (...)` each."""
    for start in range(0, len(values), _VALUES_PER_QUERY):
        yield values[start : start + _VALUES_PER_QUERY]


@dataclass(frozen=True)
class Turn:
    question: str
    standalone: str
    answer: str
    refused: bool


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a DATABASE_URL. `postgresql://` and `postgres://` (what Postgres
    hosts hand out) mean psycopg 3, the driver we ship; SQLAlchemy would look for psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


class SessionStore:
    """Reads and appends conversation turns; safe to share between threads."""

    def __init__(self, url: str) -> None:
        url = engine_url(url)
        sqlite = url.startswith("sqlite")
        # Another process (`assistant gaps`, an ingest) may hold the write lock for a while.
        connect_args = {"check_same_thread": False, "timeout": 30} if sqlite else {}
        # A server may drop idle connections; a SQLite file cannot, so it skips the ping.
        self._engine: Engine = create_engine(
            url, connect_args=connect_args, pool_pre_ping=not sqlite
        )
        if sqlite:
            event.listen(self._engine, "connect", _sqlite_write_ahead_log)
        create_tables(self._engine, Base.metadata.tables[SessionOwnerRow.__tablename__])

    def exists(self, session_id: str) -> bool:
        """Whether anyone started a session with this id (it has an owner or turns)."""
        with Session(self._engine) as db:
            if db.get(SessionOwnerRow, session_id) is not None:
                return True
            turn = db.scalar(select(TurnRow.id).where(TurnRow.session_id == session_id).limit(1))
        return turn is not None

    def owns(self, session_id: str, owner: SessionOwner) -> bool:
        """Whether `owner` started the session. Sessions from before callers were recorded
        (no owner, or an owner without a caller) belong to nobody."""
        with Session(self._engine) as db:
            row = db.get(SessionOwnerRow, session_id)
        return row is not None and row.caller == owner.caller and row.tenant == owner.tenant

    def claim(self, session_id: str, owner: SessionOwner) -> bool:
        """Whether `owner` may continue the session: it started it, or the id is new and the
        owner `names_sessions` or the id is as hard to guess as one of ours (a client that
        makes its own UUIDs): the session then becomes its own."""
        if self.owns(session_id, owner):
            return True
        may_name = owner.names_sessions or unguessable(session_id)
        if not may_name or self.exists(session_id):
            return False
        try:
            with write_session(self._engine) as db:
                db.add(
                    SessionOwnerRow(session_id=session_id, tenant=owner.tenant, caller=owner.caller)
                )
        except IntegrityError:  # claimed by a concurrent request: its owner decides
            return self.owns(session_id, owner)
        return True

    def history(self, session_id: str, *, limit: int = 6) -> list[Turn]:
        """The last `limit` turns, oldest first."""
        with Session(self._engine) as db:
            rows = db.scalars(
                select(TurnRow)
                .where(TurnRow.session_id == session_id)
                .order_by(TurnRow.id.desc())
                .limit(limit)
            ).all()
        return [Turn(r.question, r.standalone, r.answer, bool(r.refused)) for r in reversed(rows)]

    def append(
        self,
        session_id: str,
        turn: Turn,
        *,
        starts_for: SessionOwner | None = None,
        also: Callable[[Session, int], object] | None = None,
    ) -> int:
        """Stores the turn with personal data redacted (see assistant/records/redaction.py); returns
        its id. `starts_for`: a session id nobody else has seen yet (one we just made up)
        becomes this owner's in the same transaction, rather than in a `claim` of its own.
        `also(db, turn_id)` writes more rows in that transaction: one commit per answer."""
        row = {
            "session_id": session_id,
            "question": redact(turn.question),
            "standalone": redact(turn.standalone),
            "answer": redact(turn.answer),
            "refused": int(turn.refused),
            "created_at": dt.datetime.now(dt.UTC),
        }
        with write_session(self._engine) as db:
            if starts_for is not None:
                owner = {"session_id": session_id, "tenant": starts_for.tenant}
                db.connection().execute(_INSERT_OWNER, owner | {"caller": starts_for.caller})
            turn_id = insert_row(db, _INSERT_TURN, row)
            if also is not None:
                also(db, turn_id)
            return turn_id

    @property
    def engine(self) -> Engine:
        """The app database engine, for other tables that live beside the sessions."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()


# Any fixed 64-bit number, the same in every process: the key of the advisory lock below.
_SCHEMA_LOCK = 0x4C41_5353_4348_454D


def create_tables(engine: Engine, *grown: Table) -> None:
    """Creates the app database's missing tables, and the missing columns of `grown` tables
    (see `add_missing_columns`), in one transaction that holds the database's write lock.
    Instances started together on one database take turns: two CREATE TABLEs of one table at
    once fail one of them ("already exists" in SQLite, a unique violation in Postgres'
    catalog), and with it that instance's start."""
    with engine.connect() as db:
        if engine.dialect.name == "postgresql":
            # Released at commit; Postgres' DDL is transactional, so the tables come with it.
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        elif engine.dialect.name == "sqlite":
            db.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock; the driver sends no BEGIN
        Base.metadata.create_all(db)
        for table in grown:
            add_missing_columns(db, table)
        db.commit()


def add_missing_columns(db: Connection, table: Table) -> None:
    """Adds the columns that `table`, made by an earlier version, lacks; its old rows get
    NULL (every column added this way is nullable). Call it in `create_tables`' transaction,
    so that two processes starting at once do not both add a column."""
    present = {column["name"] for column in inspect(db).get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        assert column.nullable, f"{table.name}.{column.name} must be nullable to be added"
        kind = column.type.compile(dialect=db.dialect)
        db.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stored_utc(moment: dt.datetime) -> dt.datetime:
    """A time read back from the app database, in UTC: SQLite hands datetimes back without
    their zone (they were stored in UTC), Postgres with it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_WAL_SWITCH_SECONDS = 30  # as long as the connection's own wait for a lock


def _sqlite_write_ahead_log(connection: Any, _record: object) -> None:
    """Readers never wait for the writer, and a commit syncs the log rather than the whole
    database: every answer writes a turn and a question-log row, and a synchronous commit
    per write cost tens of milliseconds per answer on a busy disk."""
    cursor = connection.cursor()
    # Switching a new file to WAL needs it to itself, and SQLite answers "database is locked"
    # at once (no busy wait) while another instance starting beside this one creates the
    # tables; WAL stays once set, so waiting for that instance's turn is enough.
    deadline = time.monotonic() + _WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
