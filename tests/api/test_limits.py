"""Limits and failures: body size, rate limit, auth, bad input, the catch-all 500, request ids,
JSON access logs and CORS. None of these needs real content: most servers here are empty."""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.auth import AuthError, KeyRing, key_file_line
from api.deps import InternalCallerDep
from api.json_logging import JsonFormatter
from api.rate_limit import RateLimited, TokenBucketLimiter
from assistant.embedders.fake import FakeEmbedder
from assistant.settings import Settings
from assistant.types import Audience
from assistant.wiring import build_components
from tests.api.conftest import KEYS, serve

LIMIT = 64 * 1024


def empty_app(tmp_path: Path, **settings: Any) -> FastAPI:
    """The real app over an empty store and the fake embedder: cheap to start."""
    config = Settings(data_dir=tmp_path / "data", api_keys=KEYS, **settings)
    return create_app(
        config, components_factory=lambda s: build_components(s, embedder=FakeEmbedder())
    )


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Body size


def _chat_body(size: int) -> bytes:
    """A JSON chat request of exactly `size` bytes."""
    empty = json.dumps({"message": ""}).encode()
    return json.dumps({"message": "x" * (size - len(empty))}).encode()


def test_a_body_over_the_limit_is_413_before_parsing(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/v1/chat",
        content=_chat_body(LIMIT + 1),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


def test_a_chunked_body_over_the_limit_is_413(base_url: str) -> None:
    body = _chat_body(LIMIT + 1000)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = httpx.post(
        f"{base_url}/v1/chat/completions",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_at_the_limit_is_parsed(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/v1/chat",
        content=_chat_body(LIMIT),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422  # too long a message, but read and validated
    assert "message" in response.json()["error"]["message"]


def test_a_large_body_to_an_unknown_route_is_still_a_json_413(base_url: str) -> None:
    response = httpx.post(f"{base_url}/nowhere", content=b"x" * (LIMIT + 1), timeout=30)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


# Bad input is a 4xx, never a 5xx

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/completions", "/v1/feedback"])
@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", JSON),
        (b"", JSON),
        (b"null", JSON),
        (b"[]", JSON),
        (b'"a string"', JSON),
        (b"1e999999", JSON),
        (b"\xff\xfe\x00garbage", JSON),
        (b"[" * 20000 + b"]" * 20000, JSON),
        (b'{"message": "hi", "messages": [], "session_id": {"$ne": 1}}', JSON),
        (b'{"message": "\\ud800 lone surrogate", "session_id": "\\ud800"}', JSON),
        (b'{"message": "nul \\u0000 byte", "session_id": "a\\u0000b"}', JSON),
        (b'{"message": "hi"}', {"content-type": "text/plain"}),
        (b"message=hi", {"content-type": "application/x-www-form-urlencoded"}),
        (b"<message>hi</message>", {"content-type": "application/xml"}),
    ],
)
def test_bad_bodies_get_4xx_json_errors(
    base_url: str, path: str, content: bytes, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{base_url}{path}", content=content, headers=headers, timeout=30)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"] and error["request_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"message": "\ud800 lone surrogate"},
        {"message": "a NUL \x00 in the question"},
        {"message": "hi", "context": {"page": 42}},
        {"message": "hi", "context": "page"},
        {"message": "hi", "session_id": 7},
        {"message": "hi", "stream": "maybe"},
        {"message": ["hi"]},
        {"message": "hi", "product_version": "v" * 65},
    ],
)
def test_bad_chat_fields_are_422(base_url: str, body: dict[str, object]) -> None:
    data = json.dumps(body).encode()  # ensure_ascii: lone surrogates survive as \ud800
    response = httpx.post(f"{base_url}/v1/chat", content=data, headers=JSON, timeout=30)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


# Length limits: every text field that reaches the answer path


def _conversation(*messages: tuple[str, str]) -> dict[str, object]:
    return {"model": "assistant", "messages": [{"role": r, "content": c} for r, c in messages]}


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ((("user", "x" * 4001), ("user", "and as PDF?")), "messages.0: Value error, a user "),
        ((("user", "hi"), ("assistant", "a"), ("user", "y" * 4001)), "messages.2"),
        ((("system", "s" * 32_001), ("user", "How do I export?")), "at most 32000 characters"),
    ],
)
def test_every_message_of_a_conversation_has_a_length_limit(
    base_url: str, messages: tuple[tuple[str, str], ...], problem: str
) -> None:
    """Earlier user messages are condensed and searched with the last one: they had no limit
    (up to the 64 KB body), now the same 4,000 characters as /v1/chat's `message`."""
    body = _conversation(*messages)
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert problem in message and "characters" in message


