"""A real served session through the chat page: a customer asks, clicks Contact support, and
the resolution report counts one escalation, which the internal report page charts. Asking
for a person in words gets how to reach support instead of the control, after the answer to
what else the message asks."""

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.app import create_app
from assistant.embedders import Embedder
from assistant.records.escalations import EscalationSource, EscalationStore
from assistant.settings import Settings
from assistant.wiring import build_components
from tests.api.conftest import Served, serve
from tests.browser.test_chat_page import ask

pytestmark = pytest.mark.browser

INTERNAL = {"Authorization": "Bearer emp-secret"}
SUPPORT = "https://support.example.com/contact"


def resolution_since(served: Served, since: dt.datetime) -> Any:
    response = httpx.get(
        f"{served.url}/v1/analytics/resolution",
        params={"since": since.isoformat()},
        headers=INTERNAL,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_contact_support_on_the_page_counts_one_escalation(
    page: Page, served: Served, artifacts: Path
) -> None:
    since = dt.datetime.now(dt.UTC)
    page.goto(served.url)
    ask(page, "How do I reset my password?")
    contact = page.get_by_role("button", name="Contact support")
    expect(contact).to_have_count(1)
    ask(page, "How long is the reset link valid?")
    expect(contact).to_have_count(1)  # under the latest answer only
    page.screenshot(path=artifacts / "browser-contact-support-control.png")

    contact.click()
    note = page.locator(".handover-note")
    expect(note).to_contain_text("our support team can help")
    expect(contact).to_have_count(0)
    page.screenshot(path=artifacts / "browser-contact-support.png")

    session_id = page.evaluate("sessionStorage.getItem('help-assistant:session-id')")
    store: EscalationStore = served.app.state.components.escalations
    assert [e.source for e in store.entries(session_ids=[session_id])] == [EscalationSource.CONTROL]
    report = resolution_since(served, since)
    assert (report["conversations"], report["escalated"], report["resolved"]) == (1, 1, 0)
    assert [(s["value"], s["escalated"]) for s in report["by_mode"]] == [("customer", 1)]

    # The internal report page shows it: in the summary and as an escalated bar today.
    page.goto(f"{served.url}/static/gaps.html")
    page.get_by_label("Employee API key").fill("emp-secret")
    page.get_by_role("button", name="Show report").click()
    expect(page.locator("#resolution-summary")).to_contain_text("escalated")
    chart = page.locator("#resolution-chart svg[role='img']")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar-escalated")).not_to_have_count(0)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    titles = chart.locator("rect.bar-escalated title").all_text_contents()
    assert any(t.startswith(f"{today}: ") and t.endswith(" escalated") for t in titles)
    expect(page.locator("#by-mode tbody")).to_contain_text("customer")
    page.wait_for_function("() => document.getElementById('chart').naturalWidth > 0")
    page.screenshot(path=artifacts / "browser-resolution-report.png", full_page=True)


def test_asking_for_a_person_on_the_page_says_how_to_reach_support(
    page: Page, served: Served
) -> None:
    since = dt.datetime.now(dt.UTC)
    page.goto(served.url)
    ask(page, "Can I talk to a human?")
    reply = page.locator('.msg.assistant[data-state="done"]').last
    expect(reply).to_contain_text("our support team can help")
    expect(reply.locator(".citation")).to_have_count(0)
    # Already told how to reach a person: no Contact support under this reply.
    expect(page.get_by_role("button", name="Contact support")).to_have_count(0)
    report = resolution_since(served, since)
    assert (report["conversations"], report["escalated"]) == (1, 1)


@pytest.fixture(scope="module")
def with_support_url(
    corpus_settings: Settings, real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The assistant over a copy of the test corpus's index, with ASSISTANT_SUPPORT_URL set."""
    data = tmp_path_factory.mktemp("support") / "data"
    shutil.copytree(corpus_settings.data_dir, data)
    settings = corpus_settings.model_copy(update={"data_dir": data, "support_url": SUPPORT})
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    with serve(app) as url:
        yield url


def test_the_support_url_is_the_link_both_ways(page: Page, with_support_url: str) -> None:
    page.goto(with_support_url)
    ask(page, "I want to speak to an agent")
    link = page.get_by_role("link", name="Open the support page")
    expect(link).to_have_attribute("href", SUPPORT)
    expect(link).to_have_attribute("target", "_blank")

    page.get_by_role("button", name="New conversation").click()
    ask(page, "How do I reset my password?")
    page.get_by_role("button", name="Contact support").click()
    expect(page.locator(".handover-note")).to_contain_text(SUPPORT)
    expect(page.get_by_role("link", name="Open the support page").last).to_have_attribute(
        "href", SUPPORT
    )


def test_a_question_asked_with_the_request_is_answered_above_the_support_link(
    page: Page, with_support_url: str
) -> None:
    page.goto(with_support_url)
    ask(page, "How do I reset my password? I want to talk to a person.")
    reply = page.locator('.msg.assistant[data-state="done"]').last
    expect(reply).to_contain_text("Forgot password")
    expect(reply.locator(".citation")).not_to_have_count(0)
    expect(reply.get_by_role("link", name="Open the support page")).to_have_attribute(
        "href", SUPPORT
    )
    # Already told how to reach a person: no Contact support under this reply.
    expect(page.get_by_role("button", name="Contact support")).to_have_count(0)
