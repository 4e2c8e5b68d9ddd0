"""The HTTP routes that read the store, and `assistant ask`, one function each, for the
isolation suites: each sends `text` as `caller` in `mode` and returns what the caller got back."""

import io
import json
from collections.abc import Callable, Mapping
from contextlib import redirect_stdout
from typing import Any, Protocol

import httpx

from assistant import cli
from tests.sse import sse_events


class HasHeaders(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


class HasAudience(Protocol):
    @property
    def audience(self) -> str: ...


def chat_json(client: httpx.Client, text: str, caller: HasHeaders, mode: str) -> Any:
    reply = client.post("/v1/chat", json={"message": text, "mode": mode}, headers=caller.headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def chat_sse(client: httpx.Client, text: str, caller: HasHeaders, mode: str) -> Any:
    body = {"message": text, "mode": mode, "stream": True}
    reply = client.post("/v1/chat", json=body, headers=caller.headers)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = sse_events(reply.text)
    assert events[-1][0] == "done"
    return [data for _, data in events]


def completion(client: httpx.Client, text: str, caller: HasHeaders, mode: str) -> Any:
    reply = client.post(
        "/v1/chat/completions", json=completion_body(text, mode), headers=caller.headers
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def completion_stream(client: httpx.Client, text: str, caller: HasHeaders, mode: str) -> Any:
    body = {**completion_body(text, mode), "stream": True}
    reply = client.post("/v1/chat/completions", json=body, headers=caller.headers)
    assert reply.status_code == 200, reply.text
    events = sse_events(reply.text)
    assert events[-1][1] == "[DONE]"
    return [data for _, data in events[:-1]]


def search(client: httpx.Client, text: str, caller: HasHeaders, mode: str) -> Any:
    reply = client.get("/v1/search", params={"q": text, "k": 20}, headers=caller.headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def completion_body(text: str, mode: str) -> dict[str, Any]:
    return {"model": "assistant", "messages": [{"role": "user", "content": text}], "mode": mode}


def ask_cli(client: httpx.Client, text: str, caller: HasAudience, mode: str) -> Any:
    """`assistant ask` in this process (`client` unused), as the caller's audience and, where
    it has one, tenant; the `cli_env` fixture points it at a copy of the index."""
    argv = ["ask", text, "--json", "--audience", caller.audience, "--mode", mode]
    tenant: str | None = getattr(caller, "tenant", None)
    argv += ["--tenant", tenant] if tenant else []
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(argv) == 0
    return json.loads(out.getvalue())


# Every path by name: each sends `text` as a caller in a mode and returns what came back.
Send = Callable[[httpx.Client, str, Any, str], Any]
PATHS: dict[str, Send] = {
    "chat json": chat_json,
    "chat sse": chat_sse,
    "completions": completion,
    "completions stream": completion_stream,
    "search": search,
    "cli": ask_cli,
}
