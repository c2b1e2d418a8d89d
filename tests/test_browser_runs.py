"""A busy API-triggered campaign in a real browser: the demo's "Password reset" after 20,000 API
calls over twelve days, served from its own copy of the seeded workspace. The Runs tab shows calls
per day and the newest calls, the report's picker offers all calls or one day's. Screenshots of
each are saved."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from calls_support import make_calls
from conftest import serve
from core.clock import utc_now
from core.enums import Role
from core.store import Store
from core.workspace import Workspace
from factories import FakeClock

pytestmark = pytest.mark.browser
CALLS = 20_000


@pytest.fixture(scope="module")
def busy(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(the server's URL, the campaign's id): CALLS calls, made through core before the server starts."""
    Store.shared(seeded_db).cursor().execute("CHECKPOINT")
    path = tmp_path_factory.mktemp("busy") / "herald.duckdb"
    shutil.copy(seeded_db, path)
    store = Store(path)
    try:
        now = utc_now()
        ws = Workspace(store, FakeClock(now))
        admin = next(u for u in ws.users() if u.role is Role.ADMINISTRATOR)
        key, _ = ws.api_keys.create(admin, "Password service", Role.MANAGER)
        cid = int(store.cursor().execute(
            "SELECT c.id FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
            "AND v.version = c.live_version WHERE v.name = 'Password reset'").fetchall()[0][0])
        make_calls(ws, key, cid, now - timedelta(days=12), now - timedelta(minutes=5), CALLS)
        store.cursor().execute("CHECKPOINT")
    finally:
        store.close()
    for url in serve(path):
        yield url, cid


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Signed in as").click()
    page.get_by_role("option", name=name).click()
    expect(page.get_by_label("Signed in as")).to_have_value(name)


def test_runs_tab_and_report_of_a_busy_api_campaign(page: Page, busy: tuple[str, int], screenshots: Path) -> None:
    url, cid = busy
    page.set_viewport_size({"width": 1500, "height": 2000})  # Streamlit scrolls inside: show it all
    _sign_in(page, f"{url}/campaign?id={cid}", "Ari Approver · Approver")
    page.get_by_role("tab", name="Runs").click()
    expect(page.get_by_text(f"{CALLS:,} API calls since", exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("The newest 50 of 20,000 calls.", exact=False)).to_be_visible()
    expect(page.locator("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg").first)\
        .to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshots / "campaign-runs-api.png", full_page=True)

    page.set_viewport_size({"width": 1500, "height": 3000})
    page.goto(f"{url}/report?id={cid}")
    page.get_by_label("Signed in as").click()
    page.get_by_role("option", name="Ari Approver · Approver").click()
    picker = page.get_by_label("Calls", exact=True)
    expect(picker).to_have_value(f"All {CALLS:,} calls", timeout=60_000)
    expect(page.locator("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg").first)\
        .to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshots / "report-api-all-calls.png", full_page=True)

    picker.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    assert 12 <= options.count() <= 14  # all calls, then one entry per day: never one per call
    options.nth(2).click()
    expect(page.get_by_text("calls of ", exact=False).first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshots / "report-api-one-day.png", full_page=True)
    page.get_by_text("Tables", exact=True).click()
    expect(page.get_by_text("Calls per day", exact=True)).to_be_visible()
    page.set_viewport_size({"width": 1500, "height": 6000})
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshots / "report-api-tables.png", full_page=True)
