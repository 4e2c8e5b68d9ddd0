"""Requests for a person and the resolution report on the real server: POST /v1/escalations
bound to the caller that started the session, a typed request answered with how to reach
support, and GET /v1/analytics/resolution for internal callers only."""

import datetime as dt
from typing import Any

import httpx
import pytest

from assistant.records.escalations import EscalationSource, EscalationStore
from tests.api.conftest import NOT_INTERNAL, Served

INTERNAL = {"Authorization": "Bearer emp-secret"}
PARTNER = {"Authorization": "Bearer partner-key"}


def _chat(served: Served, message: str, headers: dict[str, str] | None = None, **body: Any) -> Any:
    response = httpx.post(
        f"{served.url}/v1/chat", json={"message": message, **body}, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def _escalations(served: Served) -> EscalationStore:
    store: EscalationStore = served.app.state.components.escalations
    return store


def _resolution(served: Served, since: dt.datetime, **params: str) -> Any:
    response = httpx.get(
        f"{served.url}/v1/analytics/resolution",
        params={"since": since.isoformat(), **params},
        headers=INTERNAL,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_contact_support_escalates_the_callers_conversation(served: Served) -> None:
    since = dt.datetime.now(dt.UTC)
    answer = _chat(served, "How do I reset my password?", PARTNER, context={"page": "/login"})
    session_id = answer["session_id"]

    # Another caller sending the id learns nothing: as for feedback, 404.
    for headers in ({}, INTERNAL):
        response = httpx.post(
            f"{served.url}/v1/escalations", json={"session_id": session_id}, headers=headers
        )
        assert response.status_code == 404
    assert _escalations(served).entries(session_ids=[session_id]) == []

    response = httpx.post(
        f"{served.url}/v1/escalations", json={"session_id": session_id}, headers=PARTNER
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["session_id"] == session_id and receipt["support_url"] is None
    assert "support" in receipt["message"]
    [stored] = _escalations(served).entries(session_ids=[session_id])
    assert (stored.id, stored.source) == (receipt["id"], EscalationSource.CONTROL)

    report = _resolution(served, since)
    assert (report["conversations"], report["escalated"], report["escalation_rate"]) == (1, 1, 1)
    assert report["by_page"] == [
        {**{k: report[k] for k in _COUNTS}, "value": "/login"}
    ]  # the page the question came from
    assert [(s["value"], s["escalated"]) for s in report["by_kind"]] == [("kb", 1)]


_COUNTS = (
    "conversations",
    "resolved",
    "resolved_confirmed",
    "resolved_assumed",
    "escalated",
    "unresolved",
    "resolution_rate",
    "escalation_rate",
)


def test_asking_for_a_person_gets_how_to_reach_support_not_a_quote(served: Served) -> None:
    since = dt.datetime.now(dt.UTC)
    first = _chat(served, "How do I add a tax rate?")
    reply = _chat(served, "Can I talk to a human, please?", session_id=first["session_id"])
    assert reply["session_id"] == first["session_id"]
    assert reply["handover"] == {"support_url": None}
    assert reply["citations"] == [] and not reply["refused"] and "[1]" not in reply["answer"]
    assert "support" in reply["answer"]
    [stored] = _escalations(served).entries(session_ids=[first["session_id"]])
    assert stored.source == EscalationSource.ASKED
    report = _resolution(served, since)
    assert (report["conversations"], report["escalated"]) == (1, 1)
    # An ordinary answer carries no handover.
    assert first["handover"] is None


def test_answered_conversations_are_open_until_the_window_passes(served: Served) -> None:
    since = dt.datetime.now(dt.UTC)
    _chat(served, "How do I upload my logo?")
    report = _resolution(served, since)
    assert (report["conversations"], report["open"]) == (0, 1)
    # `window` in minutes; the conversation ended long enough ago for a tiny one.
    report = _resolution(served, since, window="0.0001")
    assert (report["conversations"], report["open"], report["resolved_assumed"]) == (1, 0, 1)
    assert report["window_minutes"] == 0.0001


@pytest.mark.parametrize(
    "body",
    [{}, {"session_id": ""}, {"session_id": 12}, {"session_id": "x" * 129}, ["session_id"]],
)
def test_bad_escalations_are_422(base_url: str, body: object) -> None:
    response = httpx.post(f"{base_url}/v1/escalations", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_an_unknown_session_cannot_be_escalated(base_url: str) -> None:
    response = httpx.post(f"{base_url}/v1/escalations", json={"session_id": "no-such-session"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("headers", "status"), NOT_INTERNAL)
def test_the_report_is_for_internal_callers_only(
    base_url: str, headers: dict[str, str], status: int
) -> None:
    response = httpx.get(f"{base_url}/v1/analytics/resolution", headers=headers, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["code"] in ("forbidden", "unauthorized")


@pytest.mark.parametrize(
    "query", ["since=last%20tuesday", "since=2026-11-02&until=2026-11-01", "window=0", "window=-5"]
)
def test_bad_report_parameters_are_422(base_url: str, query: str) -> None:
    response = httpx.get(
        f"{base_url}/v1/analytics/resolution?{query}", headers=INTERNAL, timeout=30
    )
    assert response.status_code == 422