def test_long_messages_within_the_limits_are_answered(base_url: str) -> None:
    body = _conversation(
        ("system", "You are a helpful assistant. " * 1000),
        ("user", "How do I reset my password? " * 142),
        ("assistant", "Open Settings > Security. " * 1000),
        ("user", "And how long is the link valid? " + "x" * 3960),
    )
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"page": "/" + "p" * 2048}, "2048 characters"),
        ({"k" * 65: "/billing"}, "64 characters"),
    ],
)
def test_context_has_length_limits(base_url: str, context: dict[str, str], problem: str) -> None:
    body = {"message": "How do I export invoices?", "context": context}
    response = httpx.post(f"{base_url}/v1/chat", json=body, timeout=30)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert message.startswith("context.") and problem in message


def test_pages_as_long_as_the_widget_sends_are_kept(base_url: str) -> None:
    """The widget cuts the host page's path at 500 characters; up to 2,048 are accepted."""
    for page in ("/" + "p" * 499, "/" + "p" * 2047):
        body = {"message": "How do I export invoices?", "context": {"page": page}}
        response = httpx.post(f"{base_url}/v1/chat", json=body, timeout=30)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("query", ["q=%00", "q=a%1Bb", "q=x&k=abc", "q=x&k=1e9", "q=x&k=-1", "k=3"])
def test_bad_search_parameters_are_422(base_url: str, query: str) -> None:
    response = httpx.get(f"{base_url}/v1/search?{query}", timeout=30)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("query", ["q=%ED%A0%80", "q=%FF%FE", "q=%", "q=%%%"])
def test_undecodable_queries_are_searched_as_replacement_characters(
    base_url: str, query: str
) -> None:
    response = httpx.get(f"{base_url}/v1/search?{query}", timeout=30)
    assert response.status_code == 200
    assert response.json()["query"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/chat", 405), ("PUT", "/v1/feedback", 405), ("DELETE", "/healthz", 405)],
)
def test_wrong_methods_get_json_errors(base_url: str, method: str, path: str, status: int) -> None:
    response = httpx.request(method, f"{base_url}{path}", timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_unexpected_error_is_a_json_500_with_the_request_id(tmp_path: Path) -> None:
    app = empty_app(tmp_path)

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("internal detail that must not leak")

    with serve(app) as url:
        response = httpx.get(f"{url}/v1/broken", timeout=30)
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "internal_error"
        assert "internal detail" not in response.text
        assert error["request_id"] == response.headers["x-request-id"]
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "chunks": 0}


# Concurrency


class GatedEmbedder(FakeEmbedder):
    """Holds every call until `release` is set and counts the calls inside at once: the
    requests stay in their answer slots for as long as the test needs to look."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.release = threading.Event()

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            self.release.wait(timeout=60)  # a test that fails before releasing does not hang
            return super().embed_batch(texts)
        finally:
            with self._lock:
                self.running -= 1


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("slots", [2, 6])
def test_at_most_answer_concurrency_answers_are_computed_at_once(
    tmp_path: Path, slots: int
) -> None:
    """Requests beyond the slots wait their turn (and all are answered) rather than crowding
    the cores; with 6 slots all 6 run at once, so the limit is what holds them back.

    The embedder holds every request it gets until all of them are accounted for, each either
    inside it or waiting for a slot; only then is the count read, and the requests let go."""
    embedder = GatedEmbedder()
    config = Settings(data_dir=tmp_path / "data", answer_concurrency=slots, answer_cache_size=0)
    app = create_app(config, components_factory=lambda s: build_components(s, embedder=embedder))
    routes = ["/v1/chat", "/v1/chat/completions", "/v1/search"] * 2

    @app.get("/test/answer-slots")
    async def answer_slots() -> dict[str, int]:
        """Read on the server's event loop, where the limiter lives."""
        return {"waiting": app.state.answer_slots.statistics().tasks_waiting}

    def send(client: httpx.Client, i: int, route: str) -> int:
        question = f"how do I export report number {i}?"
        if route == "/v1/search":
            return client.get(route, params={"q": question}).status_code
        if route == "/v1/chat":
            return client.post(route, json={"message": question}).status_code
        body = {"model": "assistant", "messages": [{"role": "user", "content": question}]}
        return client.post(route, json=body).status_code

    with (
        serve(app) as url,
        httpx.Client(base_url=url, timeout=60) as client,
        ThreadPoolExecutor(len(routes)) as pool,
    ):
        sent = [pool.submit(send, client, i, route) for i, route in enumerate(routes)]

        def all_requests_arrived() -> bool:
            waiting: int = client.get("/test/answer-slots").json()["waiting"]
            return embedder.running + waiting == len(routes)

        try:
            wait_for(all_requests_arrived, seconds=60, what="every request to reach its slot")
            assert embedder.running == min(slots, len(routes))
        finally:
            embedder.release.set()
        statuses = [request.result() for request in sent]
    assert statuses == [200] * len(routes)
    assert embedder.most_at_once == min(slots, len(routes))


