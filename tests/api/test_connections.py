"""Connection limits of `assistant serve` (api/connections.py), against a real server process:
request heads too large or with too many fields get 431, requests that do not arrive in time
408, and clients that hold connections open neither exhaust descriptors nor stop /healthz."""

import contextlib
import os
import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.conftest import serve_process

HEAD = b"GET /healthz HTTP/1.1\r\nHost: test\r\n"


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_EMBEDDER": "fake",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


@contextmanager
def server(tmp_path: Path, **settings: str) -> Iterator[tuple[str, int]]:
    """`assistant serve` with `settings` (env names without ASSISTANT_): (base URL, pid)."""
    env = server_env(tmp_path, **{f"ASSISTANT_{k.upper()}": v for k, v in settings.items()})
    with serve_process(env, tmp_path / "server.log") as url:
        yield url, server_pid(urlsplit(url).port or 0)


def server_pid(port: int) -> int:
    """The child process serving on `port`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"serve" in cmdline and str(port).encode() in cmdline:
            return int(entry.name)
    raise AssertionError(f"no server process on port {port}")


def open_sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(fd).startswith("socket:")
    return count


def connect(url: str) -> socket.socket:
    address = urlsplit(url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def read_until_closed(sock: socket.socket, *, timeout: float) -> bytes:
    """What the server sends until it closes the connection; b"" when it sends nothing (and
    when it has not closed within `timeout`, which callers tell apart by the time taken)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while piece := sock.recv(65536):
            data += piece
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def healthz_seconds(url: str) -> float:
    """Seconds /healthz takes on a new connection; infinite when it fails or takes over 10 s."""
    started = time.perf_counter()
    try:
        ok = httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    except httpx.HTTPError:
        ok = False
    return time.perf_counter() - started if ok else float("inf")


def send_huge_header(url: str, size: int) -> tuple[bytes, int]:
    """Sends a request head with one header of `size` bytes, in 64 KB pieces, stopping early
    when the server answers, and never ends the head; returns the response (b"" when none
    came within 10 s) and how many header bytes went out."""
    piece = b"a" * 65536
    sent = 0
    with connect(url) as sock:
        try:
            sock.sendall(HEAD + b"X-Big: ")
            while sent < size and not readable(sock):
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_until_closed(sock, timeout=10), sent


class SlowClients:
    """`count` connections that each send a request head one byte at a time and never end it
    (slowloris); a client closed by the server stays closed."""

    def __init__(self, url: str, count: int) -> None:
        address = urlsplit(url)
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((address.hostname, address.port))
            self.sockets.append(sock)
        self.closed: set[socket.socket] = set()
        self.started = time.monotonic()
        self.unsent = {sock: HEAD + b"X-Slow: " for sock in self.sockets}

    def trickle(self) -> None:
        """One more byte from each open client (its first bytes on the first call)."""
        for sock in self.sockets:
            if sock in self.closed:
                continue
            try:
                if not sock.recv(65536):  # an answer is read and dropped; b"": closed
                    raise ConnectionResetError
            except BlockingIOError:
                pass  # nothing from the server, or not connected yet
            except OSError:
                self.closed.add(sock)
                continue
            try:
                data = self.unsent.get(sock) or b"a"
                self.unsent[sock] = data[sock.send(data) :]
            except BlockingIOError:
                pass  # a full buffer: next round
            except OSError:
                self.closed.add(sock)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def readable(sock: socket.socket) -> bool:
    poller = select.poll()  # not select(): descriptors above 1023 are out of its range
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


@contextmanager
def slow_clients(url: str, count: int, *, every: float) -> Iterator[SlowClients]:
    """`count` slow clients trickling a byte each `every` seconds, in a thread, until exit."""
    clients = SlowClients(url, count)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            clients.trickle()
            stop.wait(every)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield clients
    finally:
        stop.set()
        thread.join(timeout=30)
        clients.close()


# Request heads


def test_a_huge_header_is_refused_before_it_ends(tmp_path: Path) -> None:
    with server(tmp_path) as (url, _):
        response, _ = send_huge_header(url, 1 << 20)
    assert response.startswith(b"HTTP/1.1 431 "), response[:200]
    assert b'"headers_too_large"' in response and b"16384 bytes" in response


def test_header_size_and_count_are_configurable(tmp_path: Path) -> None:
    with server(tmp_path, max_header_bytes="2048", max_headers="20") as (url, _):
        assert httpx.get(f"{url}/healthz", headers={"x-pad": "a" * 1500}).status_code == 200
        assert httpx.get(f"{url}/healthz", headers={"x-pad": "a" * 2100}).status_code == 431
        fields = {f"x-field-{n}": "1" for n in range(15)}
        assert httpx.get(f"{url}/healthz", headers=fields).status_code == 200
        fields = {f"x-field-{n}": "1" for n in range(25)}
        response = httpx.get(f"{url}/healthz", headers=fields)
        assert response.status_code == 431 and "20 header fields" in response.text


