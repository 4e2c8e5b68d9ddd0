"""The `assistant` command as users run it: a real subprocess with its own data folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.corpus import write_corpus


def run(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_ingest_then_ask_json(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "kb" / "broken.json").write_text("{ not json")
    ingest = run("ingest", str(corpus), "--json", data=tmp_path / "data")
    assert ingest.returncode == 0, ingest.stderr
    summary = json.loads(ingest.stdout)
    assert summary["added"] == 7
    assert summary["failed"] == [
        {
            "file": "kb/broken.json",
            "reason": "invalid JSON at line 1: Expecting property name enclosed in double quotes",
        }
    ]

    ask = run("ask", "How do I reset my password?", "--json", data=tmp_path / "data")
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["citations"][0]["document"] == "kb/reset-password.md"
    assert set(answer) >= {"answer", "citations", "confidence", "refused", "session_id"}

    # `assistant ask … --json | head`: the reader is gone before the answer is printed.
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    closed = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "How do I reset my password?", "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=300,
    )
    os.close(write_end)
    assert closed.returncode == 1 and "Traceback" not in closed.stderr, closed.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run("ingest", data=tmp_path / "data")
    assert result.returncode == 2 and "PATH" in result.stderr
    result = run("ask", "q", "--mode", "boss", data=tmp_path / "data")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_help_teaches(tmp_path: Path) -> None:
    result = run("--help", data=tmp_path / "data")
    assert result.returncode == 0
    assert "assistant ingest corpora/" in result.stdout and "ASSISTANT_DATA_DIR" in result.stdout
    serve = run("serve", "--help", data=tmp_path / "data")
    assert serve.returncode == 0
    for setting in ("ASSISTANT_DATA_DIR", "ASSISTANT_API_KEYS", "LLM_BASE_URL", "QDRANT_URL"):
        assert setting in serve.stdout
    # What to do to add content while it runs: nothing but `assistant ingest`.
    assert "go through it by themselves" in serve.stdout and "server.json" in serve.stdout
