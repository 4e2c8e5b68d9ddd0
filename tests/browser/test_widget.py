"""widget.js in a page of another site: one script tag gives a launcher and a chat panel that
answers, sending the host page's path as context. Only the sites `ASSISTANT_CORS_ORIGINS`
names may frame the panel."""

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Page, Request, expect

from api.app import create_app
from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.wiring import build_components
from tests.api.conftest import Served, free_port, serve

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ledgerly docs: getting paid</title></head>
<body>
  <h1>Getting paid</h1>
  <p>Send reminders and accept card payments.</p>
  <script src="{assistant}/widget.js" defer data-title="Ledgerly Help"
          data-product-version="4.2"></script>
</body></html>
"""


def host_site(assistant_url: str) -> FastAPI:
    """A customer's site on another origin that embeds the widget."""
    site = FastAPI()

    @site.get("/docs/getting-paid")
    async def doc_page() -> HTMLResponse:
        return HTMLResponse(HOST_PAGE.format(assistant=assistant_url))

    return site


HOST_PORT = free_port()
# localhost vs 127.0.0.1 (and another port): a different site, as on the web.
HOST_ORIGIN = f"http://localhost:{HOST_PORT}"


@pytest.fixture(scope="module")
def embedding_site_allowed(
    corpus_settings: Settings, real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The assistant over a copy of the test corpus's index (the session's server holds the
    original), with the host site among its origins; yields its base URL."""
    data = tmp_path_factory.mktemp("widget") / "data"
    shutil.copytree(corpus_settings.data_dir, data)
    settings = corpus_settings.model_copy(update={"data_dir": data, "cors_origins": HOST_ORIGIN})
    app = create_app(
        settings, components_factory=lambda s: build_components(s, embedder=real_embedder)
    )
    with serve(app) as url:
        yield url


def test_widget_on_another_site_opens_and_answers(
    page: Page, embedding_site_allowed: str, artifacts: Path
) -> None:
    assistant = embedding_site_allowed
    chats: list[Request] = []
    page.on("request", lambda r: chats.append(r) if r.url == f"{assistant}/v1/chat" else None)
    with serve(host_site(assistant), port=HOST_PORT) as site_url:
        site_url = site_url.replace("127.0.0.1", "localhost")
        page.goto(f"{site_url}/docs/getting-paid")
        launcher = page.get_by_role("button", name="Help", exact=True)
        expect(launcher).to_have_attribute("aria-expanded", "false")

        launcher.click()
        frame = page.frame_locator('iframe[title="Ledgerly Help"]')
        question = frame.get_by_label("Your question")
        expect(question).to_be_focused()
        question.fill("How do I reset my password?")
        question.press("Enter")

        expect(frame.locator('.msg.assistant[data-state="done"]')).to_be_visible(timeout=30_000)
        expect(frame.locator(".answer-text").first).to_contain_text("Forgot password")
        expect(frame.locator(".citation").first).to_have_attribute(
            "href", re.compile(r"^https://help\.example\.com/articles/reset-password")
        )
        assert chats
        assert chats[-1].post_data_json["context"] == {"page": "/docs/getting-paid"}
        assert chats[-1].post_data_json["product_version"] == "4.2"
        page.screenshot(path=artifacts / "browser-widget.png")

        # Escape inside the panel closes it and gives the focus back to the launcher.
        question.press("Escape")
        expect(page.get_by_role("dialog", name="Ledgerly Help")).to_be_hidden()
        expect(launcher).to_be_focused()


def test_contact_support_in_the_widget_is_counted_for_the_host_page(
    page: Page, embedding_site_allowed: str
) -> None:
    assistant = embedding_site_allowed
    since = dt.datetime.now(dt.UTC)
    with serve(host_site(assistant), port=HOST_PORT) as site_url:
        page.goto(f"{site_url.replace('127.0.0.1', 'localhost')}/docs/getting-paid")
        page.get_by_role("button", name="Help", exact=True).click()
        frame = page.frame_locator('iframe[title="Ledgerly Help"]')
        frame.get_by_label("Your question").fill("How do I reset my password?")
        frame.get_by_label("Your question").press("Enter")
        expect(frame.locator('.msg.assistant[data-state="done"]')).to_be_visible(timeout=30_000)
        frame.get_by_role("button", name="Contact support").click()
        expect(frame.locator(".handover-note")).to_contain_text("support team")

    report = httpx.get(
        f"{assistant}/v1/analytics/resolution",
        params={"since": since.isoformat()},
        headers={"Authorization": "Bearer emp-secret"},
        timeout=60,
    ).json()
    assert [(s["value"], s["conversations"], s["escalated"]) for s in report["by_page"]] == [
        ("/docs/getting-paid", 1, 1)
    ]


def test_a_site_the_settings_do_not_name_cannot_frame_the_chat_page(
    page: Page, served: Served
) -> None:
    """Clickjacking: a site `ASSISTANT_CORS_ORIGINS` does not name gets the launcher, but the
    browser refuses to show the chat page in its frame."""
    with serve(host_site(served.url)) as site_url:
        page.goto(f"{site_url.replace('127.0.0.1', 'localhost')}/docs/getting-paid")
        refusal = page.expect_console_message(lambda m: "frame-ancestors" in m.text)
        with refusal as message:
            page.get_by_role("button", name="Help", exact=True).click()
        assert "has been blocked" in message.value.text
        frame = page.frame_locator('iframe[title="Ledgerly Help"]')
        expect(frame.get_by_label("Your question")).to_have_count(0)
