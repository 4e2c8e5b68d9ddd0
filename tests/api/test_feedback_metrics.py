"""POST /v1/feedback (stored in the app database) and GET /metrics (Prometheus text)."""

import datetime as dt

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.records.feedback import FeedbackStore, Rating
from tests.api.conftest import Served


def _ask(base_url: str, message: str) -> dict[str, object]:
    response = httpx.post(f"{base_url}/v1/chat", json={"message": message}, timeout=60)
    assert response.status_code == 200
    answer: dict[str, object] = response.json()
    return answer


def _feedback_store(served: Served) -> FeedbackStore:
    store: FeedbackStore = served.app.state.components.feedback
    return store


def test_feedback_is_stored_with_the_rated_question(served: Served) -> None:
    before = dt.datetime.now(dt.UTC)
    first = _ask(served.url, "How do I reset my password?")
    latest = httpx.post(
        f"{served.url}/v1/chat",
        json={"message": "How long is the link valid for it?", "session_id": first["session_id"]},
        timeout=60,
    ).json()
    response = httpx.post(
        f"{served.url}/v1/feedback",
        json={"session_id": latest["session_id"], "rating": "down", "comment": "Too short."},
        timeout=30,
    )
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["session_id"] == first["session_id"] and receipt["rating"] == "down"
    saved = [f for f in _feedback_store(served).entries(since=before) if f.id == receipt["id"]]
    assert len(saved) == 1
    assert saved[0].rating == Rating.DOWN and saved[0].comment == "Too short."
    assert saved[0].question == "How long is the link valid for it?"  # the latest turn
    assert saved[0].refused is False


def test_feedback_on_a_completion_session(served: Served) -> None:
    completion = httpx.post(
        f"{served.url}/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "How do I add a tax rate?"}]},
        timeout=60,
    ).json()
    response = httpx.post(
        f"{served.url}/v1/feedback",
        json={"session_id": completion["session_id"], "rating": "up"},
        timeout=30,
    )
    assert response.status_code == 201
    entries = _feedback_store(served).entries()
    assert any(f.id == response.json()["id"] and f.comment is None for f in entries)


def test_feedback_for_an_unknown_session_is_404(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/v1/feedback", json={"session_id": "no-such-session", "rating": "up"}
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "no-such-session" in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "body",
    [
        {"session_id": "s", "rating": "meh"},
        {"session_id": "s", "rating": 1},
        {"session_id": "s", "rating": None},
        {"session_id": "s"},
        {"rating": "up"},
        {"session_id": "", "rating": "up"},
        {"session_id": 12, "rating": "up"},
        {"session_id": "s", "rating": "up", "comment": "x" * 2001},
        {"session_id": "s", "rating": "up", "comment": ["not", "text"]},
        ["session_id", "rating"],
    ],
)
def test_bad_feedback_is_422(base_url: str, body: object) -> None:
    response = httpx.post(f"{base_url}/v1/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def _samples(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_answers_refusals_and_feedback(base_url: str) -> None:
    before = _samples(base_url)
    answered = _ask(base_url, "How do I add a tax rate?")
    refused = _ask(base_url, "What is the airspeed velocity of an unladen swallow?")
    assert answered["refused"] is False and refused["refused"] is True
    httpx.post(f"{base_url}/v1/chat", json={"message": ""})
    httpx.post(
        f"{base_url}/v1/feedback", json={"session_id": answered["session_id"], "rating": "up"}
    )
    after = _samples(base_url)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    chat = {"method": "POST", "route": "/v1/chat"}
    assert delta("assistant_http_requests_total", **chat, status="200") == 2
    assert delta("assistant_http_requests_total", **chat, status="422") == 1
    assert delta("assistant_http_request_duration_seconds_count", **chat) == 3
    assert delta("assistant_http_request_duration_seconds_bucket", **chat, le="+Inf") == 3
    assert delta("assistant_answers_total", mode="customer") == 2
    assert delta("assistant_refusals_total", mode="customer") == 1
    assert delta("assistant_answer_confidence_count", mode="customer") == 2
    assert delta("assistant_answer_confidence_bucket", mode="customer", le="1.0") == 2
    assert delta("assistant_feedback_total", rating="up") == 1


def test_metrics_count_answers_served_from_the_cache(base_url: str) -> None:
    before = _samples(base_url)
    question = "Where do I set the tax rate of my company profile?"
    assert _ask(base_url, question)["answer"] == _ask(base_url, question)["answer"]
    after = _samples(base_url)
    for name, expected in (("hits", 1), ("misses", 1)):
        metric = f"assistant_answer_cache_{name}_total"
        assert _value(after, metric) - _value(before, metric) == expected, name


def test_metrics_label_routes_by_template_not_by_path(base_url: str) -> None:
    for path in ("/nope-1", "/nope-2"):
        httpx.get(f"{base_url}{path}")
    text = httpx.get(f"{base_url}/metrics").text
    assert "/nope-1" not in text
    assert 'route="unmatched",status="404"' in text
