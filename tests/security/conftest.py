"""One index of corpora/ plus a partner article, ingested once per run with the real MiniLM, and
an API server over it; the command line gets a copy of the index (the embedded store belongs
to one process at a time)."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.app import create_app
from assistant import wiring
from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.wiring import build_components
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.api.conftest import KEYS, _quiet_access_log, serve
from tests.security.adversarial import CORPORA, PARTNER_ARTICLE, PARTNER_DOCUMENT

__all__ = ["_quiet_access_log"]  # one JSON line per request is noise here too


@dataclass(frozen=True)
class IsolationIndex:
    """An ingested index: the server's settings over it, and a copy for the command line."""

    settings: Settings  # what the server reads
    cli_data_dir: Path  # a copy for the command line


@pytest.fixture(scope="session")
def isolation_index(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> IsolationIndex:
    root = tmp_path_factory.mktemp("isolation")
    partner = root / "partner"
    partner.mkdir()
    (partner / PARTNER_DOCUMENT).write_text(PARTNER_ARTICLE, encoding="utf-8")
    settings = Settings(
        data_dir=root / "data", api_keys=KEYS, rate_limit_per_minute=0, ingest_root=partner
    )
    components = build_components(settings, embedder=real_embedder)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    try:
        summary = IngestJob(components.store, real_embedder, chunker).run([CORPORA, partner])
    finally:
        components.close()
    assert not summary.failed and summary.added >= 29
    shutil.copytree(settings.data_dir, root / "cli-data")
    return IsolationIndex(settings, root / "cli-data")


@contextmanager
def serve_index(index: IsolationIndex, embedder: Embedder) -> Iterator[str]:
    """An API server over `index` with the already loaded `embedder`; yields its base URL."""
    app = create_app(
        index.settings, components_factory=lambda s: build_components(s, embedder=embedder)
    )
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def isolation_url(isolation_index: IsolationIndex, real_embedder: Embedder) -> Iterator[str]:
    with serve_index(isolation_index, real_embedder) as url:
        yield url


@pytest.fixture
def cli_env(cli_data_dir: Path, real_embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """`assistant ask` in this process reads `cli_data_dir`, a copy of the index the module's
    server reads (each module using this says which), with the already loaded MiniLM instead of
    loading the same model again for every question."""
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(cli_data_dir))
    monkeypatch.setattr(wiring, "build_embedder", lambda settings: real_embedder)
