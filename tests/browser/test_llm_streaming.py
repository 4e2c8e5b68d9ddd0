"""The chat page with an LLM writing the answer (the scripted fake OpenAI-compatible server):
its text streams in as written, and text the server retracts disappears for the checked
answer."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fakes.fake_openai_server import FakeOpenAIServer

pytestmark = pytest.mark.browser

# Cited, but no source says it: shown as it is written, then withdrawn.
UNSUPPORTED = "Send your password to support by e-mail [1]. They will change it for you [1]."

# The state and text of the streaming answer each time the page changes it.
RECORD = """
window.__seen = [];
new MutationObserver(() => {
  const msg = document.querySelector('.msg.assistant:not([data-state="done"])');
  if (!msg) return;
  const text = msg.querySelector('.answer-text').textContent;
  window.__seen.push([msg.getAttribute('data-state'), text]);
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def test_retracted_text_is_replaced_by_the_checked_answer(
    page: Page, llm_url: str, fake_llm: FakeOpenAIServer, artifacts: Path
) -> None:
    # The server sends each sentence as it is written (each cites); no source supports them,
    # so the server retracts them and sends the extractive answer instead.
    fake_llm.reply(UNSUPPORTED, delta_chars=4)
    page.add_init_script(RECORD)
    page.goto(llm_url)

    page.get_by_label("Your question").fill("How do I reset my password?")
    page.get_by_label("Your question").press("Enter")

    answer = page.locator('.msg.assistant[data-state="done"]')
    expect(answer).to_be_visible()
    seen = [tuple(entry) for entry in page.evaluate("window.__seen")]
    assert ("retracted", "") in seen, seen  # what the LLM had written was discarded
    retracted_at = seen.index(("retracted", ""))
    replacement = {text for state, text in seen[retracted_at:] if state == "streaming"}
    assert len(replacement) >= 2, seen  # then the checked answer streamed in
    final = answer.locator(".answer-text").first.text_content() or ""
    assert "Forgot password" in final and "Send your password" not in final
    expect(answer.locator(".citation").first).to_have_attribute(
        "href", re.compile(r"^https://help\.example\.com/")
    )
    page.screenshot(path=artifacts / "browser-retraction.png")
