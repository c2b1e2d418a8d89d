"""The Audiences page in Debian's Chromium: sizes, the live estimate, overlap heatmap."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_audiences_builder_and_overlap(page: Page, app_url: str, screenshots: Path) -> None:
    page.goto(app_url)
    expect(page.get_by_text("Showing")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Audiences").click()
    expect(page.get_by_role("heading", name="Audiences")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Estimated size")).to_be_visible(timeout=30_000)
    before = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    page.get_by_role("button", name="Add condition").click()
    expect(page.get_by_label("Attribute")).to_have_count(2)
    page.get_by_label("Attribute").nth(1).click()
    page.get_by_role("option", name="Age", exact=True).click()
    expect(page.get_by_text("Estimated size")).to_be_visible()
    expect(page.locator('[data-testid="stMetricValue"]').first).not_to_have_text(before)
    page.screenshot(path=screenshots / "audiences-builder.png", full_page=True)
    page.get_by_role("tab", name="Overlap").click()
    expect(page.locator('[data-testid="stVegaLiteChart"]').last).to_be_visible()
    page.wait_for_timeout(1000)
    page.screenshot(path=screenshots / "audiences-overlap.png", full_page=True)
