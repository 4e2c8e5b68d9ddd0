"""Ingest while serving: the API process owns the embedded store and ingests over POST /v1/ingest;
`assistant ingest` against a store a running server holds fails with a message naming that
route."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.wiring import build_components
from tests.api.conftest import KEYS, Served, serve, serve_process
from tests.corpus import write_corpus

INTERNAL = {"Authorization": "Bearer emp-secret"}
PARTNER = {"Authorization": "Bearer partner-key"}

NEW_ARTICLE = """---
title: Archiving old projects
url: https://help.example.com/articles/archive-projects
---
# Archiving old projects

## Archive a project
1. Open Projects and select the project you finished.
2. Click Archive in the project menu.
3. Archived projects move to the Archive tab and stop counting toward the plan limit.
"""
NEW_QUESTION = "How do I archive a finished project?"


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ingest-route")
    write_corpus(root / "content" / "corpus")
    (root / "content" / "later").mkdir()
    (root / "outside").mkdir()
    (root / "outside" / "secret.md").write_text("# Secret\n\nNot for the index.\n")
    return root


@pytest.fixture(scope="module")
def served_ingest(content: Path, real_embedder: Embedder) -> Iterator[Served]:
    settings = Settings(
        data_dir=content / "data",
        api_keys=KEYS,
        rate_limit_per_minute=0,
        ingest_root=content / "content",
    )
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    with serve(app) as url:
        yield Served(url, app, settings)


@pytest.fixture
def server(served_ingest: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served_ingest.url, timeout=120) as client:
        yield client


def test_the_server_ingests_and_a_new_document_answers_while_chats_keep_succeeding(
    server: httpx.Client, content: Path
) -> None:
    first = server.post("/v1/ingest", json={"paths": ["corpus"]}, headers=INTERNAL)
    assert first.status_code == 200, first.text
    assert first.json()["added"] == 7 and first.json()["failed"] == []

    before = server.post("/v1/chat", json={"message": NEW_QUESTION}).json()
    assert all(c["document"] != "archive-projects.md" for c in before["citations"])

    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(base_url=str(server.base_url), timeout=120) as client:
            while not stop.is_set():
                reply = client.post("/v1/chat", json={"message": "How do I reset my password?"})
                statuses.append(reply.status_code)
                assert reply.json()["citations"][0]["document"] == "kb/reset-password.md"

    askers = [threading.Thread(target=keep_asking) for _ in range(2)]
    for thread in askers:
        thread.start()
    try:
        while len(statuses) < 2:  # both askers are in flight before the ingest starts
            time.sleep(0.05)
        (content / "content" / "later" / "archive-projects.md").write_text(NEW_ARTICLE)
        reply = server.post("/v1/ingest", json={"paths": ["later"]}, headers=INTERNAL)
    finally:
        stop.set()
        for thread in askers:
            thread.join(timeout=120)
    assert reply.status_code == 200, reply.text
    assert reply.json()["added"] == 1 and reply.json()["chunks_written"] >= 1
    assert statuses and set(statuses) == {200}

    after = server.post("/v1/chat", json={"message": NEW_QUESTION}).json()
    assert not after["refused"]
    assert after["citations"][0]["document"] == "archive-projects.md"
    assert "Archive" in after["answer"]

    again = server.post("/v1/ingest", json={"paths": ["later", "corpus"]}, headers=INTERNAL)
    assert again.json()["unchanged"] == 8 and again.json()["added"] == 0


def test_bad_files_and_symlinks_out_cost_only_themselves(
    server: httpx.Client, content: Path
) -> None:
    """Each used to end the whole ingest with a 500 and nothing indexed."""
    folder = content / "content" / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nThe one good file of the mixed folder.\n")
    (folder / "secret.md").symlink_to(content / "outside" / "secret.md")
    (folder / "strings.json").write_text('{"post_stream": {"posts": ["hello"]}}')
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "bomb.md").write_text('---\na: &a ["x"]\nb: [*a, *a]\n---\n# B\n\nText.\n')
    reply = server.post("/v1/ingest", json={"paths": ["mixed"]}, headers=INTERNAL)
    assert reply.status_code == 200, reply.text
    assert reply.json()["added"] == 1
    reasons = {f["file"]: f["reason"] for f in reply.json()["failed"]}
    assert set(reasons) == {"secret.md", "strings.json", "deep.json", "bomb.md"}
    assert "outside the ingested folder" in reasons["secret.md"]
    assert "Not for the index" not in reply.text


@pytest.mark.parametrize(
    "path",
    ["../outside/secret.md", "../outside", "/etc/passwd", "/", "corpus/../../outside"],
)
def test_paths_outside_the_ingest_root_are_refused(
    server: httpx.Client, content: Path, path: str
) -> None:
    reply = server.post("/v1/ingest", json={"paths": [path]}, headers=INTERNAL)
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "forbidden"
    assert "ASSISTANT_INGEST_ROOT" in reply.json()["error"]["message"]


def test_a_symlink_out_of_the_root_is_refused(server: httpx.Client, content: Path) -> None:
    link = content / "content" / "escape"
    link.symlink_to(content / "outside", target_is_directory=True)
    try:
        reply = server.post("/v1/ingest", json={"paths": ["escape"]}, headers=INTERNAL)
    finally:
        link.unlink()
    assert reply.status_code == 403


def test_only_internal_keys_may_ingest(server: httpx.Client) -> None:
    assert server.post("/v1/ingest", json={"paths": ["corpus"]}).status_code == 403
    assert server.post("/v1/ingest", json={"paths": ["corpus"]}, headers=PARTNER).status_code == 403
    bad = {"Authorization": "Bearer nope"}
    assert server.post("/v1/ingest", json={"paths": ["corpus"]}, headers=bad).status_code == 401


def test_missing_paths_and_bad_bodies_are_422(server: httpx.Client) -> None:
    missing = server.post("/v1/ingest", json={"paths": ["nowhere.md"]}, headers=INTERNAL)
    assert missing.status_code == 422 and "nowhere.md" in missing.json()["error"]["message"]
    bodies: list[dict[str, object]] = [{}, {"paths": []}, {"paths": ["corpus"], "audience": "boss"}]
    for body in bodies:
        assert server.post("/v1/ingest", json=body, headers=INTERNAL).status_code == 422


def test_a_second_ingest_while_one_runs_gets_409(
    server: httpx.Client, served_ingest: Served
) -> None:
    gate = served_ingest.app.state.ingest_gate
    assert gate.lock.acquire(timeout=120)  # what a running ingest holds
    try:
        reply = server.post("/v1/ingest", json={"paths": ["corpus"]}, headers=INTERNAL)
    finally:
        gate.lock.release()
    assert reply.status_code == 409 and reply.json()["error"]["code"] == "busy"


def test_the_route_is_off_without_an_ingest_root(tmp_path: Path, real_embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEYS, rate_limit_per_minute=0)
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    with serve(app) as url:
        reply = httpx.post(f"{url}/v1/ingest", json={"paths": [str(tmp_path)]}, headers=INTERNAL)
    assert reply.status_code == 403
    assert "set ASSISTANT_INGEST_ROOT" in reply.json()["error"]["message"]


def test_keys_ingest_inside_the_root_beside_the_command_line_on_the_server(
    tmp_path: Path,
) -> None:
    """A real `assistant serve` process owns the store: `assistant ingest` goes through it (as
    its local operator, tests/test_cli_through_server.py), and an internal key still ingests
    over HTTP inside ASSISTANT_INGEST_ROOT only, the same documents by the same names."""
    corpus = write_corpus(tmp_path / "content" / "corpus")
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "ASSISTANT_API_KEYS": KEYS,
        "ASSISTANT_INGEST_ROOT": str(tmp_path / "content"),
        "HF_HUB_OFFLINE": "1",
    }
    with serve_process(env, tmp_path / "server.log") as url:
        cli = subprocess.run(
            [sys.executable, "-m", "assistant", "ingest", str(corpus), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["added"] == 7

        reply = httpx.post(
            f"{url}/v1/ingest", json={"paths": [str(corpus)]}, headers=INTERNAL, timeout=120
        )
        assert reply.status_code == 200 and reply.json()["unchanged"] == 7
        outside = httpx.post(
            f"{url}/v1/ingest", json={"paths": [str(tmp_path)]}, headers=INTERNAL, timeout=120
        )
        assert outside.status_code == 403
