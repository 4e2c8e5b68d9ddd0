"""The `assistant serve` that holds a data folder's embedded store, as the command line finds
and calls it.

The embedded Qdrant store belongs to one process. A server holding it announces itself in
`<data dir>/server.json`: the URL it answers at over loopback, its pid and a random token,
in a file only its user can read. `assistant ingest` and `assistant ask` find it there and
send their work to it, the token serving as the credential of the local operator (the user
at the command line, who could read the data folder anyway: api/local_operator.py).
"""

import contextlib
import ipaddress
import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from assistant.types import Answer

SERVER_FILE = "server.json"
# Names the audience and tenant the local operator asks as (`internal`, `public:acme`, the
# tenant URL-quoted); a server honours it only with the local token from loopback and refuses
# it from anyone else.
AS_HEADER = "X-Assistant-As"

# POST /v1/ingest takes at most 100 paths per request, in a body of at most
# ASSISTANT_MAX_BODY_BYTES (64 KiB by default): longer lists go in several requests.
PATHS_PER_REQUEST = 100
PATH_BYTES_PER_REQUEST = 16 * 1024

# Liveness: loopback accepts a connection at once or not at all.
CONNECT_TIMEOUT_SECONDS = 3.0
# An ingest runs for as long as its content takes; an answer waits for a free answer slot and
# perhaps an LLM, which the server bounds itself.
INGEST_TIMEOUT = httpx.Timeout(10.0, read=None)
ASK_TIMEOUT = httpx.Timeout(10.0, read=300.0)


@dataclass(frozen=True)
class LocalServer:
    url: str
    pid: int
    token: str = field(repr=False)


def server_file(data_dir: Path) -> Path:
    return data_dir / SERVER_FILE


def announce(data_dir: Path, *, url: str, token: str) -> LocalServer:
    """Writes the server file for this process. It is created readable by this user only and
    moved into place whole, so no reader sees the token with looser permissions or half a
    file."""
    server = LocalServer(url=url, pid=os.getpid(), token=token)
    path = server_file(data_dir)
    staging = path.with_name(f".{SERVER_FILE}.{server.pid}")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()  # left by a process of the same pid that died here
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"url": url, "pid": server.pid, "token": token}, out)
    os.replace(staging, path)
    return server


def withdraw(data_dir: Path, server: LocalServer) -> None:
    """Removes the server file if it still announces `server`."""
    path = server_file(data_dir)
    found = _read(path)
    if isinstance(found, LocalServer) and found.token == server.token:
        path.unlink(missing_ok=True)


def find(data_dir: Path) -> tuple[LocalServer | None, str | None]:
    """The server announced in `data_dir` if it is running and listening; else None and, when a
    server file is there, why it was not used (a killed server leaves its file behind)."""
    found = _read(server_file(data_dir))
    if found is None or isinstance(found, str):
        return None, found
    if not _running(found.pid):
        return None, f"the server that wrote it (pid {found.pid}) is not running"
    # Connecting is enough: the system accepts while the server is busy (a route that reads
    # the store, as /healthz does, may wait for a long optimize).
    parts = urlsplit(found.url)
    try:
        with socket.create_connection(
            (parts.hostname or "", parts.port or 80), timeout=CONNECT_TIMEOUT_SECONDS
        ):
            pass
    except OSError as exc:
        return None, f"nothing listens at {found.url} ({exc.strerror or type(exc).__name__})"
    return found, None


