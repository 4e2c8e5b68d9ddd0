"""Shared fixtures. Network access beyond loopback is blocked in every test."""

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from assistant.embedders.fake import FakeEmbedder
from assistant.stores.edge import EdgeStore
from tests.postgres import PostgresCluster, PostgresMissingError

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
        raise RuntimeError(f"tests must not reach the network (tried {address!r})")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 from the installed package on the default (ONNX) runtime; loaded once
    per test run."""
    from assistant.settings import Settings
    from assistant.wiring import build_embedder

    return build_embedder(Settings(embedder="minilm", embedding_runtime="onnx"))


@pytest.fixture
def edge_store(tmp_path: Path, fake_embedder: FakeEmbedder) -> Iterator[EdgeStore]:
    store = EdgeStore(tmp_path / "edge", dimension=fake_embedder.dimension)
    yield store
    store.close()


@pytest.fixture(scope="module")
def fake_llm():  # type: ignore[no-untyped-def]
    """A scripted fake OpenAI-compatible server, one per test module."""
    from tests.fakes.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory, real_embedder, fake_llm) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The test corpus served with answers written by `fake_llm`, one server per test module."""
    from tests.api.conftest import serve_corpus_with_llm

    with serve_corpus_with_llm(
        tmp_path_factory.mktemp("llm"), real_embedder, fake_llm.base_url
    ) as url:
        yield url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway Postgres cluster for the whole run (see tests/postgres.py). Missing
    binaries fail the tests that need it: a skipped backend would pass for a tested one."""
    try:
        cluster = PostgresCluster()
    except PostgresMissingError as exc:
        missing = str(exc)
    else:
        yield cluster
        cluster.stop()
        return
    pytest.fail(missing, pytrace=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty app database: SQLite in a temporary folder, then a new database in the
    throwaway Postgres cluster (`-m 'not slow and not postgres'` leaves that one out)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.database()
