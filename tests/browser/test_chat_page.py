"""The chat page in Chromium: a streamed answer with citation chips that open their sources,
feedback stored in the app database, agent mode's ticket copy and INTERNAL notes, and a
keyboard-only round."""

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from assistant.records.feedback import FeedbackStore, Rating
from tests.api.conftest import Served

pytestmark = pytest.mark.browser

# Every source URL in the test corpus is on an example.com host the offline machine cannot
# reach; a popup that opens one gets this page instead.
SOURCE_PAGE = "<!doctype html><title>Source</title><p>The cited source.</p>"

# Records each distinct text of a streaming answer, before its done state, and when it is done.
RECORD_STREAM = """
window.__partials = [];
window.__doneSeen = false;
new MutationObserver(() => {
  const msg = document.querySelector('.msg.assistant[data-state="streaming"]');
  if (msg) {
    const text = msg.querySelector('.answer-text').textContent;
    if (text && window.__partials[window.__partials.length - 1] !== text) {
      window.__partials.push(text);
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def api_answer(served: Served, message: str, **body: object) -> dict[str, Any]:
    """The same question over plain JSON: what the page must show."""
    response = httpx.post(
        f"{served.url}/v1/chat",
        json={"message": message, **body},
        headers={"Authorization": "Bearer emp-secret"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def ask(page: Page, question: str) -> None:
    """Asks and waits for the new answer (not the previous one, still marked done until the
    page has sent any pending rating and started the next answer)."""
    done = page.locator('.msg.assistant[data-state="done"]')
    answered = done.count()
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(done).to_have_count(answered + 1)


def wait_for_answer(page: Page) -> None:
    expect(page.locator('.msg.assistant[data-state="done"]').last).to_be_visible()


def external_requests(page: Page, origin: str) -> list[str]:
    """URLs the page loads from anywhere but the assistant's own server (should stay empty)."""
    seen: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(origin) else seen.append(r.url))
    return seen


def serve_sources_offline(context: BrowserContext) -> None:
    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=SOURCE_PAGE)

    context.route(re.compile(r"^https?://[^/]*example\.com/"), fulfil)


def test_streamed_answer_with_citations_that_open_their_source(
    page: Page, context: BrowserContext, served: Served, artifacts: Path
) -> None:
    question = "My bank feed stopped syncing"
    expected = api_answer(served, question)
    citations = expected["citations"]
    assert citations
    serve_sources_offline(context)
    page.add_init_script(RECORD_STREAM)
    outside = external_requests(page, served.url)
    page.goto(served.url)

    ask(page, question)

    partials = page.evaluate("window.__partials")
    final = page.locator(".msg.assistant .answer-text").last.text_content() or ""
    assert len(set(partials)) >= 2, partials  # the text grew in steps before the done state
    assert all(len(p) < len(final) for p in partials[:-1])
    assert "Reconnect the bank" in final
    chips = page.locator(".msg.assistant .citation")
    expect(chips).to_have_count(len(citations))
    for chip, citation in zip(chips.all(), citations, strict=True):
        assert chip.get_attribute("href") == citation["url"]
        assert chip.get_attribute("target") == "_blank"
        expect(chip).to_contain_text("Forum post")
        expect(chip).to_contain_text(f"by {citation['author']}")
        expect(chip).to_contain_text("Reviewed" if citation["reviewed"] else "Unreviewed")
    page.screenshot(path=artifacts / "browser-answer.png")

    with context.expect_page() as opened:
        chips.first.click()
    source = opened.value
    source.wait_for_load_state()
    assert source.url == citations[0]["url"]
    expect(source.locator("p")).to_have_text("The cited source.")
    assert outside == []  # no CDN, no external font


def test_a_transcript_chip_says_where_the_video_starts(page: Page, served: Served) -> None:
    question = "How do I turn on automatic payment reminders?"
    expected = api_answer(served, question)
    video = next(c for c in expected["citations"] if c["source_type"] == "transcript")
    minutes, seconds = divmod(int(video["start_seconds"]), 60)
    page.goto(served.url)

    ask(page, question)

    chip = page.locator(f'.citation[data-citation-id="{video["id"]}"]').first
    expect(chip).to_contain_text(f"Video at {minutes}:{seconds:02d}")
    assert chip.get_attribute("href") == video["url"]
    # The [n] marker in the text jumps to its chip.
    page.locator(f'.answer-text .cite-ref[data-citation-id="{video["id"]}"]').first.click()
    expect(chip).to_be_focused()

    # A reload keeps the conversation (session storage), chips included.
    page.reload()
    expect(page.locator(".msg.user")).to_have_text(question)
    expect(page.locator(f'.citation[data-citation-id="{video["id"]}"]')).to_have_attribute(
        "href", video["url"]
    )


def test_thumbs_down_with_a_comment_is_stored(page: Page, served: Served) -> None:
    before = dt.datetime.now(dt.UTC)
    page.goto(served.url)
    ask(page, "How do I reset my password?")

    page.get_by_role("button", name="Not helpful").click()
    page.get_by_label("What was missing or wrong? (optional)").fill("It skips the spam folder tip.")
    page.get_by_role("button", name="Send feedback").click()

    expect(page.get_by_text("Thanks for your feedback.")).to_be_visible()
    session_id = page.evaluate("sessionStorage.getItem('help-assistant:session-id')")
    store: FeedbackStore = served.app.state.components.feedback
    saved = [f for f in store.entries(since=before) if f.session_id == session_id]
    assert len(saved) == 1
    assert saved[0].rating == Rating.DOWN
    assert saved[0].comment == "It skips the spam folder tip."
    assert saved[0].question == "How do I reset my password?"


