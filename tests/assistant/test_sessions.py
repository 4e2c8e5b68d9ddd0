import threading
from pathlib import Path

from sqlalchemy import text

from assistant.records.sessions import (
    Base,
    SessionOwner,
    SessionStore,
    Turn,
    caller_identity,
    engine_url,
    write_session,
)
from tests.concurrency import at_once


def test_history_is_per_session_oldest_first_and_limited(database_url: str) -> None:
    store = SessionStore(database_url)
    for i in range(8):
        store.append("s1", Turn(f"q{i}", f"s{i}", f"a{i}", refused=i == 3))
    store.append("s2", Turn("other", "other", "x", refused=False))
    history = store.history("s1", limit=3)
    assert [t.question for t in history] == ["q5", "q6", "q7"]
    assert store.history("s1", limit=6)[0].refused is False
    assert [t.question for t in store.history("s2")] == ["other"]
    assert store.history("unknown") == []
    store.close()


def test_sessions_survive_a_restart(database_url: str) -> None:
    first = SessionStore(database_url)
    first.append("s", Turn("q", "q", "a", refused=False))
    first.close()
    again = SessionStore(database_url)
    assert [t.answer for t in again.history("s")] == ["a"]
    again.close()


def test_a_reader_is_not_blocked_by_an_open_write(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'app.db'}"
    store = SessionStore(url)
    store.append("s1", Turn("q", "q", "a", refused=False))
    writer = sqlite3.connect(tmp_path / "app.db", timeout=0.1)
    writer.execute("BEGIN EXCLUSIVE")  # another process in the middle of writing
    writer.execute(
        "INSERT INTO turns (session_id, question, standalone, answer, refused, "
        "created_at) VALUES ('s2', 'x', 'x', 'x', 0, '2026-01-01')"
    )
    assert [t.question for t in store.history("s1")] == ["q"]  # would raise "locked" without WAL
    writer.rollback()
    writer.close()
    store.close()


ACME = SessionOwner(caller_identity("key", "acme-digest", "public", "acme"), "acme")
GLOBEX = SessionOwner(caller_identity("key", "globex-digest", "public", "globex"), "globex")
EMPLOYEE = SessionOwner(caller_identity("key", "emp-digest", "internal", ""))
COLLEAGUE = SessionOwner(caller_identity("key", "other-digest", "internal", ""))
ANONYMOUS = SessionOwner(caller_identity("anonymous", "public", ""), names_sessions=False)


def test_a_session_belongs_to_the_tenant_that_started_it(database_url: str) -> None:
    store = SessionStore(database_url)
    assert store.claim("s-acme", ACME)
    assert store.claim("s-acme", ACME)  # its own caller continues it
    assert not store.claim("s-acme", GLOBEX)
    assert not store.claim("s-acme", EMPLOYEE)
    assert store.claim("s-none", EMPLOYEE)
    assert not store.claim("s-none", ACME)
    store.close()


def test_a_session_belongs_to_the_caller_that_started_it(database_url: str) -> None:
    """Same tenant (none) is not enough: another key, the same key with another audience, or
    no key at all gets a new conversation, and may not rate the session's answers."""
    store = SessionStore(database_url)
    store.append(
        "emp",
        Turn("Which staging database is marlin-staging-db-04?", "q", "a", False),
        starts_for=EMPLOYEE,
    )
    same_key_as_public = SessionOwner(caller_identity("key", "emp-digest", "public", ""))
    for other in (COLLEAGUE, same_key_as_public, ANONYMOUS):
        assert not store.claim("emp", other)
        assert not store.owns("emp", other)
    assert store.claim("emp", EMPLOYEE) and store.owns("emp", EMPLOYEE)
    store.close()


def test_anonymous_callers_name_no_session_but_continue_their_own(database_url: str) -> None:
    store = SessionStore(database_url)
    assert not store.claim("chosen-by-the-client", ANONYMOUS)
    assert not store.owns("chosen-by-the-client", ANONYMOUS)
    store.append("server-made", Turn("q", "q", "a", False), starts_for=ANONYMOUS)
    assert store.claim("server-made", ANONYMOUS)
    assert not store.claim("server-made", EMPLOYEE)  # nor does a key take it over
    # A client that makes its own random ids (a UUID) may name its sessions with them.
    client_made = "7f0c5a52-2d4e-4f0e-9a51-0c3b1e6d2f4a"
    assert store.claim(client_made, ANONYMOUS)
    assert store.owns(client_made, ANONYMOUS)
    assert not store.claim(client_made, EMPLOYEE)
    store.close()


