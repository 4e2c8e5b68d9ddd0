"""`assistant ingest` and `assistant ask` while `assistant serve` holds the embedded store: real
processes on one data folder, the commands going through the server as its local operator."""

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import Scope

from api.auth import AuthError
from api.local_operator import LocalOperator
from assistant.local_server import AS_HEADER, SERVER_FILE
from tests.api.conftest import serve_process
from tests.corpus import write_corpus

# Short, so the ingests below outlive it: it bounds how long a request takes to arrive, never
# how long the server takes to answer it.
REQUEST_TIMEOUT = 0.25

BADGE_RUNBOOK = """---
title: Warehouse badge renewal
audience: internal
---
# Warehouse badge renewal

Warehouse badges expire every 90 days. Renew yours at the front desk with form W-7 and a photo
ID; the desk prints the new badge while you wait.
"""
BADGE_QUESTION = "How do I renew my warehouse badge?"


@dataclass(frozen=True)
class Running:
    url: str
    env: dict[str, str]
    root: Path  # the commands' working folder; the data folder is root/data


def assistant(*args: str, env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def server_env(root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1]),  # the commands run this checkout's code
        "ASSISTANT_DATA_DIR": str(root / "data"),
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A real `assistant serve` (MiniLM, no keys, no ingest root, as `make run` starts it) over
    an empty data folder."""
    root = tmp_path_factory.mktemp("through")
    env = server_env(root, ASSISTANT_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT))
    with serve_process(env, root / "server.log") as url:
        yield Running(url, env, root)


@pytest.fixture(scope="module")
def corpus_ingested(running: Running) -> dict[str, object]:
    """The test corpus ingested with `assistant ingest corpus missing-folder --json` (a path
    relative to the command's folder, and one that is not there); returns the result."""
    corpus = write_corpus(running.root / "corpus")
    (corpus / "kb" / "broken.json").write_text("{ not json")
    done = assistant(
        "ingest", "corpus", "missing-folder", "--json", env=running.env, cwd=running.root
    )
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def test_ingest_goes_through_the_running_server(
    running: Running, corpus_ingested: dict[str, object]
) -> None:
    assert corpus_ingested["returncode"] == 0, corpus_ingested["stderr"]
    assert f"through the running server at {running.url}" in str(corpus_ingested["stderr"])
    summary = json.loads(str(corpus_ingested["stdout"]))
    assert (summary["added"], summary["updated"], summary["deleted"]) == (7, 0, 0)
    # Failures named as a direct run names them: relative to the folder, or as typed.
    assert {(f["file"], f["reason"]) for f in summary["failed"]} == {
        ("missing-folder", "no such file or folder"),
        (
            "kb/broken.json",
            "invalid JSON at line 1: Expecting property name enclosed in double quotes",
        ),
    }
    # The request took many times the server's request timeout and was not cut off by it.
    assert summary["seconds"] > REQUEST_TIMEOUT

    again = assistant("ingest", "corpus", env=running.env, cwd=running.root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("added 0, updated 0, unchanged 7, deleted 0, failed 1 ")


def test_ask_goes_through_the_running_server(
    running: Running, corpus_ingested: dict[str, object]
) -> None:
    ask = assistant(
        "ask", "How do I reset my password?", "--json", env=running.env, cwd=running.root
    )
    assert ask.returncode == 0, ask.stderr
    assert f"(through the running server at {running.url})" in ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["citations"][0]["document"] == "kb/reset-password.md"
    assert set(answer) >= {"answer", "citations", "confidence", "refused", "session_id"}

    follow_up = assistant(
        "ask",
        "and if the email does not arrive?",
        "--session",
        answer["session_id"],
        "--json",
        env=running.env,
        cwd=running.root,
    )
    assert follow_up.returncode == 0, follow_up.stderr
    assert json.loads(follow_up.stdout)["session_id"] == answer["session_id"]


def test_content_added_while_serving_is_answered_for_its_audience_only(
    running: Running, corpus_ingested: dict[str, object]
) -> None:
    mydocs = running.root / "mydocs"
    mydocs.mkdir()
    (mydocs / "badge-renewal.md").write_text(BADGE_RUNBOOK)
    ingest = assistant(
        "ingest", str(mydocs), "--audience", "internal", env=running.env, cwd=running.root
    )
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.startswith("added 1, updated 0, unchanged 0, deleted 0, failed 0 ")

    employee = assistant(
        "ask",
        BADGE_QUESTION,
        "--audience",
        "internal",
        "--mode",
        "internal",
        "--json",
        env=running.env,
        cwd=running.root,
    )
    assert employee.returncode == 0, employee.stderr
    cited = [c["document"] for c in json.loads(employee.stdout)["citations"]]
    assert cited and cited[0] == "badge-renewal.md"

    # The default audience is public, through the server as directly: no internal source.
    for question in (BADGE_QUESTION, "What is the refund approval limit?"):
        public = assistant(
            "ask", question, "--mode", "internal", "--json", env=running.env, cwd=running.root
        )
        assert public.returncode == 0, public.stderr
        answer = json.loads(public.stdout)
        assert all(c["audience"] == "public" for c in answer["citations"]), answer
        assert "W-7" not in public.stdout and "PELICAN" not in public.stdout


def test_a_tenants_content_is_answered_for_that_tenant_only(
    running: Running, corpus_ingested: dict[str, object]
) -> None:
    tenant = "Café Crème"  # not ASCII: it travels URL-quoted in a header
    own = running.root / "tenant-docs"
    own.mkdir()
    (own / "espresso-invoices.md").write_text(
        "# Espresso machine invoices\n\nEspresso machine leases are invoiced on the 3rd of "
        "each month under the code ESPRESSO-LEASE.\n"
    )
    ingest = assistant("ingest", str(own), "--tenant", tenant, env=running.env, cwd=running.root)
    assert ingest.returncode == 0, ingest.stderr
    question = "When are espresso machine leases invoiced?"
    theirs = assistant(
        "ask", question, "--tenant", tenant, "--json", env=running.env, cwd=running.root
    )
    assert theirs.returncode == 0, theirs.stderr
    assert [c["document"] for c in json.loads(theirs.stdout)["citations"]][:1] == [
        "espresso-invoices.md"
    ]
    shared = assistant("ask", question, "--json", env=running.env, cwd=running.root)
    assert shared.returncode == 0, shared.stderr
    assert "ESPRESSO-LEASE" not in shared.stdout and "espresso-invoices" not in shared.stdout


def test_the_server_file_is_readable_by_its_user_only(
    running: Running, corpus_ingested: dict[str, object]
) -> None:
    mode = stat.S_IMODE((running.root / "data" / SERVER_FILE).stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_the_token_is_refused_when_wrong_or_forwarded(
    running: Running, corpus_ingested: dict[str, object]
) -> None:
    token = json.loads((running.root / "data" / SERVER_FILE).read_text())["token"]
    question = {"message": "What is the refund approval limit?", "mode": "internal"}

    def chat(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{running.url}/v1/chat", json=question, headers=headers, timeout=60)

    wrong = chat({"Authorization": "Bearer not-the-token", AS_HEADER: "internal"})
    assert wrong.status_code == 401 and "PELICAN" not in wrong.text
    # Anyone without the token is a public caller that may not name its audience.
    anonymous = chat({AS_HEADER: "internal"})
    assert anonymous.status_code == 401 and "PELICAN" not in anonymous.text
    forwarded = chat({"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 403 and "PELICAN" not in forwarded.text
    ingest = httpx.post(
        f"{running.url}/v1/ingest",
        json={"paths": [str(running.root / "corpus")]},
        headers={"Authorization": "Bearer not-the-token", AS_HEADER: "internal"},
        timeout=60,
    )
    assert ingest.status_code == 401

    employee = chat({"Authorization": f"Bearer {token}"})  # internal unless it names another
    assert employee.status_code == 200 and "PELICAN" in employee.text


def test_the_token_is_refused_from_another_machine() -> None:
    operator = LocalOperator("the-token")
    scope: Scope = {
        "type": "http",
        "client": ("192.0.2.7", 50000),
        "headers": [(b"authorization", b"Bearer the-token")],
    }
    with pytest.raises(AuthError) as refused:
        operator.caller(scope)
    assert refused.value.status == 403
    local = operator.caller({**scope, "client": ("127.0.0.1", 50000)})
    assert local is not None and local.audience.value == "internal" and local.local


def test_a_long_list_of_paths_goes_in_several_requests(tmp_path: Path) -> None:
    """More paths than one POST /v1/ingest takes (100): one summary of all, as directly; and the
    server file goes when the server stops."""
    env = server_env(tmp_path, ASSISTANT_EMBEDDER="fake")
    notes = tmp_path / "notes"
    notes.mkdir()
    for n in range(101):
        (notes / f"note-{n}.md").write_text(f"# Note {n}\n\nNote number {n} of the list.\n")
    with serve_process(env, tmp_path / "server.log"):
        paths = [f"notes/note-{n}.md" for n in range(101)]
        ingest = assistant("ingest", *paths, "--json", env=env, cwd=tmp_path)
        assert ingest.returncode == 0, ingest.stderr
        summary = json.loads(ingest.stdout)
        assert (summary["added"], summary["failed"]) == (101, [])
        assert (tmp_path / "data" / SERVER_FILE).exists()
    assert not (tmp_path / "data" / SERVER_FILE).exists()
    log = (tmp_path / "server.log").read_text()
    assert log.count('"route": "/v1/ingest"') == 2


def test_a_stale_server_file_is_ignored_and_said_so(tmp_path: Path) -> None:
    """A killed server leaves its file: the commands say so and open the store themselves, or,
    when something else holds the store, fail at once with what to do."""
    env = server_env(tmp_path, ASSISTANT_EMBEDDER="fake")
    corpus = write_corpus(tmp_path / "corpus")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / SERVER_FILE).write_text(
        json.dumps({"url": "http://127.0.0.1:9", "pid": dead_pid, "token": "old"})
    )
    ingest = assistant("ingest", str(corpus), env=env, cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert f"pid {dead_pid}) is not running" in ingest.stderr
    assert ingest.stdout.startswith("added 7, ")

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from assistant.settings import Settings; "
            "from assistant.wiring import build_store; "
            "store = build_store(Settings(), dimension=64); print('open', flush=True); "
            "time.sleep(120)",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        ask = assistant("ask", "How do I reset my password?", env=env, cwd=tmp_path)
    finally:
        holder.kill()
        holder.communicate()
    assert ask.returncode == 1
    assert f"pid {dead_pid}) is not running" in ask.stderr
    assert "open in another process" in ask.stderr and SERVER_FILE in ask.stderr
    assert "Traceback" not in ask.stderr
