"""The real local LLM for the tests marked `llm`: llama.cpp's OpenAI-compatible server with the
model `make llm` installed (scripts/local_llm.py), on a free loopback port.

The model is optional, so a test that needs it is skipped, saying how to install it, when the
model file or llama-cpp-python is missing; .ci/run runs these tests whenever the model is
installed on the machine.
"""

import importlib.util
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scripts.local_llm import MODEL_ALIAS, default_model_file, server_command

INSTALL_HINT = "`make llm` installs it (about 15 minutes, once); then: pytest -m llm"
# Loading 1 GB of weights takes a few seconds; on a busy machine, more.
STARTUP_SECONDS = 180


@dataclass(frozen=True)
class LocalLLM:
    base_url: str  # the API root: http://127.0.0.1:PORT/v1
    model: str
    process: subprocess.Popen[bytes]
    log: Path


def skip_unless_installed() -> Path:
    """The installed model file; skips the test when the model or the server is missing."""
    model_file = default_model_file()
    if not model_file.is_file():
        pytest.skip(f"the local LLM is not installed (no {model_file}): {INSTALL_HINT}")
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(f"llama-cpp-python is not installed: {INSTALL_HINT}")
    return model_file


@contextmanager
def local_llm_server(model_file: Path, log: Path) -> Iterator[LocalLLM]:
    """The server on a free port, output to `log`; yields once it lists its model, and stops
    it (if a test has not killed it already) on exit."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            server_command(model_file, port=port), stdout=out, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _serving(base_url):
            assert process.poll() is None, f"the LLM server exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the LLM server did not come up: {log}"
            time.sleep(0.5)
        yield LocalLLM(base_url, MODEL_ALIAS, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serving(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
