"""Server-Sent Events as the tests read them: a body parsed into (event name, data) pairs, and
a streamed POST /v1/chat."""

import json
from collections.abc import Mapping
from typing import Any

import httpx


def sse_events(body: str) -> list[tuple[str, Any]]:
    """(event name, parsed data) of a Server-Sent Events body; `message` when unnamed."""
    events = []
    for block in body.strip().split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        payload = "\n".join(data)
        events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


def chat_events(
    url: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> list[tuple[str, Any]]:
    """The events of POST /v1/chat with `body`, streamed, in order."""
    response = httpx.post(
        f"{url}/v1/chat", json={**body, "stream": True}, headers=headers, timeout=timeout
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response.text)


def shown_after_last_retraction(events: list[tuple[str, Any]]) -> str:
    """The text a reader sees at the end: the deltas after the last retraction."""
    names = [name for name, _ in events]
    start = max((i for i, n in enumerate(names) if n == "retraction"), default=-1) + 1
    return "".join(data["text"] for name, data in events[start:] if name == "delta")