def test_sessions_from_before_callers_were_recorded_belong_to_nobody(database_url: str) -> None:
    """A database made before owners had a caller (or before sessions had owners) gains the
    column on open; nobody can prove they started its sessions, so none is continued."""
    from sqlalchemy import create_engine

    engine = create_engine(engine_url(database_url))
    Base.metadata.tables["turns"].create(engine)  # unchanged since
    with engine.begin() as db:
        for statement in (
            "CREATE TABLE session_owners (session_id VARCHAR(128) PRIMARY KEY, "
            "tenant VARCHAR(128))",
            "INSERT INTO turns (session_id, question, standalone, answer, refused, created_at) "
            "VALUES ('unowned', 'q', 'q', 'a', 0, '2026-01-01'), ('owned', 'q', 'q', 'a', 0, "
            "'2026-01-01')",
            "INSERT INTO session_owners VALUES ('owned', NULL)",
        ):
            db.execute(text(statement))
    engine.dispose()
    store = SessionStore(database_url)
    for session_id in ("unowned", "owned"):
        assert not store.claim(session_id, EMPLOYEE)
        assert not store.claim(session_id, SessionOwner.operator(audience="public"))
    assert store.history("owned")[0].question == "q"  # the data is kept
    store.append("new", Turn("q", "q", "a", False), starts_for=EMPLOYEE)
    assert store.claim("new", EMPLOYEE)
    store.close()
    SessionStore(database_url).close()  # opening again finds the column there


def test_sqlite_writers_queue_in_process(tmp_path: Path) -> None:
    """Under load SQLite's polling busy handler gave up ("database is locked"); writers of one
    process now wait on a lock instead of failing."""
    store = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")
    holder = write_session(store.engine)
    holder.__enter__()  # an open write transaction, as a slow writer would hold it
    done = threading.Event()
    waiting = threading.Thread(
        target=lambda: (store.append("blocked", Turn("q", "q", "a", False)), done.set())
    )
    waiting.start()
    assert not done.wait(0.5)  # queued behind the open write, not failing
    holder.__exit__(None, None, None)
    assert done.wait(10)
    store.close()


def test_no_turn_of_concurrent_writers_is_lost(database_url: str) -> None:
    store = SessionStore(database_url)

    def many(thread: int) -> None:
        for turn in range(25):
            owner = EMPLOYEE if turn == 0 else None
            store.append(f"s{thread}", Turn(f"q{turn}", "q", "a", False), starts_for=owner)

    threads = [threading.Thread(target=many, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(store.history(f"s{n}", limit=100)) == 25 for n in range(16))
    assert all(store.owns(f"s{n}", EMPLOYEE) for n in range(16))
    store.close()


def test_one_of_two_instances_claiming_a_new_session_at_once_gets_it(database_url: str) -> None:
    """Two API instances (each its own engine) claim the same new session id for different
    callers at the same moment: exactly one owns it, and both agree on which."""
    instances = [SessionStore(database_url) for _ in range(2)]
    owners = [EMPLOYEE, COLLEAGUE]
    for round_ in range(10):
        session_id = f"race-{round_}"
        won = at_once(lambda n, session_id=session_id: instances[n].claim(session_id, owners[n]), 2)
        assert sorted(won) == [False, True]
        winner = owners[won.index(True)]
        assert all(instance.owns(session_id, winner) for instance in instances)
    for instance in instances:
        instance.close()


def test_instances_starting_together_on_an_empty_database_all_start(database_url: str) -> None:
    """API instances started at once each create the tables they find missing: none may fail
    because another created one first."""
    from assistant.records.feedback import FeedbackStore
    from assistant.records.question_log import QuestionLog

    def start(_: int) -> bool:
        store = SessionStore(database_url)
        FeedbackStore(store.engine)
        QuestionLog(store.engine, retention_days=90)
        store.close()
        return True

    assert at_once(start, 4) == [True] * 4
