"""The knowledge-gap view in Chromium: an employee key shows the groups and the chart; other
keys get a clear message."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from evals.cases import load_cases
from tests.api.conftest import Served

pytestmark = pytest.mark.browser

PAYROLL = ["How do I run payroll for my employees?", "payroll setup for my staff"]


def test_employee_sees_groups_and_chart(page: Page, served: Served, artifacts: Path) -> None:
    for question in PAYROLL:
        httpx.post(f"{served.url}/v1/chat", json={"message": question}, timeout=60)
    page.goto(f"{served.url}/static/gaps.html")
    page.get_by_label("Employee API key").fill("emp-secret")
    page.get_by_role("button", name="Show report").click()

    group = page.locator(".group").filter(has_text="payroll").first
    expect(group).to_be_visible()
    expect(group).to_contain_text("No content: write it.")
    expect(page.locator("#summary")).to_contain_text("questions")
    chart = page.locator("#chart")
    expect(chart).to_be_visible()
    # A function, not an expression string: the page's policy forbids evaluating strings.
    page.wait_for_function("() => document.getElementById('chart').naturalWidth > 0")
    assert "largest gap groups" in (chart.get_attribute("alt") or "")
    page.screenshot(path=artifacts / "browser-gaps.png", full_page=True)

    with page.expect_download() as download:
        group.get_by_role("button", name="as eval cases").click()
    saved = artifacts / download.value.suggested_filename
    download.value.save_as(saved)
    cases = load_cases(saved)
    assert {c.turns[0].question for c in cases} >= set(PAYROLL)


def test_a_customer_key_gets_told_what_is_needed(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/static/gaps.html")
    page.get_by_label("Employee API key").fill("public-key")
    page.get_by_role("button", name="Show report").click()
    expect(page.locator("#status")).to_contain_text("needs an employee (internal) API key")
    expect(page.locator("#report")).to_be_hidden()
