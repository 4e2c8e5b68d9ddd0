"""FakeOpenAIServer: a real HTTP server on 127.0.0.1 that speaks OpenAI's chat completions API.

It answers `POST /v1/chat/completions` (JSON, or Server-Sent Events with `stream: true`) from a
script of replies, one per request, and records every request it receives. A reply can be
text, an HTTP error, or a hang: before the response, or midway through a stream.
"""

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ScriptedReply:
    """What the fake answers to one request.

    Args:
        text: the assistant message content.
        status: HTTP status; anything but 200 sends an OpenAI-style error body.
        hang_seconds: wait this long before answering (released early when the server stops).
        hang_after_deltas: when streaming, send this many deltas, then hang.
        delta_chars: size of the streamed pieces; small, so markers like "[1]" arrive split.
        raw_body: sent as is with status 200 instead of a completion, to test garbled replies.
    """

    text: str = ""
    status: int = 200
    hang_seconds: float = 0.0
    hang_after_deltas: int | None = None
    delta_chars: int = 3
    raw_body: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """All message contents, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass
class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer() as server:`; point clients at `server.base_url`."""

    replies: deque[ScriptedReply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._released = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def reply(self, text: str, **options: Any) -> None:
        """Queue a reply with this text."""
        self.replies.append(ScriptedReply(text=text, **options))

    def fail(self, status: int = 500) -> None:
        """Queue an HTTP error."""
        self.replies.append(ScriptedReply(status=status))

    def hang(self, seconds: float, **options: Any) -> None:
        """Queue a reply that comes only after `seconds` (or, with `hang_after_deltas`, stalls
        midway through a stream)."""
        self.replies.append(ScriptedReply(hang_seconds=seconds, **options))

    def start(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # hanging handlers return at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _next_reply(self) -> ScriptedReply:
        if self.replies:
            return self.replies.popleft()
        return ScriptedReply(status=500, text="the fake server has no scripted reply left")

    def _wait(self, seconds: float) -> bool:
        """Sleeps; False when the server stopped meanwhile."""
        return not self._released.wait(seconds)


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {name.lower(): value for name, value in self.headers.items()}
            server.requests.append(RecordedRequest(self.path, headers, body))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, _error(f"no route {self.path}"))
                return
            reply = server._next_reply()
            hangs_first = reply.hang_seconds and reply.hang_after_deltas is None
            if hangs_first and not server._wait(reply.hang_seconds):
                return  # stopped while hanging
            if reply.raw_body is not None:
                self._send(200, reply.raw_body.encode(), "text/html")
            elif reply.status != 200:
                self._json(reply.status, _error(reply.text or "scripted failure"))
            elif body.get("stream"):
                self._stream(reply, model=str(body.get("model", "")))
            else:
                self._json(200, _completion(reply.text, model=str(body.get("model", ""))))

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, reply: ScriptedReply, *, model: str) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes
            size = max(1, reply.delta_chars)
            pieces = [reply.text[i : i + size] for i in range(0, len(reply.text), size)]
            try:
                self._event(_chunk({"role": "assistant", "content": ""}, None, model=model))
                for sent, piece in enumerate(pieces):
                    if sent == reply.hang_after_deltas and not server._wait(reply.hang_seconds):
                        return
                    self._event(_chunk({"content": piece}, None, model=model))
                self._event(_chunk({}, "stop", model=model))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as a timed-out client does

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

    return Handler


def _completion(text: str, *, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(delta: dict[str, Any], finish_reason: str | None, *, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "code": None}}