# Request ids and logs


def test_request_ids_are_made_or_kept(base_url: str) -> None:
    made = httpx.get(f"{base_url}/healthz").headers["x-request-id"]
    assert len(made) == 32
    kept = httpx.get(f"{base_url}/healthz", headers={"X-Request-ID": "proxy-abc.123"})
    assert kept.headers["x-request-id"] == "proxy-abc.123"
    replaced = httpx.get(f"{base_url}/healthz", headers={"X-Request-ID": "no\tgood " + "x" * 80})
    assert len(replaced.headers["x-request-id"]) == 32


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def api_log() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("api")
    access = logging.getLogger("api.access")
    level = access.level
    logger.addHandler(handler)
    access.setLevel(logging.INFO)
    yield handler
    access.setLevel(level)
    logger.removeHandler(handler)


def test_access_log_is_json_without_keys_or_questions(tmp_path: Path, api_log: _Lines) -> None:
    with serve(empty_app(tmp_path)) as url:
        response = httpx.post(
            f"{url}/v1/chat?ref=campaign",
            json={"message": "How do I rename PRIVATE-WORD?"},
            headers={"Authorization": "Bearer emp-secret"},
            timeout=30,
        )
        assert response.status_code == 200
        httpx.get(f"{url}/v1/search", params={"q": "PRIVATE-WORD"}, timeout=30)
    lines = [json.loads(line) for line in api_log.lines]
    chat = next(line for line in lines if line.get("path") == "/v1/chat")
    assert chat["message"] == "request" and chat["level"] == "INFO"
    assert chat["logger"] == "api.access" and chat["method"] == "POST"
    assert chat["status"] == 200 and chat["route"] == "/v1/chat"
    assert chat["request_id"] == response.headers["x-request-id"]
    assert isinstance(chat["duration_ms"], float) and chat["duration_ms"] > 0  # measured
    assert len(chat["key_id"]) == 8
    everything = "\n".join(api_log.lines)
    assert "emp-secret" not in everything and "PRIVATE-WORD" not in everything
    assert "campaign" not in everything


# Auth


def test_without_anonymous_access_a_key_is_required(tmp_path: Path) -> None:
    with serve(empty_app(tmp_path, allow_anonymous=False)) as url:
        missing = httpx.post(f"{url}/v1/chat", json={"message": "hi"}, timeout=30)
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "unauthorized"
        keyed = httpx.post(
            f"{url}/v1/chat",
            json={"message": "hi"},
            headers={"Authorization": "Bearer public-key"},
            timeout=30,
        )
        assert keyed.status_code == 200


def test_hashed_key_lines_are_made_and_checked() -> None:
    line = key_file_line("file-key", "partner", tenant="acme")
    assert line.startswith("sha256:") and line.endswith("=partner:acme")
    assert "file-key" not in line
    caller = KeyRing.parse(line).caller("Bearer file-key")
    assert (caller.audience.value, caller.tenant) == ("partner", "acme")
    with pytest.raises(ValueError, match="64 hex digits"):
        KeyRing.parse("sha256:abc123=internal")
    with pytest.raises(ValueError, match="audience"):
        key_file_line("k", "admin")


