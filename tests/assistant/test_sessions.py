import threading
from pathlib import Path

from assistant.sessions import SessionStore, Turn, write_session


def test_history_is_per_session_oldest_first_and_limited(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")
    for i in range(8):
        store.append("s1", Turn(f"q{i}", f"s{i}", f"a{i}", refused=i == 3))
    store.append("s2", Turn("other", "other", "x", refused=False))
    history = store.history("s1", limit=3)
    assert [t.question for t in history] == ["q5", "q6", "q7"]
    assert store.history("s1", limit=6)[0].refused is False
    assert [t.question for t in store.history("s2")] == ["other"]
    assert store.history("unknown") == []
    store.close()


def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    first = SessionStore(url)
    first.append("s", Turn("q", "q", "a", refused=False))
    first.close()
    assert [t.answer for t in SessionStore(url).history("s")] == ["a"]


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


def test_a_session_belongs_to_the_tenant_that_started_it(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")
    assert store.claim("s-acme", tenant="acme")
    assert store.claim("s-acme", tenant="acme")  # its own tenant continues it
    assert not store.claim("s-acme", tenant="globex")
    assert not store.claim("s-acme", tenant=None)
    assert store.claim("s-none", tenant=None)
    assert not store.claim("s-none", tenant="acme")
    store.close()


def test_sessions_from_before_owners_belong_to_callers_without_a_tenant(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")
    store.append("old", Turn("q", "q", "a", refused=False))  # written without a claim
    assert not store.claim("old", tenant="acme")
    assert store.claim("old", tenant=None)
    store.close()


def test_writers_queue_in_process_and_none_is_lost(tmp_path: Path) -> None:
    """Under load SQLite's polling busy handler gave up ("database is locked"); writers of one
    process now wait on a lock, so every turn of many concurrent threads is stored."""
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

    def many(thread: int) -> None:
        for turn in range(25):
            store.append(f"s{thread}", Turn(f"q{turn}", "q", "a", False), starts_session=turn == 0)

    threads = [threading.Thread(target=many, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(store.history(f"s{n}", limit=100)) == 25 for n in range(16))
    assert all(store.owner(f"s{n}") == (True, None) for n in range(16))
