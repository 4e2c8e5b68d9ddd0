"""A real HTTP server (uvicorn on loopback) for the API tests: `serve(app)` starts any app;
`base_url` is the assistant over the test corpus, with real MiniLM and the real Qdrant engine."""

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.json_logging import configure_logging
from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.wiring import build_components
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus

KEYS = "emp-secret=internal,partner-key=partner,public-key=public"
# Callers of internal-only routes who are not employees, with the status each gets.
NOT_INTERNAL = [
    ({}, 403),  # anonymous callers are public
    ({"Authorization": "Bearer public-key"}, 403),
    ({"Authorization": "Bearer partner-key"}, 403),
    ({"Authorization": "Bearer wrong"}, 401),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_process(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """A real `assistant serve` process with `env` on a free port, output to `log`; yields its
    base URL once /healthz answers, and stops it on exit."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not healthy(url):
            assert server.poll() is None, f"the server exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"the server did not come up: {log.read_text()}"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def healthy(url: str) -> bool:
    """Whether the server at `url` answers /healthz."""
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serve(app: FastAPI, *, port: int | None = None) -> Iterator[str]:
    """Runs the app (lifespan included) in a thread, on `port` or a free one; yields its base
    URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "server failed to start"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_corpus_with_llm(
    root: Path,
    embedder: Embedder,
    llm_base_url: str,
    *,
    model: str = "fake-model",
    timeout: float = 5,
) -> Iterator[str]:
    """The test corpus ingested under `root`, served with answers written by the LLM at
    `llm_base_url` (the scripted fake in tests/fakes, or the real local model); yields the base
    URL."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=root / "data",
        rate_limit_per_minute=0,
        LLM_BASE_URL=llm_base_url,  # type: ignore[call-arg]
        LLM_MODEL=model,  # type: ignore[call-arg]
        LLM_TIMEOUT_SECONDS=timeout,  # type: ignore[call-arg]
        answer_cache_size=0,  # tests script different replies to the same questions
    )
    components = build_components(settings, embedder=embedder)
    chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
    IngestJob(components.store, embedder, chunker).run([write_corpus(root / "corpus")])
    components.close()
    app = create_app(settings, components_factory=lambda s: build_components(s, embedder=embedder))
    with serve(app) as url:
        yield url


@pytest.fixture(autouse=True, scope="session")
def _quiet_access_log() -> None:
    """One JSON line per request is noise here; tests/api/test_limits.py turns it back on."""
    configure_logging()
    logging.getLogger("api.access").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Served:
    url: str
    app: FastAPI
    settings: Settings


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Settings:
    """Settings of a data folder holding the ingested test corpus (ingested once per run)."""
    root: Path = tmp_path_factory.mktemp("http")
    # The rate limit is off here: tests/api/test_limits.py checks it on servers of its own.
    settings = Settings(data_dir=root / "data", api_keys=KEYS, rate_limit_per_minute=0)
    components = build_components(settings, embedder=real_embedder)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(components.store, real_embedder, chunker).run([write_corpus(root / "corpus")])
    components.close()
    return settings


@pytest.fixture(scope="session")
def served(corpus_settings: Settings, real_embedder: Embedder) -> Iterator[Served]:
    app = create_app(
        corpus_settings,
        components_factory=lambda s: build_components(s, embedder=real_embedder),
    )
    with serve(app) as url:
        yield Served(url, app, corpus_settings)


@pytest.fixture
def base_url(served: Served) -> str:
    return served.url
