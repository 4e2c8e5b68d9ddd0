"""ASGI middleware: a request id, access log and metrics per request; the body size limit.

Both are plain ASGI (not `BaseHTTPMiddleware`), so streamed responses pass through untouched.
"""

import json
import logging
import re
import time
import uuid
from collections import deque

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import REQUEST_ID_HEADER, error_body
from api.metrics import Metrics

access_log = logging.getLogger("api.access")

# An id from a proxy in front of us is kept when it is short and plain (it lands in the logs).
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestContextMiddleware:
    """Gives each request an id (`X-Request-ID`, kept from the request when sane), then logs
    one JSON line and records metrics when the response is done.

    The log line holds method, path (never the query string, which may carry a question),
    route, status, duration and the key id (a short hash): never a key or message text.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # what the client gets if the app raises before responding
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, seconds)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "key_id": state.get("key_id"),
                },
            )


def _route_template(scope: Scope) -> str:
    """`/v1/chat`, not the literal path: one time series per route, whatever clients send."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class BodyLimitMiddleware:
    """Refuses a body over `max_bytes` with a JSON 413 before anything parses it.

    A declared `Content-Length` is checked first; otherwise (chunked bodies) the body is read
    up to the limit and handed on whole, so the app never sees a byte past it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        pending: deque[Message] = deque()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                pending.append(message)
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                pending.append({"type": "http.request", "body": b"".join(chunks)})
                break

        async def replay() -> Message:
            return pending.popleft() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        request_id = scope.get("state", {}).get("request_id")
        body = error_body(
            "payload_too_large",
            f"The request body is larger than {self.max_bytes} bytes; send a shorter one.",
            request_id,
        )
        data = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": data})


class SecurityHeadersMiddleware:
    """Sets `Content-Security-Policy` and `X-Content-Type-Options: nosniff` on every response.

    The pages load only their own scripts and styles (no inline ones) and talk only to this
    server, so the policy allows `'self'` and nothing else; `frame-ancestors` lets the
    configured origins (`ASSISTANT_CORS_ORIGINS`, the sites that embed widget.js) frame the
    chat page, and no one else.
    """

    def __init__(self, app: ASGIApp, *, frame_origins: list[str]) -> None:
        self.app = app
        self.policy = content_security_policy(frame_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.policy
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def content_security_policy(frame_origins: list[str]) -> str:
    """The chat and gap pages' policy; `frame_origins` may frame them besides this site
    (`*`: any site)."""
    ancestors = "*" if "*" in frame_origins else " ".join(["'self'", *frame_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' blob:",  # the gap chart, fetched with the key, shown from a blob
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )
