"""A conversation belongs to the caller that started it (its key, audience and tenant), over
real HTTP: nobody else continues it, reads its topic through a follow-up or rates its answers,
and anonymous callers cannot name (and so pre-claim or guess) a session id."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.wiring import build_components
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.api.conftest import serve
from tests.corpus import write_corpus

KEYS = "emp-a=internal,emp-b=internal,partner-key=partner,public-key=public"
EMPLOYEE = {"Authorization": "Bearer emp-a"}
INTERNAL_QUESTION = "When do refunds above 500 dollars need approval from a team lead?"
FOLLOW_UP = "and which override code do I use?"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> Iterator[httpx.Client]:
    root: Path = tmp_path_factory.mktemp("owners")
    settings = Settings(data_dir=root / "data", api_keys=KEYS, rate_limit_per_minute=0)
    components = build_components(settings, embedder=real_embedder)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(components.store, real_embedder, chunker).run([write_corpus(root / "corpus")])
    components.close()
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    with serve(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client


def _chat(
    client: httpx.Client, message: str, headers: dict[str, str] | None = None, **body: str
) -> dict:
    reply = client.post(
        "/v1/chat", json={"message": message, "mode": "internal", **body}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.parametrize(
    "other",
    [None, {"Authorization": "Bearer emp-b"}, {"Authorization": "Bearer partner-key"}],
    ids=["anonymous", "another employee key", "partner key"],
)
def test_another_caller_cannot_continue_an_employees_session(
    client: httpx.Client, other: dict[str, str] | None
) -> None:
    """The reported leak: an anonymous caller sent an employee's session_id and its `query`
    echoed the employee's internal question. Now it gets a conversation of its own."""
    first = _chat(client, INTERNAL_QUESTION, EMPLOYEE)
    session_id = first["session_id"]
    reply = _chat(client, FOLLOW_UP, other, session_id=session_id)
    assert reply["session_id"] != session_id
    assert "refund" not in reply["query"].lower() and "500" not in reply["query"]

    own = _chat(client, FOLLOW_UP, EMPLOYEE, session_id=session_id)
    assert own["session_id"] == session_id
    assert "refund" in own["query"].lower()  # its own history carried the topic forward


def test_another_caller_cannot_rate_an_employees_answer(client: httpx.Client) -> None:
    session_id = _chat(client, INTERNAL_QUESTION, EMPLOYEE)["session_id"]
    rating = {"session_id": session_id, "rating": "down"}
    for other in (None, {"Authorization": "Bearer emp-b"}, {"Authorization": "Bearer public-key"}):
        reply = client.post("/v1/feedback", json=rating, headers=other)
        assert reply.status_code == 404, reply.text
    assert client.post("/v1/feedback", json=rating, headers=EMPLOYEE).status_code == 201


def test_anonymous_session_ids_are_the_servers_and_unguessable(client: httpx.Client) -> None:
    """An anonymous caller cannot pick a session id (another could guess it, or the caller
    could lie in wait under an id it expects someone to use); the server's id continues."""
    reply = _chat(client, INTERNAL_QUESTION, None, session_id="support-chat-1")
    assert reply["session_id"] != "support-chat-1"
    assert re.fullmatch(r"[0-9a-f]{32}", reply["session_id"])
    again = _chat(client, FOLLOW_UP, None, session_id=reply["session_id"])
    assert again["session_id"] == reply["session_id"]
    rating = {"session_id": reply["session_id"], "rating": "up"}
    assert client.post("/v1/feedback", json=rating).status_code == 201
    # An employee sending an anonymous session's id does not join it either.
    assert (
        _chat(client, FOLLOW_UP, EMPLOYEE, session_id=reply["session_id"])["session_id"]
        != (reply["session_id"])
    )


def test_a_key_may_name_its_own_session(client: httpx.Client) -> None:
    first = _chat(client, INTERNAL_QUESTION, EMPLOYEE, session_id="emp-a-ticket-7")
    assert first["session_id"] == "emp-a-ticket-7"
    assert _chat(client, FOLLOW_UP, None, session_id="emp-a-ticket-7")["session_id"] != (
        "emp-a-ticket-7"
    )


def test_completion_session_ids_are_keyed_with_the_servers_secret(client: httpx.Client) -> None:
    """The same messages get the same session on this server (a retry), but its id cannot be
    worked out from the messages, as the unkeyed digest could."""
    import hashlib
    import json

    body = {"model": "m", "messages": [{"role": "user", "content": INTERNAL_QUESTION}]}
    ids = {client.post("/v1/chat/completions", json=body).json()["session_id"] for _ in range(2)}
    assert len(ids) == 1
    identity = {
        "key": None,
        "user": None,
        "mode": "customer",
        "messages": [["user", INTERNAL_QUESTION]],
    }
    unkeyed = hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()
    assert ids != {f"oai-{unkeyed[:32]}"}
