"""Many runs, bounded views: an API-triggered campaign records one run per call (a busy password
reset makes tens of thousands), so the Runs tab (`Delivery.runs_overview`) and the report's run
scopes (`Analytics.report(..., day=)`, `run_days`, `report.days`, `report.runs`) aggregate per UTC
day and list only the newest runs. Every figure is checked against hand-written DuckDB SQL over the
generated calls' own tables (written from the definitions, not derived from core)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from core import charts
from core.delivery import LATEST_RUNS
from core.enums import Recurrence, Role, Status
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.export import report_html
from core.report_models import DAY_COUNTS, RUNS_LISTED
from api_support import ApiWorld, build_api_world
from test_analytics import close
from factories import make
from test_statistics import COUNTS_SQL, rates_sql

CALLS = 300
DAYS = 6
EPOCH = datetime(1970, 1, 1)

# Per UTC day of the runs' due time: the runs, and their disposition events (one per recipient).
OVERVIEW_DAYS_SQL = """
SELECT CAST(r.due_at AS DATE) AS day, count(DISTINCT r.id) AS runs,
    count(e.event) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')) AS targeted,
    count(e.event) FILTER (WHERE e.event = 'sent') AS sent,
    count(e.event) FILTER (WHERE e.event = 'excluded') AS excluded,
    count(e.event) FILTER (WHERE e.event = 'error') AS errors,
    min(r.due_at) AS first_at, max(r.due_at) AS last_at
FROM runs r LEFT JOIN delivery_events e ON e.run_id = r.id
WHERE r.campaign_id = $campaign GROUP BY ALL ORDER BY day DESC"""
LATEST_SQL = """
SELECT r.id, r.due_at, r.status::VARCHAR AS status, r.version, k.name AS api_key,
    count(e.event) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')) AS targeted,
    count(e.event) FILTER (WHERE e.event = 'sent') AS sent,
    count(e.event) FILTER (WHERE e.event = 'excluded') AS excluded,
    count(e.event) FILTER (WHERE e.event = 'error') AS errors
FROM runs r LEFT JOIN delivery_events e ON e.run_id = r.id LEFT JOIN api_keys k ON k.id = r.api_key_id
WHERE r.campaign_id = $campaign GROUP BY ALL ORDER BY r.due_at DESC LIMIT $n"""
RATES_SQL = rates_sql("delivery_rate", "unique_open_rate", "unique_click_rate")
# The runs due on a day, or every run when $day is null.
SCOPE = "(SELECT id FROM runs WHERE campaign_id = $campaign AND ($day IS NULL OR CAST(due_at AS DATE) = $day))"
FIGURES_SQL = f"""
SELECT *, {RATES_SQL} FROM (
    SELECT {COUNTS_SQL} FROM delivery_events
    WHERE campaign_id = $campaign AND run_id IN {SCOPE} AND occurred_at >= $since
)"""
REPORT_DAYS_SQL = f"""
WITH days AS (
    SELECT CAST(due_at AS DATE) AS day, count(*) AS runs, min(due_at) AS first_at, max(due_at) AS last_at
    FROM runs WHERE campaign_id = $campaign AND ($day IS NULL OR CAST(due_at AS DATE) = $day) GROUP BY 1
), activity AS (
    SELECT CAST(r.due_at AS DATE) AS day, {COUNTS_SQL}
    FROM delivery_events JOIN runs r ON r.id = run_id
    WHERE delivery_events.campaign_id = $campaign AND occurred_at >= $since GROUP BY 1
)
SELECT *, {RATES_SQL} FROM (
    SELECT days.*, {", ".join(f"coalesce(a.{c}, 0) AS {c}" for c in DAY_COUNTS)}
    FROM days LEFT JOIN activity a USING (day)
) WHERE NOT $windowed OR targeted + delivered + bounced + unique_opens + unique_clicks + unsubscribes > 0
ORDER BY day DESC"""
PER_RUN_SQL = f"""
SELECT r.id AS run_id, r.due_at, count(e.event) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')) AS targeted,
    count(e.event) FILTER (WHERE e.event = 'sent') AS sent, count(e.event) FILTER (WHERE e.event = 'delivered') AS delivered,
    count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'opened') AS unique_opens,
    count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'clicked') AS unique_clicks
FROM runs r LEFT JOIN delivery_events e ON e.run_id = r.id AND e.occurred_at >= $since
WHERE r.id IN {SCOPE} GROUP BY ALL ORDER BY r.due_at DESC LIMIT $n"""
BREAKDOWN_SQL = f"""
SELECT p.country AS country, count(*) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')) AS targeted,
    count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'clicked') AS unique_clicks
