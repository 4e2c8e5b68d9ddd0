"""The API over a real HTTP server (uvicorn on loopback), real MiniLM and the real Qdrant engine
(the server fixture is in conftest.py)."""

import json

import httpx
import pytest

from tests.sse import chat_events


def test_chat_answers_with_a_citation_of_the_right_document(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/v1/chat", json={"message": "How do I reset my password?"}, timeout=30
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["refused"] is False
    assert answer["citations"][0]["document"] == "kb/reset-password.md"
    assert answer["citations"][0]["url"].startswith(
        "https://help.example.com/articles/reset-password#"
    )
    assert "[1]" in answer["answer"]
    assert answer["session_id"]


def test_chat_streams_server_sent_events(base_url: str) -> None:
    events = chat_events(base_url, {"message": "How do I add a tax rate?"})
    names = [n for n, _ in events]
    assert names[-2:] == ["citations", "done"] and set(names[:-2]) == {"delta"}
    done = events[-1][1]
    assert "".join(d["text"] for n, d in events if n == "delta") == done["answer"]
    assert done["citations"][0]["document"] == "courses/essentials/lessons/02-taxes.md"


def test_chat_prefers_the_product_version_asked_for(base_url: str) -> None:
    def ask(version: str) -> dict[str, list[dict[str, str]]]:
        body = {
            "message": "How do I switch on automatic reminders?",
            "product_version": version,
            "context": {"page": "/settings/reminders"},
        }
        response = httpx.post(f"{base_url}/v1/chat", json=body, timeout=30)
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    same = ask("4.1")  # the webinar's version
    assert "4.1" in {c["product_version"] for c in same["citations"]}
    assert not any("Nothing matched" in w for w in same["warnings"])
    other = ask("4.2")
    cites_other_version = "4.1" in {c["product_version"] for c in other["citations"]}
    assert cites_other_version == any("Nothing matched version 4.2" in w for w in other["warnings"])


def test_internal_content_needs_an_internal_key(base_url: str) -> None:
    body = {
        "message": "What override code is used for refunds above 500 dollars?",
        "mode": "internal",
    }
    public = httpx.post(f"{base_url}/v1/chat", json=body, timeout=30).json()
    assert all(c["audience"] == "public" for c in public["citations"])
    assert "PELICAN" not in json.dumps(public)
    employee = httpx.post(
        f"{base_url}/v1/chat", json=body, headers={"Authorization": "Bearer emp-secret"}, timeout=30
    ).json()
    assert employee["citations"][0]["document"] == "kb/internal-refunds.md"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"message": ""}, {}, 422, "invalid_request"),
        ({"message": "   "}, {}, 422, "invalid_request"),
        ({"message": 42}, {}, 422, "invalid_request"),
        ({"message": "x" * 4001}, {}, 422, "invalid_request"),
        ({"message": "hi", "mode": "admin"}, {}, 422, "invalid_request"),
        ({"message": "hi"}, {"Authorization": "Bearer wrong"}, 401, "unauthorized"),
        ({"message": "hi"}, {"Authorization": "Basic abc"}, 401, "unauthorized"),
    ],
)
def test_bad_requests_get_json_errors(
    base_url: str, body: object, headers: dict[str, str], status: int, code: str
) -> None:
    response = httpx.post(f"{base_url}/v1/chat", json=body, headers=headers, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_a_blank_message_is_refused_in_words_not_a_pattern(base_url: str) -> None:
    response = httpx.post(f"{base_url}/v1/chat", json={"message": " \n\t "}, timeout=30)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "blank" in message and "\\S" not in message and "pattern" not in message
    search = httpx.get(f"{base_url}/v1/search", params={"q": "   "}, timeout=30)
    assert search.status_code == 422 and "blank" in search.json()["error"]["message"]


def test_health_page_and_docs(base_url: str) -> None:
    health = httpx.get(f"{base_url}/healthz").json()
    assert health["status"] == "ok" and health["chunks"] > 0
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200 and 'id="question"' in page.text
    assert httpx.get(f"{base_url}/static/chat.js").status_code == 200
    assert "/v1/chat" in httpx.get(f"{base_url}/openapi.json").json()["paths"]
    icon = httpx.get(f"{base_url}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    missing = httpx.get(f"{base_url}/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_search_returns_scored_chunks_filtered_by_audience(base_url: str) -> None:
    query = {"q": "refund override code approval", "k": 10}
    public = httpx.get(f"{base_url}/v1/search", params=query, timeout=30).json()
    assert public["hits"] and {h["audience"] for h in public["hits"]} == {"public"}
    assert [h["rank"] for h in public["hits"]] == list(range(1, len(public["hits"]) + 1))
    employee = httpx.get(
        f"{base_url}/v1/search",
        params=query,
        headers={"Authorization": "Bearer emp-secret"},
        timeout=30,
    ).json()
    assert employee["hits"][0]["document"] == "kb/internal-refunds.md"
    assert employee["hits"][0]["score"] >= employee["hits"][-1]["score"]


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "x", "k": 0}, {"q": "x", "k": 51}, {}])
def test_search_rejects_bad_parameters(base_url: str, params: dict[str, object]) -> None:
    response = httpx.get(f"{base_url}/v1/search", params=params, timeout=30)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