def test_a_chosen_thumb_is_sent_before_the_next_question(page: Page, served: Served) -> None:
    before = dt.datetime.now(dt.UTC)
    page.goto(served.url)
    ask(page, "How do I add a tax rate?")
    page.get_by_role("button", name="Helpful", exact=True).click()  # no "Send feedback"

    ask(page, "How do I upload my logo?")

    session_id = page.evaluate("sessionStorage.getItem('help-assistant:session-id')")
    store: FeedbackStore = served.app.state.components.feedback
    saved = [f for f in store.entries(since=before) if f.session_id == session_id]
    assert [(f.rating, f.question) for f in saved] == [(Rating.UP, "How do I add a tax rate?")]
    # Only the latest answer can be rated now.
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_have_count(1)


def test_agent_mode_copies_the_ticket_text(page: Page, served: Served, artifacts: Path) -> None:
    question = "How do I turn on automatic payment reminders?"
    expected = api_answer(served, question, mode="agent")
    assert expected["ticket_text"]
    page.goto(served.url)
    page.get_by_label("Mode").select_option("agent")
    page.get_by_label("Product version").fill("4.2")
    page.get_by_label("Product version").press("Tab")  # saved on change

    with page.expect_request(f"{served.url}/v1/chat") as sent:
        ask(page, question)
    page.get_by_role("button", name="Copy for ticket").click()

    assert sent.value.post_data_json["product_version"] == "4.2"
    assert sent.value.post_data_json["mode"] == "agent"

    expect(page.get_by_text("Copied to the clipboard")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == expected["ticket_text"]
    page.screenshot(path=artifacts / "browser-agent.png")


def test_agent_mode_shows_internal_notes_apart_from_the_refusal(
    page: Page, served: Served, artifacts: Path
) -> None:
    question = "How do refunds work?"
    expected = api_answer(served, question, mode="agent")
    assert expected["refused"] is True and expected["internal_notes"]
    page.goto(served.url)
    page.get_by_label("Mode").select_option("agent")
    page.get_by_label("API key").fill("emp-secret")
    page.get_by_label("API key").press("Tab")  # the key is saved on change

    ask(page, question)

    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_class(re.compile(r"\brefused\b"))
    expect(answer.locator(".answer-text").first).to_contain_text("couldn't find this")
    expect(answer.locator(".msg-content > .citations")).to_have_count(0)  # a refusal cites nothing
    notes = answer.get_by_role("region", name=re.compile("^INTERNAL"))
    expect(notes).to_contain_text("Refunds above 500 dollars need approval")
    notes_url = expected["internal_notes"]["citations"][0]["url"]
    expect(notes.locator(".citation").first).to_have_attribute("href", notes_url)
    page.screenshot(path=artifacts / "browser-internal-notes.png")


def test_internal_mode_links_the_knowledge_gaps(page: Page, served: Served) -> None:
    page.goto(served.url)
    gaps = page.get_by_role("link", name="Knowledge gaps")
    expect(gaps).to_be_hidden()
    page.get_by_label("Mode").select_option("internal")
    expect(gaps).to_be_visible()
    assert urlsplit(gaps.get_attribute("href") or "").path == "/static/gaps.html"


def test_keyboard_only_question_and_feedback(page: Page, served: Served, artifacts: Path) -> None:
    page.goto(served.url)

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the question box")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Your question")).to_be_focused()
    page.keyboard.type("How do I add a tax rate?")
    page.keyboard.press("Enter")
    wait_for_answer(page)
    expect(page.get_by_label("Your question")).to_be_focused()

    # Back from the question box: the answer's last control, Contact support, then the thumbs
    # down.
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Contact support")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    thumbs_down = page.get_by_role("button", name="Not helpful")
    expect(thumbs_down).to_be_focused()
    outline = thumbs_down.evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none"  # keyboard focus is visible
    page.keyboard.press("Enter")
    expect(page.get_by_label("What was missing or wrong? (optional)")).to_be_focused()
    page.keyboard.type("Which menu?")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send feedback")).to_be_focused()
    page.screenshot(path=artifacts / "browser-keyboard.png")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Thanks for your feedback.")).to_be_visible()


def test_the_page_works_within_its_content_security_policy(page: Page, served: Served) -> None:
    """No script, style or request of the page is one its policy blocks."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
    page.goto(f"{served.url}/?embed=1")
    ask(page, "How do I reset my password?")
    page.goto(f"{served.url}/static/gaps.html")
    expect(page.get_by_label("API key", exact=False).first).to_be_visible()
    assert violations == []


def test_a_lesson_chip_shows_the_lesson_not_the_course(page: Page, served: Served) -> None:
    """A course title path is long ("Essentials > Getting started > Taxes"): the chip keeps
    its most specific parts, the whole path is its tooltip."""
    question = "How do I add a tax rate?"
    citation = api_answer(served, question)["citations"][0]
    parts = citation["title"].split(" > ")
    assert len(parts) >= 3, citation["title"]  # the case this is about
    page.goto(served.url)
    ask(page, question)
    chip = page.locator(".msg.assistant .citation").first
    shown = chip.locator(".citation-title").text_content() or ""
    assert shown == f"{parts[-2]} › {parts[-1]}"
    assert citation["title"] in (chip.get_attribute("title") or "")
