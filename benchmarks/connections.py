"""Clients that hold connections or send huge headers against a real `assistant serve`
(fake embedder, empty store), ours beside a baseline checkout in the same run.

Slow clients: `--clients` connections each send a request head a byte a second and never end
it, for `--duration` s, with the server's open-file limit lowered to `--fd-limit` (the
machine's 20,000 would need more client sockets than this process may open); /healthz is
asked on a new connection every 0.5 s: its latency, failures (no answer within 5 s) and the
server's most open descriptors. Huge header: one request with a `--header-mb` MB header, sent
as fast as loopback takes it: seconds until the server answers (it needs the head's end when
it reads the whole header), and /healthz meanwhile.

    .venv/bin/python -m benchmarks.connections --baseline ../main-before
"""

import argparse
import contextlib
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import ROOT, print_table, write_results

HEAD = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(tree: Path, data: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`python -m assistant serve` from the checkout `tree`: (port, process)."""
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_EMBEDDER": "fake",
        "HF_HUB_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(tree),
    }
    command = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while healthz(port, timeout=2) is None:
            assert server.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.2)
        yield port, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def healthz(port: int, *, timeout: float = 5) -> float | None:
    """Seconds /healthz takes on a new connection; None when it fails."""
    started = time.perf_counter()
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return None
    return time.perf_counter() - started if response.status_code == 200 else None


def descriptors(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def slow_clients(port: int, *, clients: int, duration: float, pid: int) -> dict[str, Any]:
    sockets = []
    for _ in range(clients):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sockets.append(sock)
    pending = {sock: HEAD + b"X-Slow: " for sock in sockets}  # then a byte at a time
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            for sock in sockets:
                # OSError: not connected yet, buffer full, or closed by the server
                with contextlib.suppress(OSError):
                    data = pending.get(sock) or b"a"
                    pending[sock] = data[sock.send(data) :]
            stop.wait(1.0)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    latencies: list[float | None] = []
    most = 0
    ends = time.monotonic() + duration
    while time.monotonic() < ends:
        latencies.append(healthz(port))
        most = max(most, descriptors(pid))
        time.sleep(0.5)
    stop.set()
    thread.join()
    for sock in sockets:
        sock.close()
    answered = [s for s in latencies if s is not None]
    return {
        "healthz_asked": len(latencies),
        "healthz_failed": len(latencies) - len(answered),
        "healthz_p50_ms": round(statistics.median(answered) * 1000, 1) if answered else None,
        "healthz_max_ms": round(max(answered) * 1000, 1) if answered else None,
        "server_descriptors_max": most,
    }


def huge_header(port: int, *, megabytes: int) -> dict[str, Any]:
    """Sends the header, then the head's end if the server has not answered; times the
    answer, asking /healthz meanwhile."""
    result: dict[str, Any] = {}

    def send() -> None:
        piece = b"a" * 65536
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            try:
                sock.sendall(HEAD + b"X-Big: ")
                for _ in range(megabytes * 16):
                    if select.select([sock], [], [], 0)[0]:
                        break
                    sock.sendall(piece)
                else:
                    sock.sendall(b"\r\n\r\n")
            except OSError:
                pass  # the server closed the connection: its answer may still be there
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b""
        result["seconds_to_answer"] = round(time.perf_counter() - started, 2)
        result["status"] = answer[9:12].decode() if answer.startswith(b"HTTP/") else "reset"

    sender = threading.Thread(target=send)
    sender.start()
    probes = []
    while sender.is_alive():
        probes.append(healthz(port, timeout=60))
        time.sleep(0.2)
    answered = [p for p in probes if p is not None]
    result["healthz_max_ms"] = round(max(answered) * 1000, 1) if answered else None
    result["healthz_failed"] = len(probes) - len(answered)
    return result


def measure(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        with serve(tree, Path(data)) as (port, server):
            resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (args.fd_limit, args.fd_limit))
            held = slow_clients(port, clients=args.clients, duration=args.duration, pid=server.pid)
        with serve(tree, Path(data)) as (port, _):
            big = huge_header(port, megabytes=args.header_mb)
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {"commit": commit, "slow_clients": held, "huge_header": big}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="checkout to compare")
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--fd-limit", type=int, default=2048)
    parser.add_argument("--header-mb", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.clients + 256)), hard))
    runs = {"ours": measure(ROOT, args), "baseline": measure(args.baseline.resolve(), args)}
    rows = [
        [
            name,
            run["slow_clients"]["healthz_p50_ms"],
            run["slow_clients"]["healthz_max_ms"],
            f"{run['slow_clients']['healthz_failed']}/{run['slow_clients']['healthz_asked']}",
            run["slow_clients"]["server_descriptors_max"],
            run["huge_header"]["seconds_to_answer"],
            run["huge_header"]["status"],
            run["huge_header"]["healthz_max_ms"],
        ]
        for name, run in runs.items()
    ]
    print(
        f"{args.clients} slow clients for {args.duration:g} s (server fd limit "
        f"{args.fd_limit}); one {args.header_mb} MB header"
    )
    print_table(
        [
            "server",
            "healthz p50 ms",
            "max ms",
            "failed",
            "server fds max",
            "header: s to answer",
            "status",
            "healthz max ms",
        ],
        rows,
    )
    settings = {k: v for k, v in vars(args).items() if k not in ("baseline", "out")}
    path = write_results("connections", {"settings": settings, **runs}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