def test_keys_file_with_hashed_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# employees\n{key_file_line('file-key', 'internal')}\n")
    app = empty_app(tmp_path, api_keys_file=keys)

    @app.get("/v1/staff-only")
    async def staff_only(caller: InternalCallerDep) -> dict[str, str]:
        return {"audience": caller.audience.value}

    with serve(app) as url:
        ok = httpx.get(f"{url}/v1/staff-only", headers={"Authorization": "Bearer file-key"})
        assert ok.json() == {"audience": "internal"}
        partner = httpx.get(f"{url}/v1/staff-only", headers={"Authorization": "Bearer partner-key"})
        assert partner.status_code == 403 and partner.json()["error"]["code"] == "forbidden"
        anonymous = httpx.get(f"{url}/v1/staff-only")
        assert anonymous.status_code == 403
        assert (
            httpx.get(f"{url}/v1/staff-only", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )


# Rate limit


def test_rate_limit_per_key_and_per_address(tmp_path: Path) -> None:
    app = empty_app(tmp_path, rate_limit_per_minute=3)
    clock = FrozenClock()
    app.state.rate_limiter.clock = clock  # no wall-clock timing: time moves when we say

    def search(key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(f"{url}/v1/search", params={"q": "tax"}, headers=headers, timeout=30)

    with serve(app) as url:
        assert [search().status_code for _ in range(3)] == [200, 200, 200]
        limited = search()
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "20"  # 3 a minute: a token every 20 s
        error = limited.json()["error"]
        assert error["code"] == "rate_limited" and "3 a minute" in error["message"]
        # Another key has its own bucket; health and metrics are never limited.
        assert search("partner-key").status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 200
        # Wrong keys spend the address's tokens: guessing keys is throttled too.
        assert search("guess").status_code == 429
        clock.now += 20
        assert search().status_code == 200
        assert search().status_code == 429
        assert 'status="429"' in httpx.get(f"{url}/metrics").text


def test_token_bucket_refills_and_bounds_memory() -> None:
    clock = FrozenClock()
    limiter = TokenBucketLimiter(60, clock=clock, max_clients=2)
    for _ in range(60):
        limiter.take("a")
    with pytest.raises(RateLimited) as raised:
        limiter.take("a")
    assert raised.value.retry_after == 1
    clock.now += 2.5
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(RateLimited):
        limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # "a", the least recently seen, is forgotten
    assert len(limiter._buckets) == 2
    TokenBucketLimiter(0, clock=clock).take("anyone")  # 0 turns limiting off


# CORS


def test_cors_is_off_by_default(base_url: str) -> None:
    response = httpx.options(
        f"{base_url}/v1/chat",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_configured_origins(tmp_path: Path) -> None:
    app = empty_app(tmp_path, cors_origins="https://help.example.com, https://app.example.com")
    with serve(app) as url:
        preflight = httpx.options(
            f"{url}/v1/chat",
            headers={
                "Origin": "https://help.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://help.example.com"
        simple = httpx.post(
            f"{url}/v1/chat",
            json={"message": "hi"},
            headers={"Origin": "https://app.example.com"},
            timeout=30,
        )
        assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
        other = httpx.options(
            f"{url}/v1/chat",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"


# OpenAPI


def test_openapi_declares_the_error_model_per_route(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/chat", "/v1/chat/completions", "/v1/feedback"):
        responses = paths[path]["post"]["responses"]
        assert {"401", "413", "422", "429"} <= set(responses), path
        schema = responses["422"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    assert "404" in paths["/v1/feedback"]["post"]["responses"]
    assert "201" in paths["/v1/feedback"]["post"]["responses"]
    assert {"/metrics", "/healthz", "/v1/search", "/v1/models"} <= set(paths)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_without_configured_keys_any_key_is_a_public_caller() -> None:
    """README's OpenAI snippet sends a made-up key: with no keys configured it is answered as
    an anonymous caller; once keys exist, an unknown one is refused."""
    caller = KeyRing.parse("").caller("Bearer YOUR-KEY-OR-ANYTHING")
    assert caller.audience == Audience.PUBLIC and caller.key_digest is None
    with pytest.raises(AuthError, match="Unknown API key"):
        KeyRing.parse("real-key=internal").caller("Bearer YOUR-KEY-OR-ANYTHING")
    with pytest.raises(AuthError):
        KeyRing.parse("", anonymous=False).caller("Bearer YOUR-KEY-OR-ANYTHING")
