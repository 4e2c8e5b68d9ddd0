"""GET /v1/analytics/gaps on the real server: questions asked over HTTP show up grouped,
redacted, for internal keys only."""

from pathlib import Path

import httpx
import pytest

from evals.cases import load_cases
from tests.api.conftest import NOT_INTERNAL, Served

INTERNAL = {"Authorization": "Bearer emp-secret"}
PAYROLL = ["How do I run payroll for my employees?", "payroll setup for my team"]


@pytest.fixture(scope="module")
def asked(served: Served) -> str:
    """Asks the gap questions once (one with an e-mail address and a card number in it)."""
    for question in PAYROLL:
        response = httpx.post(f"{served.url}/v1/chat", json={"message": question}, timeout=60)
        assert response.status_code == 200 and response.json()["refused"]
    message = "I'm jane@example.com, card 4111 1111 1111 1111: can I pay my payroll by card?"
    response = httpx.post(f"{served.url}/v1/chat", json={"message": message}, timeout=60)
    assert response.status_code == 200
    return served.url


def test_internal_callers_get_the_report(asked: str) -> None:
    response = httpx.get(f"{asked}/v1/analytics/gaps?since=1d", headers=INTERNAL, timeout=120)
    assert response.status_code == 200
    report = response.json()
    payroll = next(g for g in report["groups"] if PAYROLL[0] in g["questions"])
    assert set(PAYROLL) <= set(payroll["questions"])
    assert payroll["action"] == "write" and payroll["reasons"]["refused"] >= 2
    assert report["questions"] >= 3 and 0 <= report["answer_rate"] <= 1
    assert "jane@example.com" not in response.text and "4111" not in response.text
    assert "[email]" in response.text


def test_markdown_and_chart(asked: str) -> None:
    page = httpx.get(f"{asked}/v1/analytics/gaps/report.md", headers=INTERNAL, timeout=120)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/markdown")
    assert "# Knowledge gaps" in page.text and PAYROLL[0] in page.text
    chart = httpx.get(f"{asked}/v1/analytics/gaps/chart.png", headers=INTERNAL, timeout=120)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(("headers", "status"), NOT_INTERNAL)
def test_other_callers_are_refused(base_url: str, headers: dict[str, str], status: int) -> None:
    for path in (
        "/v1/analytics/gaps",
        "/v1/analytics/gaps/chart.png",
        "/v1/analytics/gaps/cases.jsonl?group=abcd",
    ):
        response = httpx.get(f"{base_url}{path}", headers=headers, timeout=30)
        assert response.status_code == status
        assert response.json()["error"]["code"] in ("forbidden", "unauthorized")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=last%20tuesday", "since"),
        ("since=2026-11-02&until=2026-11-01", "until"),
        ("similarity=2", "similarity"),
        ("limit=0", "limit"),
        ("since=99999999999d", "since"),
    ],
)
def test_bad_parameters_are_422(base_url: str, query: str, field: str) -> None:
    response = httpx.get(f"{base_url}/v1/analytics/gaps?{query}", headers=INTERNAL, timeout=30)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]


def test_the_whole_history_is_a_valid_period(asked: str) -> None:
    """Since year 1 is no overflow: a report, counting at least the last day's questions."""

    def questions(since: str) -> int:
        response = httpx.get(
            f"{asked}/v1/analytics/gaps?since={since}", headers=INTERNAL, timeout=120
        )
        assert response.status_code == 200, response.text
        return int(response.json()["questions"])

    assert questions("0001-01-01") >= questions("1d") >= len(PAYROLL) + 1


def test_a_group_as_eval_cases(asked: str, tmp_path: Path) -> None:
    report = httpx.get(f"{asked}/v1/analytics/gaps?since=1d", headers=INTERNAL, timeout=120)
    payroll = next(g for g in report.json()["groups"] if PAYROLL[0] in g["questions"])
    response = httpx.get(
        f"{asked}/v1/analytics/gaps/cases.jsonl?since=1d&group={payroll['id'][:6]}",
        headers=INTERNAL,
        timeout=120,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    (tmp_path / "gap.jsonl").write_text(response.text)
    cases = load_cases(tmp_path / "gap.jsonl")
    assert [c.turns[0].question for c in cases] == payroll["questions"]
    missing = httpx.get(
        f"{asked}/v1/analytics/gaps/cases.jsonl?group=abcdef", headers=INTERNAL, timeout=120
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