def _read(path: Path) -> LocalServer | str | None:
    """The server a file announces, why it cannot be used, or None without a file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        server = LocalServer(url=str(data["url"]), pid=int(data["pid"]), token=str(data["token"]))
    except (FileNotFoundError, NotADirectoryError):  # the store's own error says what is wrong
        return None
    except OSError as exc:  # another user's server, say
        return f"cannot read it ({exc.strerror})"
    except (ValueError, TypeError, KeyError):
        return "it is not a server file"
    if not _is_loopback_url(server.url):
        return f"{server.url} is not a loopback address: the token is sent over loopback only"
    return server


def _is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        return parts.scheme == "http" and ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class ServerRefused(Exception):
    """The server could not do the work: what it said, and whether the request was at fault
    (a usage error, exit status 2) rather than the server or the store (1)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class LocalServerClient:
    """`assistant ingest` and `assistant ask` sent to a running server as its local operator."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server

    def ingest(
        self,
        paths: Sequence[str],
        *,
        audience: str,
        tenant: str | None,
        content_type: str,
    ) -> dict[str, Any]:
        """The summary of ingesting `paths` (absolute), as `assistant ingest --json` prints it.
        A long list goes in batches the route accepts, one after another."""
        summaries = []
        with self._client(INGEST_TIMEOUT, act_as="internal") as client:
            for batch in _batches(paths):
                body: dict[str, Any] = {
                    "paths": batch,
                    "audience": audience,
                    "type": content_type,
                }
                if tenant is not None:
                    body["tenant"] = tenant
                summaries.append(self._post(client, "/v1/ingest", body))
        return _combined(summaries)

    def ask(
        self,
        question: str,
        *,
        audience: str,
        tenant: str | None,
        mode: str,
        session_id: str | None,
        product_version: str | None,
        page: str | None,
    ) -> Answer:
        body: dict[str, Any] = {"message": question, "mode": mode}
        if session_id is not None:
            body["session_id"] = session_id
        if product_version is not None:
            body["product_version"] = product_version
        if page is not None:
            body["context"] = {"page": page}
        act_as = audience if tenant is None else f"{audience}:{quote(tenant, safe='')}"
        with self._client(ASK_TIMEOUT, act_as=act_as) as client:
            return Answer.model_validate(self._post(client, "/v1/chat", body))

    def _client(self, timeout: httpx.Timeout, *, act_as: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {self.server.token}", AS_HEADER: act_as},
            trust_env=False,  # never through an HTTP_PROXY: the token stays on this machine
        )

    def _post(self, client: httpx.Client, route: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.server.url
        try:
            reply = client.post(route, json=body)
        except httpx.HTTPError as exc:
            raise ServerRefused(
                f"Lost the running server at {url} ({type(exc).__name__}: {exc}). Is it still "
                "running? Run the command again once it is (or once it has stopped)."
            ) from exc
        if reply.status_code == 200:
            result: dict[str, Any] = reply.json()
            return result
        message = _error_message(reply)
        if reply.status_code == 401:
            raise ServerRefused(
                f"The server at {url} refused the token from its server file ({message}): it is "
                "not the server that wrote that file. Restart `assistant serve`."
            )
        raise ServerRefused(
            f"The server at {url} answered {reply.status_code}: {message}",
            usage=reply.status_code in (413, 422),
        )


def _error_message(reply: httpx.Response) -> str:
    try:
        return str(reply.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return reply.text[:200] or reply.reason_phrase


def _combined(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of ingest runs made one after another, rates over their total time."""
    if len(summaries) == 1:
        return summaries[0]
    total = dict(summaries[0])
    for summary in summaries[1:]:
        for key, value in summary.items():
            if not key.endswith("_per_second"):
                total[key] = total[key] + value  # counts, seconds, the list of failures
    seconds = total["seconds"]
    documents = total["added"] + total["updated"] + total["unchanged"]
    for key, count in (
        ("documents_per_second", documents),
        ("chunks_per_second", total["chunks_written"]),
        ("tokens_per_second", total["tokens_embedded"]),
    ):
        total[key] = round(count / seconds, 2) if seconds > 0 else 0.0
    return total


def _batches(paths: Sequence[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for path in paths:
        cost = len(json.dumps(path)) + 2
        if batch and (len(batch) == PATHS_PER_REQUEST or size + cost > PATH_BYTES_PER_REQUEST):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += cost
    if batch:
        yield batch