FROM delivery_events e LEFT JOIN profiles p ON p.profile_id = e.profile_id
WHERE e.campaign_id = $campaign AND e.run_id IN {SCOPE} GROUP BY ALL"""


def sql(world: ApiWorld, text: str, **params: Any) -> list[dict[str, Any]]:
    cur = world.ws.store.cursor()
    rows = cur.execute(text, params).fetchall()
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in rows]


def same(got: pl.DataFrame, want: list[dict[str, Any]], what: object = "") -> None:
    """Row by row, in order, every column of `want`."""
    rows = got.to_dicts()
    assert len(rows) == len(want), (what, len(rows), len(want))
    for g, w in zip(rows, want):
        for name, value in w.items():
            close(g[name], value, (what, name, w))


def call_many(world: ApiWorld, calls: int = CALLS, days: int = DAYS, seed: int = 5) -> None:
    """`calls` API calls spread evenly over `days` days up to the clock's start, 1 to 4 recipients
    each (some unreachable, so excluded), by a Manager's and an Administrator's key."""
    clock, rng = world.world.clock, random.Random(seed)
    profiles = world.ws.audiences.profiles().get_column("profile_id").to_list()
    keys = [world.keys[Role.MANAGER][0], world.keys[Role.ADMINISTRATOR][0]]
    step = timedelta(days=days) / calls
    for i in range(calls):
        clock.tick(seconds=step.total_seconds())
        chosen = rng.sample(profiles, rng.randint(1, 4))
        key = keys[1] if i % 7 == 0 else keys[0]
        world.ws.triggers.trigger(key, world.campaign.id,
                                  {"recipients": [{"profile_id": p} for p in chosen], "context": {"code": str(i)}})


@pytest.fixture(scope="module")
def busy() -> Iterator[ApiWorld]:
    """The API world's password-reset campaign after CALLS calls over DAYS days (Jan 5-11 2026)."""
    found = build_api_world()
    call_many(found)
    yield found
    found.world.store.close()


def _days(world: ApiWorld) -> list[date]:
    return [r["day"] for r in sql(world, OVERVIEW_DAYS_SQL, campaign=world.campaign.id)]


# ------------------------------------------------------------------------------------------------
# The Runs tab: Delivery.runs_overview


def test_runs_overview_of_api_calls_equals_sql(busy: ApiWorld) -> None:
    cid = busy.campaign.id
    overview = busy.ws.delivery.runs_overview(busy.world.viewer, cid)
    assert overview.triggered and overview.total == CALLS == sql(busy, "SELECT count(*) AS n FROM runs")[0]["n"]
    want_days = sql(busy, OVERVIEW_DAYS_SQL, campaign=cid)
    assert overview.day_count == len(want_days) == DAYS + 1  # 300 calls from 09:00 on day 1 to 09:00 on day 7
    assert overview.days is not None and overview.days.columns == [
        "day", "runs", "targeted", "sent", "excluded", "errors", "first_at", "last_at"]
    same(overview.days, want_days, "days")
    assert sum(r["excluded"] for r in want_days) > 0 and sum(r["sent"] for r in want_days) > 0
    assert overview.recent.height == LATEST_RUNS and overview.hidden == CALLS - LATEST_RUNS
    same(overview.recent, sql(busy, LATEST_SQL, campaign=cid, n=LATEST_RUNS), "latest")
    assert set(overview.recent.get_column("api_key")) == {"Manager service", "Administrator service"}


def test_calls_per_day_chart_draws_the_overview(busy: ApiWorld) -> None:
    overview = busy.ws.delivery.runs_overview(busy.world.viewer, busy.campaign.id)
    assert overview.days is not None
    spec = charts.calls_per_day(overview.days).to_dict()
    assert spec["title"]["text"] == "API calls per day"
    assert spec["encoding"]["y"]["field"] == "runs" and spec["encoding"]["x"]["timeUnit"] == "yearmonthdate"
    [rows] = spec["datasets"].values()
    assert [r["runs"] for r in rows] == overview.days.get_column("runs").to_list()
    assert {t["title"] for t in spec["encoding"]["tooltip"]} == {
        "Day (UTC)", "Calls", "Recipients", "Sent", "Excluded", "Errors"}


