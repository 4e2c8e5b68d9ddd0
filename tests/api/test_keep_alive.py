"""`assistant serve` keeps idle connections open longer than proxies do: with uvicorn's 5 s, a
client (or proxy) reusing a pooled connection could see it closed under its request.

No test sleeps and then hopes: each waits on the event itself, the server closing the idle
connection (a read that returns end-of-file), with a deadline."""

import os
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.api.conftest import serve_process

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
UVICORNS_DEFAULT = 5.0


@contextmanager
def answered_connection(url: str) -> Iterator[socket.socket]:
    """A connection that has had one request answered, now idle."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(REQUEST)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        yield sock


def closed_by_server_within(sock: socket.socket, seconds: float) -> bool:
    """Waits for the server to close the idle connection: True as soon as it does, False if it
    is still open after `seconds`. The server sends nothing unasked, so readable means closed."""
    readable, _, _ = select.select([sock], [], [], seconds)
    if not readable:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


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
    with (
        serve_process(server_env(tmp_path), tmp_path / "server.log") as url,
        answered_connection(url) as sock,
    ):
        assert not closed_by_server_within(sock, UVICORNS_DEFAULT + 1)
        sock.sendall(REQUEST)  # and the connection still serves a request
        assert read_response(sock).startswith(b"HTTP/1.1 200")


def test_the_keep_alive_is_configurable(tmp_path: Path) -> None:
    """Set to 1 s, the server closes the idle connection before uvicorn's 5 s would have (and
    long before the 75 s default)."""
    env = server_env(tmp_path, ASSISTANT_KEEP_ALIVE_SECONDS="1")
    with serve_process(env, tmp_path / "server.log") as url, answered_connection(url) as sock:
        assert closed_by_server_within(sock, UVICORNS_DEFAULT - 1)