def test_too_many_header_fields_get_431(tmp_path: Path) -> None:
    with server(tmp_path) as (url, _), connect(url) as sock:
        sock.sendall(HEAD + b"".join(b"X-Field-%d: 1\r\n" % n for n in range(150)) + b"\r\n")
        response = read_until_closed(sock, timeout=10)
    assert response.startswith(b"HTTP/1.1 431 ") and b"100 header fields" in response


# Requests that do not arrive in time


def test_a_request_that_does_not_arrive_in_time_gets_408(tmp_path: Path) -> None:
    with server(tmp_path, request_timeout_seconds="1") as (url, _):
        # A client that keeps sending never finishes its head: the deadline is for the
        # whole request, not for the gaps between its bytes.
        with slow_clients(url, 1, every=0.2) as clients:
            deadline = time.monotonic() + 5
            while not clients.closed and time.monotonic() < deadline:
                time.sleep(0.1)
            assert clients.closed, "a trickled head was not cut off"
            assert time.monotonic() - clients.started < 3

        with connect(url) as sock:  # a body that stops half way
            sock.sendall(
                b"POST /v1/chat HTTP/1.1\r\nHost: test\r\ncontent-type: application/json\r\n"
                b'content-length: 100\r\n\r\n{"message": '
            )
            started = time.monotonic()
            response = read_until_closed(sock, timeout=5)
        assert response.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in response
        assert b"X-Request-ID: " in response  # like every other response
        assert time.monotonic() - started < 3

        with connect(url) as sock:  # a connection that never sends a byte
            started = time.monotonic()
            assert read_until_closed(sock, timeout=5) == b""
            assert time.monotonic() - started < 3

        # A request that arrives in time is answered however long answering takes, and a
        # kept-alive connection gets a new deadline with each request.
        with httpx.Client(base_url=url) as client:
            for _ in range(3):
                assert client.get("/healthz").status_code == 200
                time.sleep(0.6)


# Connections held open


def test_healthz_answers_while_slow_clients_hold_connections(tmp_path: Path) -> None:
    settings = {"max_connections": "10", "request_timeout_seconds": "3"}
    with server(tmp_path, **settings) as (url, pid):
        idle = open_sockets(pid)
        with slow_clients(url, 20, every=0.2) as clients:
            time.sleep(1)
            held = open_sockets(pid)
            latencies = [healthz_seconds(url) for _ in range(5)]
            time.sleep(3.5)  # past the deadline of the last admitted slow clients
            assert len(clients.closed) == 20, "slow clients outlived the request timeout"
        assert max(latencies) < 1.0, latencies
        assert held <= idle + 10, (idle, held)  # evicted, not queued: within the cap


def test_a_connection_beyond_the_cap_gets_503_when_none_can_be_closed(tmp_path: Path) -> None:
    with server(tmp_path, max_connections="2", request_timeout_seconds="3") as (url, _):
        busy = [connect(url), connect(url)]
        for sock in busy:  # requests being answered (the app waits for their bodies)
            sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: test\r\ncontent-length: 10\r\n\r\n")
        time.sleep(0.3)
        with connect(url) as sock:
            response = read_until_closed(sock, timeout=5)
        assert response.startswith(b"HTTP/1.1 503 ") and b"too_many_connections" in response
        for sock in busy:
            assert read_until_closed(sock, timeout=5).startswith(b"HTTP/1.1 408 ")
            sock.close()
        assert healthz_seconds(url) < 1.0


def test_the_descriptor_limit_is_raised_to_fit_the_connections() -> None:
    from api.connections import DESCRIPTOR_RESERVE, fit_descriptor_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        assert fit_descriptor_limit(500) == 500
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 500 + DESCRIPTOR_RESERVE
        assert fit_descriptor_limit(hard) == hard - DESCRIPTOR_RESERVE  # capped by the hard one
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# The long versions: the sizes of the report


@pytest.mark.slow
def test_thousands_of_slow_clients_do_not_stop_healthz(tmp_path: Path) -> None:
    with server(tmp_path) as (url, pid):
        # 2,048 descriptors: the slow clients below would need more on a server without a cap.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (2048, 2048))
        with slow_clients(url, 3000, every=1.0):
            time.sleep(2)  # the 3,000 connections arrive at once: accepting them takes ~1.5 s
            latencies = []
            for _ in range(20):
                time.sleep(0.5)
                latencies.append(healthz_seconds(url))
            held = open_sockets(pid)
    assert max(latencies) < 1.0, latencies
    assert held <= 1000 + 10


@pytest.mark.slow
def test_a_100_mb_header_does_not_hold_up_healthz(tmp_path: Path) -> None:
    with server(tmp_path) as (url, _):
        sent: list[int] = []
        sender = threading.Thread(target=lambda: sent.append(send_huge_header(url, 100 << 20)[1]))
        started = time.monotonic()
        sender.start()
        probes = [healthz_seconds(url) for _ in range(3)]
        sender.join(timeout=120)
        seconds = time.monotonic() - started
    assert sent and sent[0] < 10 << 20  # refused within what the socket buffers hold
    assert seconds < 5 and max(probes) < 1.0, (seconds, probes)