def test_runs_overview_is_bounded_and_follows_new_calls(busy: ApiWorld) -> None:
    cid = busy.campaign.id
    small = busy.ws.delivery.runs_overview(busy.world.viewer, cid, latest=7, max_days=2)
    assert small.recent.height == 7 and small.hidden == CALLS - 7
    assert small.days is not None and small.days.height == 2 and small.day_count == DAYS + 1
    same(small.days, sql(busy, OVERVIEW_DAYS_SQL, campaign=cid)[:2])
    with pytest.raises(InvalidInput):
        busy.ws.delivery.runs_overview(busy.world.viewer, cid, latest=0)


def test_runs_overview_permissions_and_unknown_campaign(busy: ApiWorld) -> None:
    with pytest.raises(PermissionDenied):
        busy.ws.delivery.runs_overview(busy.world.nobody, busy.campaign.id)
    with pytest.raises(NotFound):
        busy.ws.delivery.runs_overview(busy.world.viewer, 99_999)
    for role in (Role.VIEWER, Role.MANAGER, Role.APPROVER, Role.ADMINISTRATOR):
        assert busy.ws.delivery.runs_overview(busy.world.user(role), busy.campaign.id).total == CALLS


def test_a_new_call_shows_at_once() -> None:
    world = build_api_world()
    try:
        call_many(world, calls=12, days=1)
        before = world.ws.delivery.runs_overview(world.world.viewer, world.campaign.id)
        assert before.total == 12 and before.hidden == 0
        call_many(world, calls=1, days=1, seed=9)
        after = world.ws.delivery.runs_overview(world.world.viewer, world.campaign.id)
        assert after.total == 13 and after.recent.get_column("due_at")[0] == world.world.clock.now
        same(after.days, sql(world, OVERVIEW_DAYS_SQL, campaign=world.campaign.id))  # type: ignore[arg-type]
    finally:
        world.world.store.close()


def test_a_scheduled_campaign_lists_its_newest_runs_only() -> None:
    world = build_api_world()
    try:
        w = world.world
        campaign = make(w, Status.LIVE, recurrence=Recurrence.DAILY)
        start = w.clock.now - timedelta(days=90)
        for i in range(LATEST_RUNS + 12):
            w.ws.delivery.run_at(campaign, start + timedelta(days=i))
        overview = w.ws.delivery.runs_overview(w.viewer, campaign.id)
        total = sql(world, "SELECT count(*) AS n FROM runs WHERE campaign_id = $c", c=campaign.id)[0]["n"]
        assert not overview.triggered and overview.days is None and overview.day_count == 0
        assert overview.total == total > LATEST_RUNS and overview.recent.height == LATEST_RUNS
        want = sql(world, "SELECT id, due_at, status::VARCHAR AS status, total, processed FROM runs "
                          "WHERE campaign_id = $c ORDER BY due_at DESC LIMIT $n", c=campaign.id, n=LATEST_RUNS)
        same(overview.recent, want)
        assert overview.recent.get_column("api_key").null_count() == LATEST_RUNS
    finally:
        world.world.store.close()


# ------------------------------------------------------------------------------------------------
# The report: a day's calls, calls per day, the newest calls


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_report_of_one_days_calls_equals_sql(busy: ApiWorld, last_24h: bool) -> None:
    cid, analytics = busy.campaign.id, busy.ws.analytics
    days = _days(busy)
    since = busy.world.clock.now.replace(second=0, microsecond=0) - timedelta(hours=24) if last_24h else EPOCH
    checked = 0
    for day in (days[0], days[1], days[3], days[-1]):
        report = analytics.report(busy.world.viewer, cid, last_24h=last_24h, day=day)
        assert report.day == day and report.triggered and report.scope == f"calls of {day:%Y-%m-%d}"
        want = sql(busy, FIGURES_SQL, campaign=cid, day=day, since=since)[0]
        for name in ("targeted", "excluded", "sent", "errors", "delivered", "bounced", "opens", "unique_opens",
                     "clicks", "unique_clicks", "unsubscribes", "delivery_rate", "unique_open_rate",
                     "unique_click_rate"):
            close(report.figures[name], want[name], (day, name))
        assert report.every == "1h"  # a day's calls hour by hour
        assert report.timeline.get_column("delivered").sum() == want["delivered"]
        assert report.run_count == sql(busy, f"SELECT count(*) AS n FROM {SCOPE}", campaign=cid, day=day)[0]["n"]
        checked += want["targeted"] + want["delivered"]
    assert checked > 0
    everything = analytics.report(busy.world.viewer, cid, last_24h=last_24h)
    want = sql(busy, FIGURES_SQL, campaign=cid, day=None, since=since)[0]
    close(everything.figures["targeted"], want["targeted"])
    assert everything.scope == "all calls" and everything.run_count == CALLS


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_report_calls_per_day_equal_sql(busy: ApiWorld, last_24h: bool) -> None:
    cid = busy.campaign.id
    since = busy.world.clock.now.replace(second=0, microsecond=0) - timedelta(hours=24) if last_24h else EPOCH
    report = busy.ws.analytics.report(busy.world.approver, cid, last_24h=last_24h)
    assert report.days is not None and report.days.columns == [
        "day", "runs", "first_at", "last_at", *DAY_COUNTS, "delivery_rate", "unique_open_rate", "unique_click_rate"]
    want = sql(busy, REPORT_DAYS_SQL, campaign=cid, day=None, since=since, windowed=last_24h)
    same(report.days, want, "days")
    if last_24h:
        assert 0 < report.days.height < DAYS + 1  # only the days whose calls saw activity in the window
    else:
        assert report.days.get_column("runs").sum() == CALLS and report.days.height == DAYS + 1
        figures = report.figures
        for name in DAY_COUNTS:  # the days add up to the campaign, unique opens and clicks included
            assert report.days.get_column(name).sum() == figures[name], name
    day = _days(busy)[2]
    one = busy.ws.analytics.report(busy.world.approver, cid, last_24h=last_24h, day=day)
    same(one.days, sql(busy, REPORT_DAYS_SQL, campaign=cid, day=day, since=since, windowed=last_24h), "one day")


