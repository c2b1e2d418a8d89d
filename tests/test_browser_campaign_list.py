"""The real app in Debian's Chromium: the list's default filter, the cleared filter, a selected row."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.enums import DEFAULT_LIST_STATUSES, Status

pytestmark = pytest.mark.browser


def _pill(page: Page, status: Status):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stButtonGroup"] button', has_text=f"{status.label} ·")


def _visible_statuses(page: Page) -> set[str]:
    cells = page.locator('[data-testid^="glide-cell-2-"]')
    return {text.removesuffix(" · open draft") for text in cells.all_inner_texts()}


def test_list_default_filter_then_cleared(
    page: Page, app_url: str, server_counts: dict[str, int], screenshots: Path
) -> None:
    total = sum(server_counts.values())
    default = sum(server_counts.get(s.value, 0) for s in DEFAULT_LIST_STATUSES)
    page.goto(app_url)
    expect(page.get_by_text(f"Showing {default} of {total} campaigns")).to_be_visible(timeout=30_000)
    for status in Status:
        expect(_pill(page, status)).to_have_attribute(
            "aria-pressed", "true" if status in DEFAULT_LIST_STATUSES else "false"
        )
        expect(_pill(page, status)).to_contain_text(f"{status.label} · {server_counts.get(status.value, 0)}")
    expect(page.locator('[data-testid="glide-cell-1-0"]')).to_be_attached()
    assert _visible_statuses(page) <= {"Draft", "Scheduled", "Live"}
    page.screenshot(path=screenshots / "list-default.png", full_page=True)

    for status in DEFAULT_LIST_STATUSES:
        _pill(page, status).click()
        expect(_pill(page, status)).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_text(f"Showing {total} of {total} campaigns")).to_be_visible()
    expect(page.get_by_text("every status")).to_be_visible()
    page.screenshot(path=screenshots / "list-cleared.png", full_page=True)
    for name, status in (("Legacy SMS reminder", "Failed"), ("Weekly stock alerts", "Stopped"),
                         ("Spring sale 2026", "Archived")):
        page.get_by_label("Search by name").fill(name)
        page.keyboard.press("Enter")
        expect(page.locator('[data-testid="glide-cell-1-0"]')).to_have_text(name)
        expect(page.locator('[data-testid="glide-cell-2-0"]')).to_have_text(status)
    expect(page.get_by_label("Signed in as")).to_have_value("Mia Manager · Manager")


def _open(page: Page, app_url: str, name: str, extra_status: Status | None = None, navigate: bool = True) -> None:
    """Find one campaign by name in the list and select its row (in this session if not `navigate`)."""
    if navigate:
        page.goto(app_url)
    expect(page.get_by_text("Showing")).to_be_visible(timeout=30_000)
    page.get_by_label("Search by name").fill(name)
    page.keyboard.press("Enter")
    if extra_status is not None:
        _pill(page, extra_status).click()
    expect(page.get_by_text("Showing 1 of")).to_be_visible()
    expect(page.locator('[data-testid="glide-cell-1-0"]')).to_have_text(name)
    history = page.get_by_role("tab", name="History")
    for _ in range(3):  # the grid may still be settling after the filter's rerun
        box = page.locator('[data-testid="data-grid-canvas"]').bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection box
        try:
            expect(history).to_be_visible(timeout=4_000)
            break
        except AssertionError:
            continue
    expect(history).to_be_visible()


def test_selecting_a_row_shows_details_history_and_actions(page: Page, app_url: str, screenshots: Path) -> None:
    _open(page, app_url, "Holiday gift guide", Status.IN_REVIEW)
    expect(page.locator("strong", has_text="In review")).to_be_visible()
    # Mia is a Manager: she may cancel the review she requested, never approve it.
    expect(page.get_by_role("button", name="Cancel review")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("[role=gridcell]", has_text="request approval").first).to_be_attached()
    page.screenshot(path=screenshots / "list-selected.png", full_page=True)


def test_a_live_campaign_lists_its_runs(page: Page, app_url: str, screenshots: Path) -> None:
    _open(page, app_url, "Weekly deals digest")
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator("[role=gridcell]", has_text="finished").first).to_be_attached()
    page.screenshot(path=screenshots / "campaign-runs.png", full_page=True)


def test_the_app_scheduler_activates_and_sends(page: Page, app_url: str, screenshots: Path) -> None:
    """The seed leaves one activation in progress; the app's own scheduler thread finishes it and sends."""
    _open(page, app_url, "Gift card reminder")
    expect(page.locator("strong", has_text="Live")).to_be_visible()
    page.get_by_role("tab", name="Runs").click()
    finished = page.locator("[role=gridcell]", has_text="finished").first
    for _ in range(10):  # the thread's first pass may still be sending
        try:
            expect(finished).to_be_attached(timeout=3_000)
            break
        except AssertionError:
            page.reload()
            _open(page, app_url, "Gift card reminder")
            page.get_by_role("tab", name="Runs").click()
    expect(finished).to_be_attached()
