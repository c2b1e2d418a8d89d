"""The analytics pages in a real browser, as an Approver: the report (with a PNG and the one-file
export downloaded), the comparison and the overview. Screenshots of each are saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _as_approver(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Signed in as").click()
    page.get_by_role("option", name="Ari Approver · Approver").click()
    expect(page.get_by_label("Signed in as")).to_have_value("Ari Approver · Approver")


def _settle(page: Page) -> None:
    """Charts draw after their data arrives: wait for every Vega canvas, then a beat for paint."""
    expect(page.locator("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)


def test_report_compare_overview(page: Page, app_url: str, screenshots: Path, tmp_path: Path) -> None:
    _as_approver(page, app_url)
    page.get_by_role("link", name="Campaign report").click()
    expect(page.get_by_text("Delivered", exact=True).first).to_be_visible(timeout=60_000)
    _settle(page)
    page.screenshot(path=screenshots / "analytics-report.png", full_page=True)
    with page.expect_download() as png:
        page.get_by_role("button", name="Download PNG").first.click()
    assert png.value.suggested_filename == "delivery-funnel.png"
    saved = tmp_path / "funnel.png"
    png.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as report:
        page.get_by_role("button", name="Download the whole report (HTML)").click()
    html = tmp_path / "report.html"
    report.value.save_as(html)
    text = html.read_text()
    assert "<h1>" in text and "data:image/png;base64," in text

    page.get_by_role("link", name="Compare").click()
    expect(page.get_by_text("Rates side by side").first).to_be_attached(timeout=60_000)
    _settle(page)
    page.screenshot(path=screenshots / "analytics-compare.png", full_page=True)

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("Top campaigns by click-through").first).to_be_visible(timeout=60_000)
    _settle(page)
    page.screenshot(path=screenshots / "analytics-overview.png", full_page=True)


def test_administration_page(page: Page, app_url: str, screenshots: Path) -> None:
    page.goto(app_url)
    page.get_by_label("Signed in as").click()
    page.get_by_role("option", name="Ada Admin · Administrator").click()
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_text("Add a configuration")).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="glide-cell-1-0"]').first).to_be_attached()
    page.wait_for_timeout(800)
    page.screenshot(path=screenshots / "admin-configurations.png", full_page=True)