def test_report_lists_only_the_newest_calls(busy: ApiWorld) -> None:
    cid = busy.campaign.id
    for day, last_24h in ((None, False), (None, True), (_days(busy)[1], False)):
        report = busy.ws.analytics.report(busy.world.viewer, cid, last_24h=last_24h, day=day)
        since = report.since or EPOCH
        want = sql(busy, PER_RUN_SQL, campaign=cid, day=day, since=since, n=RUNS_LISTED)
        assert report.runs.height == min(RUNS_LISTED, report.run_count) == len(want)
        same(report.runs, want, (day, last_24h))
    tables = busy.ws.analytics.report(busy.world.viewer, cid).run_tables()
    assert list(tables) == ["Calls per day", f"Calls (the newest {RUNS_LISTED} of {CALLS})"]
    assert tables["Calls per day"].columns[:4] == ["day", "calls", "first_call", "last_call"]


def test_day_scope_breakdown_and_run_days_equal_sql(busy: ApiWorld) -> None:
    cid = busy.campaign.id
    listed = busy.ws.analytics.run_days(busy.world.viewer, cid)
    want = sql(busy, OVERVIEW_DAYS_SQL, campaign=cid)
    same(listed, [{k: r[k] for k in ("day", "runs", "first_at", "last_at")} for r in want])
    day = listed.get_column("day")[3]
    got = busy.ws.analytics.breakdown(busy.world.viewer, cid, attribute="country", day=day)
    rows = {r["country"]: r for r in sql(busy, BREAKDOWN_SQL, campaign=cid, day=day)}
    assert set(got.get_column("country").to_list()) == set(rows)
    for row in got.iter_rows(named=True):
        assert (row["targeted"], row["unique_clicks"]) == (rows[row["country"]]["targeted"],
                                                           rows[row["country"]]["unique_clicks"])


def test_day_scope_refusals(busy: ApiWorld) -> None:
    cid, analytics, viewer = busy.campaign.id, busy.ws.analytics, busy.world.viewer
    run_id = sql(busy, "SELECT min(id) AS r FROM runs")[0]["r"]
    with pytest.raises(InvalidInput):
        analytics.report(viewer, cid, run_id=run_id, day=_days(busy)[0])
    with pytest.raises(NotFound, match="no call on 2025-12-31"):
        analytics.report(viewer, cid, day=date(2025, 12, 31))
    with pytest.raises(NotFound):
        analytics.breakdown(viewer, cid, day=date(2025, 12, 31))
    for user in (busy.world.manager, busy.world.nobody):  # reports: Viewers, Approvers, Administrators
        with pytest.raises(PermissionDenied):
            analytics.run_days(user, cid)
        with pytest.raises(PermissionDenied):
            analytics.report(user, cid, day=_days(busy)[0])


def test_the_html_report_of_a_busy_campaign_stays_small(busy: ApiWorld) -> None:
    report = busy.ws.analytics.report(busy.world.viewer, busy.campaign.id)
    page = report_html(report, {}).decode()
    assert "Calls per day" in page and f"the newest {RUNS_LISTED} of {CALLS}" in page and "all calls" in page
    assert page.count("<tr>") < RUNS_LISTED + DAYS + 40  # not one row per call
