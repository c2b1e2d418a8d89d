"""The Runs tab and the report's run picker through AppTest, on a private copy of the seeded
workspace where the demo's API-triggered "Password reset" campaign got 300 API calls over five days
(one run per call, made through core with a clock, as the REST API makes them): the tab shows the
calls per UTC day and the newest 50, the picker offers all calls or one day's; a scheduled campaign
keeps its per-run table, bounded. Every number on the page is compared with DuckDB SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calls_support import make_calls
from core.clock import utc_now
from core.delivery import LATEST_RUNS
from core.enums import Role
from core.report_models import RUNS_LISTED
from core.store import Store
from core.workspace import Workspace
from factories import FakeClock
from test_app_analytics import _page

CALLS = 300


def _sql(db: Path, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return Store.shared(db).cursor().execute(query, params or []).fetchall()


def _campaign(db: Path, name: str) -> int:
    return int(_sql(db, "SELECT c.id FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
                        "AND v.version = c.live_version WHERE v.name = ?", [name])[0][0])


@pytest.fixture
def busy_db(private_db: Path) -> Path:
    """CALLS calls of "Password reset" from five days ago to three hours ago, 1 to 4 profiles each."""
    start = utc_now() - timedelta(days=5, hours=3)
    ws = Workspace(Store.shared(private_db), FakeClock(start))
    admin = next(u for u in ws.users() if u.role is Role.ADMINISTRATOR)
    key, _ = ws.api_keys.create(admin, "Password service", Role.MANAGER)
    make_calls(ws, key, _campaign(private_db, "Password reset"), start, start + timedelta(days=5), CALLS, group=50)
    return private_db


def _per_day(db: Path, campaign_id: int) -> list[tuple[Any, ...]]:
    """day, calls, recipients, sent, excluded, errors per UTC day of the call, newest first."""
    return _sql(db, """
        SELECT CAST(r.due_at AS DATE), count(DISTINCT r.id),
               count(e.event) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')),
               count(e.event) FILTER (WHERE e.event = 'sent'), count(e.event) FILTER (WHERE e.event = 'excluded'),
               count(e.event) FILTER (WHERE e.event = 'error')
        FROM runs r LEFT JOIN delivery_events e ON e.run_id = r.id WHERE r.campaign_id = ?
        GROUP BY ALL ORDER BY 1 DESC""", [campaign_id])


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def test_runs_tab_of_an_api_triggered_campaign_aggregates_calls_per_day(busy_db: Path) -> None:
    cid = _campaign(busy_db, "Password reset")
    at = _page(busy_db, "app_pages/campaign.py", "manager", id=str(cid))
    runs_tab = at.tabs[2]
    assert runs_tab.label == "Runs"
    assert any(m.value.startswith(f"**{CALLS} API calls since ") for m in runs_tab.markdown)
    per_day, latest = runs_tab.dataframe
    want = _per_day(busy_db, cid)
    got = [(_day(r["Day (UTC)"]), r["Calls"], r["Recipients"], r["Sent"], r["Excluded"], r["Errors"])
           for r in per_day.value.to_dict("records")]
    assert got == [tuple(w) for w in want] and len(got) >= 5 and sum(w[1] for w in want) == CALLS
    assert sum(w[4] for w in want) > 0  # some named profiles could not be reached
    newest = _sql(busy_db, """
        SELECT r.id, count(e.event) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')),
               count(e.event) FILTER (WHERE e.event = 'sent')
        FROM runs r LEFT JOIN delivery_events e ON e.run_id = r.id WHERE r.campaign_id = ?
        GROUP BY ALL ORDER BY max(r.due_at) DESC LIMIT ?""", [cid, LATEST_RUNS])
    rows = latest.value.to_dict("records")
    assert [(r["Run"], r["Recipients"], r["Sent"]) for r in rows] == [tuple(n) for n in newest]
    assert {r["API key"] for r in rows} == {"Password service"}
    assert any(c.value.startswith(f"The newest {LATEST_RUNS} of {CALLS} calls.") for c in runs_tab.caption)
    assert runs_tab.get("arrow_vega_lite_chart") or runs_tab.get("vega_lite_chart")  # calls per day, drawn


def test_report_picker_offers_all_calls_or_one_day(busy_db: Path) -> None:
    cid = _campaign(busy_db, "Password reset")
    at = _page(busy_db, "app_pages/report.py", "approver", id=str(cid))
    picker = at.selectbox(key=f"report_day_{cid}")
    want = _per_day(busy_db, cid)
    assert picker.label == "Calls" and picker.value is None
    assert picker.options == [f"All {CALLS} calls", *(f"{d:%Y-%m-%d} · {n} call{'s' if n != 1 else ''}"
                                                      for d, n, *_ in want)]
    assert all(len(s.options) < 100 for s in at.selectbox)  # no picker lists every call
    tables = {m.value.strip("*"): i for i, m in enumerate(at.expander[0].markdown)}
    assert "Calls per day" in tables and f"Calls (the newest {RUNS_LISTED} of {CALLS})" in tables
    day = want[2][0]
    picker.set_value(day).run()
    assert not at.exception, at.exception
    assert any(f"calls of {day:%Y-%m-%d}" in c.value for c in at.caption)
    expected = _sql(busy_db, """
        SELECT count(*) FILTER (WHERE event IN ('excluded', 'sent', 'error')), count(*) FILTER (WHERE event = 'sent'),
               count(*) FILTER (WHERE event = 'delivered'),
               count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'opened')
        FROM delivery_events WHERE run_id IN (SELECT id FROM runs WHERE campaign_id = ? AND CAST(due_at AS DATE) = ?)""",
        [cid, day])[0]
    tiles = {m.label: int(str(m.value).replace(",", "")) for m in at.metric}
    assert (tiles["Targeted"], tiles["Sent"], tiles["Delivered"], tiles["Unique opens"]) == expected
    assert expected[0] > 0
    at.segmented_control(key="report_window").set_value("24h").run()  # the day's calls, last 24 hours
    assert not at.exception, at.exception
    assert at.selectbox(key=f"report_day_{cid}").value == day


def test_a_scheduled_campaign_keeps_a_bounded_per_run_table(private_db: Path) -> None:
    weekly = _campaign(private_db, "Weekly deals digest")
    at = _page(private_db, "app_pages/campaign.py", "viewer", id=str(weekly))
    runs_tab = at.tabs[2]
    [table] = runs_tab.dataframe
    want = _sql(private_db, "SELECT id FROM runs WHERE campaign_id = ? ORDER BY due_at DESC", [weekly])
    assert 0 < len(want) <= LATEST_RUNS and table.value["Run"].tolist() == [w[0] for w in want]
    assert list(table.value.columns)[:5] == ["Run", "Version", "Due (UTC)", "Status", "Recipients"]
    assert not [c for c in runs_tab.caption if "newest" in c.value]

    daily = _campaign(private_db, "Daily trail report")  # many more runs than the tab lists
    ws = Workspace(Store.shared(private_db))
    campaign = ws.campaigns.get(next(u for u in ws.users() if u.role is Role.ADMINISTRATOR), daily)
    first = _sql(private_db, "SELECT min(due_at) FROM runs WHERE campaign_id = ?", [daily])[0][0]
    for i in range(1, LATEST_RUNS + 11):
        ws.delivery.run_at(campaign, first - timedelta(days=i))  # pending, never sent: the scheduler is off
    total = int(_sql(private_db, "SELECT count(*) FROM runs WHERE campaign_id = ?", [daily])[0][0])
    at = _page(private_db, "app_pages/campaign.py", "viewer", id=str(daily))
    [table] = at.tabs[2].dataframe
    newest = _sql(private_db, "SELECT id FROM runs WHERE campaign_id = ? ORDER BY due_at DESC LIMIT ?",
                  [daily, LATEST_RUNS])
    assert table.value["Run"].tolist() == [n[0] for n in newest]
    assert f"The newest {LATEST_RUNS} of {total} runs." in [c.value for c in at.tabs[2].caption]

    report = _page(private_db, "app_pages/report.py", "approver", id=str(weekly))  # few runs: pick one
    runs = report.selectbox(key=f"report_run_{weekly}")
    assert runs.options[0] == f"All {len(want)} runs" and len(runs.options) == len(want) + 1
    report = _page(private_db, "app_pages/report.py", "approver", id=str(daily))  # many: pick a day
    days = report.selectbox(key=f"report_day_{daily}")
    assert days.label == "Runs" and days.options[0] == f"All {total} runs"
    assert len(days.options) == 1 + int(_sql(private_db, "SELECT count(DISTINCT CAST(due_at AS DATE)) FROM runs "
                                                         "WHERE campaign_id = ?", [daily])[0][0])
