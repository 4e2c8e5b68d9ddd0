"""Chromium (Debian's `chromium`, driven by Playwright) against a real uvicorn server over the
ingested test corpus. Screenshots go to test-artifacts/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.api import conftest as api_fixtures
from tests.api.conftest import Served

# The API tests' server fixtures: the corpus ingested with real MiniLM, served by uvicorn.
corpus_settings = api_fixtures.corpus_settings
served = api_fixtures.served
_quiet_access_log = api_fixtures._quiet_access_log

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# No sandbox (containers and CI run as root), and nothing that phones home: the machine is offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for tests/browser, closed when they are done: Playwright's sync API keeps
    an event loop running in the main thread meanwhile, which asyncio.run() elsewhere refuses."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(`sudo apt-get install -y chromium`, which `make test` does for you). "
            "To run the other tests without it: pytest -m 'not browser'.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, served: Served) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ (gitignored), emptied of old screenshots once per run."""
    for old in ARTIFACTS.glob("browser-*.png"):
        old.unlink()
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
