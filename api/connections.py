"""Connection limits for `assistant serve`: request head size, a deadline per request and a cap
on open connections, enforced where the bytes arrive (uvicorn's httptools protocol).

An ASGI middleware only runs once a request's headers are complete, so it cannot refuse a
header that never ends or a client that never finishes one; uvicorn itself bounds neither
with httptools (`h11_max_incomplete_event_size` is h11's), and its `limit_concurrency`
answers 503 to new requests, /healthz included, while slow clients keep their connections.
"""

import json
import resource
import uuid
from asyncio import TimerHandle, Transport
from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import REQUEST_ID_HEADER, error_body

# Descriptors the process needs beside client connections: the store's files, the database,
# logs, connections to an LLM endpoint or a Qdrant server.
DESCRIPTOR_RESERVE = 256


@dataclass(frozen=True, kw_only=True)
class ConnectionLimits:
    """Args:
    max_connections: open client connections; a new one beyond this closes the one that
        has waited longest without a request being answered.
    max_header_bytes: the request line and headers together; larger gets 431.
    max_headers: header fields per request; more gets 431.
    request_timeout: seconds a request (line, headers and body) has to arrive, from the
        connection opening or its first byte; later gets 408.
    """

    max_connections: int
    max_header_bytes: int
    max_headers: int
    request_timeout: float


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Admission:
    """The server's open connections, and those waiting (no request being answered: idle, or
    still sending one) in the order they started waiting."""

    def __init__(self, max_connections: int) -> None:
        self.max_connections = max_connections
        self.open: set[GuardedHttpToolsProtocol] = set()
        self.waiting: OrderedDict[GuardedHttpToolsProtocol, None] = OrderedDict()

    def admit(self, connection: "GuardedHttpToolsProtocol") -> bool:
        """Counts `connection` in, closing the longest-waiting one to make room if needed;
        False when every open connection has a request being answered."""
        if len(self.open) >= self.max_connections:
            if not self.waiting:
                return False
            oldest, _ = self.waiting.popitem(last=False)
            oldest.evict()
        self.open.add(connection)
        self.wait(connection)
        return True

    def wait(self, connection: "GuardedHttpToolsProtocol") -> None:
        if connection in self.open:
            self.waiting.pop(connection, None)
            self.waiting[connection] = None

    def busy(self, connection: "GuardedHttpToolsProtocol") -> None:
        self.waiting.pop(connection, None)

    def leave(self, connection: "GuardedHttpToolsProtocol") -> None:
        self.open.discard(connection)
        self.waiting.pop(connection, None)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with `limits`; use `guarded_protocol()` for a server's
    class (its connections share one admission count)."""

    limits: ClassVar[ConnectionLimits]
    admission: ClassVar[_Admission]

    _deadline: TimerHandle | None = None
    _reading_head = True  # bytes arriving belong to a request's line and headers
    _head_bytes = 0
    _header_count = 0

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.admission.admit(self):
            self._answer_and_close(
                503,
                "too_many_connections",
                "The server holds as many connections as it may; try again in a few seconds.",
            )
            return
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self.admission.leave(self)
        self._cancel_deadline()
        super().connection_lost(exc)

    def evict(self) -> None:
        """Closes this waiting connection to make room for a new one."""
        self.admission.leave(self)
        self._cancel_deadline()
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        # uvicorn's, plus the head size: a header that never ends is refused once it is too
        # long, not buffered (httptools concatenates its pieces: 37 s for 100 MB).
        self._unset_keepalive_if_required()
        if self._reading_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _Refused):
                refusal = exc.__context__
                self._answer_and_close(refusal.status, refusal.code, refusal.message)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        if self._reading_head and self._head_bytes > self.limits.max_header_bytes:
            self._answer_and_close(431, *self._too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._start_deadline()  # a kept-alive connection's next request: from its first byte

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            raise _Refused(
                431,
                "headers_too_large",
                f"The request has more than {self.limits.max_headers} header fields.",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        # The whole head may have come in one read, past the check in data_received.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            raise _Refused(431, *self._too_large())
        self._reading_head = False
        self.admission.busy(self)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        self._reading_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if not self.pipeline:  # else the next pipelined request is answered now
            self.admission.wait(self)
        super().on_response_complete()

    def _too_large(self) -> tuple[str, str]:
        limit = self.limits.max_header_bytes
        return "headers_too_large", f"The request line and headers exceed {limit} bytes."

    def _start_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.limits.request_timeout, self._timed_out)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        """The request did not arrive in time: 408 unless the app already answered (or the
        connection never sent a byte: nothing to answer), then close."""
        self._deadline = None
        cycle = self.cycle if not self._reading_head else None
        if cycle is not None and cycle.response_started:
            self.transport.close()
            return
        if cycle is not None:  # the app waits for the body: it gets a disconnect
            cycle.disconnected = True
            cycle.message_event.set()
        if self._head_bytes or cycle is not None:
            seconds = self.limits.request_timeout
            message = f"The request did not arrive within {seconds:g} s."
            self._answer_and_close(408, "request_timeout", message)
        else:
            self.transport.close()

    def _answer_and_close(self, status: int, code: str, message: str) -> None:
        request_id = uuid.uuid4().hex
        body = json.dumps(error_body(code, message, request_id)).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n{REQUEST_ID_HEADER}: {request_id}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


_REASONS = {
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class for one server (`uvicorn.run(http=...)`): its connections share
    `limits` and one count of open connections."""

    class ServerProtocol(GuardedHttpToolsProtocol):
        pass

    ServerProtocol.limits = limits
    ServerProtocol.admission = _Admission(limits.max_connections)
    return ServerProtocol


def fit_descriptor_limit(max_connections: int) -> int:
    """Raises this process's open-file limit to hold `max_connections` sockets and
    `DESCRIPTOR_RESERVE` when the hard limit allows; returns how many connections fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + DESCRIPTOR_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - DESCRIPTOR_RESERVE))
