"""A Manager creates a campaign through every wizard step and requests approval; an Approver
approves it from the list and it goes Live. Every step is saved as a screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.enums import Status
from test_browser_campaign_list import _open

pytestmark = pytest.mark.browser
NAME = "Browser-made welcome"


def _next(page: Page, heading: str, screenshots: Path, shot: str) -> None:
    page.screenshot(path=screenshots / f"wizard-{shot}.png", full_page=True)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text(heading, exact=True).first).to_be_visible()


def test_manager_creates_approver_approves(page: Page, app_url: str, screenshots: Path) -> None:
    page.goto(app_url)
    expect(page.get_by_text("Showing")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_text("Purpose")).to_be_visible(timeout=30_000)
    _next(page, "Name", screenshots, "1-type")
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Tags (comma-separated)").fill("welcome, onboarding")
    page.keyboard.press("Tab")
    _next(page, "Configuration", screenshots, "2-properties")
    _next(page, "Audience size (now)", screenshots, "3-channel")
    _next(page, "Body", screenshots, "4-audience")
    page.get_by_label("Subject").fill("Welcome, {{profile.first_name|friend}}")
    page.get_by_label("Body").fill("Hi {{profile.first_name|there}}, welcome to Herald Outdoor in {{profile.city}}.")
    page.keyboard.press("Tab")
    expect(page.get_by_text("Preview for profile").first).to_be_visible()
    _next(page, "When", screenshots, "5-content")
    expect(page.get_by_text("Next sends (UTC)")).to_be_visible()
    page.screenshot(path=screenshots / "wizard-6-schedule.png", full_page=True)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Ready: nothing blocks this campaign.")).to_be_visible()
    expect(page.get_by_role("button", name="Request approval")).to_be_visible()
    expect(page.get_by_text("Next sends (UTC)")).to_have_count(0)  # the Schedule step has gone
    expect(page.locator('[data-testid="glide-cell-1-0"]')).to_be_attached()
    page.wait_for_timeout(500)  # the summary grid paints after its cells exist
    page.screenshot(path=screenshots / "wizard-7-review.png", full_page=True)
    page.get_by_role("button", name="Request approval").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible(timeout=30_000)

    page.get_by_label("Signed in as").click()
    page.get_by_role("option", name="Ari Approver · Approver").click()
    expect(page.get_by_label("Signed in as")).to_have_value("Ari Approver · Approver")
    _open(page, app_url, NAME, extra_status=Status.IN_REVIEW, navigate=False)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("[role=gridcell]", has_text="Live").first).to_be_attached(timeout=15_000)
    page.screenshot(path=screenshots / "wizard-8-approved-live.png", full_page=True)


def test_calendar_month_and_week(page: Page, app_url: str, screenshots: Path) -> None:
    page.goto(f"{app_url}/calendar")
    expect(page.get_by_text(" sends of ")).to_be_visible(timeout=30_000)
    page.screenshot(path=screenshots / "calendar-month.png", full_page=True)
    page.get_by_role("radio", name="Week").click()
    expect(page.get_by_text("Week of")).to_be_visible()
    page.screenshot(path=screenshots / "calendar-week.png", full_page=True)
    link = page.locator("[data-testid=stPageLink] a").filter(has_text=":").first
    name = link.inner_text().split(" ", 2)[-1].split(" · ")[0]
    link.click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid=stDataFrame]").first).to_be_visible()
    expect(page.get_by_text("All campaigns")).to_be_visible()
    page.wait_for_timeout(1000)  # the history grid paints its cells after it appears
    page.screenshot(path=screenshots / "campaign-page.png", full_page=True)
