"""`assistant serve` keeps idle connections open longer than proxies do: with uvicorn's 5 s, a
client (or proxy) reusing a pooled connection could see it closed under its request."""

import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.api.conftest import serve_process

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"


def answers_after_idle(url: str, idle_seconds: float) -> bool:
    """Whether the server still answers on one connection after it sat idle."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(REQUEST)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(idle_seconds)
        try:
            sock.sendall(REQUEST)
            return read_response(sock).startswith(b"HTTP/1.1 200")
        except OSError:  # reset by the server
            return False


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body); b"" when the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            return data
        data += piece
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return data


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def test_an_idle_connection_outlives_uvicorns_five_seconds(tmp_path: Path) -> None:
    with serve_process(server_env(tmp_path), tmp_path / "server.log") as url:
        assert answers_after_idle(url, idle_seconds=6)


def test_the_keep_alive_is_configurable(tmp_path: Path) -> None:
    env = server_env(tmp_path, ASSISTANT_KEEP_ALIVE_SECONDS="1")
    with serve_process(env, tmp_path / "server.log") as url:
        assert not answers_after_idle(url, idle_seconds=3)
