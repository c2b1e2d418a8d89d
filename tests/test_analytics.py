"""Run analytics (core/analytics.py) checked figure by figure against hand-written DuckDB SQL over the
seeded demo workspace's own tables, plus caching (incremental, thread-safe), permissions and flags.

The SQL below is written from the definitions in README/PRODUCT.md, on purpose not derived from
core.statistics or core.analytics.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from core import statistics as stats
from core.analytics import MAX_COMPARE, breakdown_attributes
from core.benchmarks_stats import MIN_BASE, MIN_PEERS
from core.enums import Role, Status
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.event_cache import EventCache
from core.models import User
from core.store import delivery_rows
from analytics_data import CHANNELS_SQL, EPOCH, Shop, open_copy, sql

from test_statistics import COUNTS_SQL, RUN_RATES, rates_sql  # noqa: E402 - one hand-written definition

RATES_SQL = rates_sql("exclusion_rate", "send_rate", *RUN_RATES)
FIGURES_SQL = f"""
SELECT *, {RATES_SQL} FROM (
    SELECT {COUNTS_SQL} FROM delivery_events
    WHERE campaign_id = $campaign AND ($run IS NULL OR run_id = $run) AND occurred_at >= $since
)"""
PER_CAMPAIGN_SQL = f"""
SELECT *, {RATES_SQL} FROM (
    SELECT campaign_id, {COUNTS_SQL} FROM delivery_events WHERE occurred_at >= $since GROUP BY campaign_id
)"""
PER_RUN_SQL = f"""
SELECT *, {RATES_SQL} FROM (
    SELECT run_id, {COUNTS_SQL} FROM delivery_events
    WHERE campaign_id = $campaign AND occurred_at >= $since GROUP BY run_id
)"""
PEERS_SQL = f"""
WITH totals AS ({PER_CAMPAIGN_SQL.replace('$since', "TIMESTAMP '1970-01-01'")}),
peers AS (
    SELECT t.* FROM totals t JOIN ({CHANNELS_SQL}) c USING (campaign_id)
    WHERE c.channel = $channel AND t.delivered > 0 AND t.campaign_id <> $campaign
)
SELECT {{selects}} FROM peers"""
TIMELINE_SQL = """
SELECT date_trunc('{unit}', occurred_at) AS bucket,
    count(*) FILTER (WHERE event = 'sent') AS sent,
    count(*) FILTER (WHERE event = 'delivered') AS delivered,
    count(*) FILTER (WHERE event = 'opened') AS opens,
    count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'opened') AS unique_opens,
    count(*) FILTER (WHERE event = 'clicked') AS clicks,
    count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'clicked') AS unique_clicks
FROM delivery_events
WHERE campaign_id = $campaign AND ($run IS NULL OR run_id = $run) AND occurred_at >= $since
    AND event IN ('sent', 'delivered', 'opened', 'clicked')
GROUP BY ALL"""
EXCLUSIONS_SQL = """
SELECT reason, count(*) AS excluded, count(*) / sum(count(*)) OVER () AS share FROM delivery_events
WHERE event = 'excluded' AND campaign_id = $campaign AND ($run IS NULL OR run_id = $run) AND occurred_at >= $since
GROUP BY reason"""
BOUNCES_SQL = """
SELECT bounce::VARCHAR AS bounce, reason, count(*) AS bounced, count(*) / sum(count(*)) OVER () AS share
FROM delivery_events
WHERE event = 'bounced' AND campaign_id = $campaign AND ($run IS NULL OR run_id = $run) AND occurred_at >= $since
GROUP BY ALL"""
AGE_BAND_SQL = """CASE WHEN p.age IS NULL THEN NULL WHEN p.age < 18 THEN 'Under 18' WHEN p.age < 25 THEN '18–24'
    WHEN p.age < 35 THEN '25–34' WHEN p.age < 45 THEN '35–44' WHEN p.age < 55 THEN '45–54'
    WHEN p.age < 65 THEN '55–64' ELSE '65+' END"""
BREAKDOWN_SQL = """
SELECT *,
""" + rates_sql(*RUN_RATES[:4]) + """
FROM (
    SELECT {value}::VARCHAR AS value,
        count(*) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')) AS targeted,
        count(*) FILTER (WHERE e.event = 'sent') AS sent,
        count(*) FILTER (WHERE e.event = 'delivered') AS delivered,
        count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'opened') AS unique_opens,
        count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'clicked') AS unique_clicks
    FROM delivery_events e LEFT JOIN profiles p ON p.profile_id = e.profile_id
    WHERE e.campaign_id = $campaign AND ($run IS NULL OR e.run_id = $run) AND e.occurred_at >= $since
    GROUP BY ALL
)"""
DAILY_SQL = """
SELECT date_trunc('day', occurred_at) AS day, channel::VARCHAR AS channel,
    count(*) FILTER (WHERE event = 'sent') AS sent, count(*) FILTER (WHERE event = 'delivered') AS delivered,
    count(*) FILTER (WHERE event = 'opened') AS opens, count(*) FILTER (WHERE event = 'clicked') AS clicks
FROM delivery_events WHERE occurred_at >= $since GROUP BY ALL"""


def close(got: Any, want: Any, what: object = "") -> None:
    """Counts exactly, rates to floating-point noise, nulls as nulls."""
    if isinstance(want, float) or isinstance(got, float):
        assert got is not None and want is not None, (what, got, want)
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15), (what, got, want)
    else:
        assert got == want, (what, got, want)


def same_rows(got: pl.DataFrame, want: list[dict[str, Any]], keys: Sequence[str]) -> None:
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple((row[k] is None, str(row[k])) for k in keys)

    got_rows, want_rows = sorted(got.to_dicts(), key=key), sorted(want, key=key)
    assert len(got_rows) == len(want_rows), (got_rows[:3], want_rows[:3])
    for g, w in zip(got_rows, want_rows):
        for name, value in w.items():
            close(g[name] if not isinstance(g[name], (pl.Series,)) else g[name], value, name)


# ------------------------------------------------------------------------------------------------
# The seeded workspace, copied so these tests may add events without touching the shared file.


@pytest.fixture(scope="module")
def shop(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    s = open_copy(seeded_db, tmp_path_factory.mktemp("analytics"))
    yield s
    s.store.close()


@pytest.fixture
def own_shop(seeded_db: Path, tmp_path: Path) -> Iterator[Shop]:
    """A private copy for tests that add events."""
    s = open_copy(seeded_db, tmp_path)
    yield s
    s.store.close()


def cases(shop: Shop) -> list[tuple[int, str]]:
    """One campaign per channel with events, plus the recurring one with the most runs."""
    rows = shop.campaigns_with_events()
    assert len(rows) >= 10, "the seed should have sent many campaigns"
    picked = {}
    for row in rows:
        picked.setdefault(row["channel"], row["campaign_id"])
    busiest = recurring(shop)
    return [(cid, ch) for ch, cid in sorted(picked.items()) if cid != busiest] + [(busiest, "recurring")]


def recurring(shop: Shop) -> int:
    """The campaign with the most runs (last in `cases`)."""
    return sql(shop.cur(), "SELECT campaign_id, count(*) AS n FROM runs GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1")[0][
        "campaign_id"]


# ------------------------------------------------------------------------------------------------
# Campaign report


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_report_figures_and_kpis_match_sql(shop: Shop, last_24h: bool) -> None:
    since = shop.since(last_24h)
    seen_activity = False
    for campaign_id, _ in cases(shop):
        report = shop.ws.analytics.report(shop.admin, campaign_id, last_24h=last_24h)
        assert report.since == (since if last_24h else None)
        want = sql(shop.cur(), FIGURES_SQL, campaign=campaign_id, run=None, since=since)[0]
        for name, value in want.items():
            close(report.figures[name], value, (campaign_id, name))
        seen_activity |= want["targeted"] > 0 or want["delivered"] > 0
        tiles = {k.metric: k for k in report.kpis}
        assert list(tiles) == ["targeted", "excluded", "sent", "delivered", "unique_opens", "unique_clicks",
                               "unsubscribes"]
        for metric, kpi in tiles.items():
            close(kpi.value, want[metric], metric)
            if kpi.rate_name is not None:
                close(kpi.rate, want[kpi.rate_name], kpi.rate_name)
        assert tiles["delivered"].rate_name == "delivery_rate"
        assert tiles["unique_clicks"].rate_name == "unique_click_rate"
    assert seen_activity


def test_report_of_one_run_matches_sql(shop: Shop) -> None:
    campaign_id = cases(shop)[-1][0]
    run_ids = [r["id"] for r in sql(shop.cur(), "SELECT id FROM runs WHERE campaign_id = $c ORDER BY id",
                                    c=campaign_id)]
    assert len(run_ids) >= 3
    for run_id in (run_ids[0], run_ids[-1]):
        report = shop.ws.analytics.report(shop.admin, campaign_id, run_id=run_id)
        want = sql(shop.cur(), FIGURES_SQL, campaign=campaign_id, run=run_id, since=EPOCH)[0]
        for name, value in want.items():
            close(report.figures[name], value, (run_id, name))
        assert report.run_id == run_id
    with pytest.raises(NotFound):
        shop.ws.analytics.report(shop.admin, campaign_id, run_id=10_000)


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_kpi_medians_match_sql_quantiles_of_other_campaigns_of_the_channel(shop: Shop, last_24h: bool) -> None:
    for campaign_id, _ in cases(shop):
        report = shop.ws.analytics.report(shop.admin, campaign_id, last_24h=last_24h)
        for kpi in report.kpis:
            if kpi.rate_name is None:
                assert kpi.median is None and kpi.difference is None
                continue
            rate = kpi.rate_name
            want = sql(shop.cur(), PEERS_SQL.format(
                selects=f"count({rate}) AS n, quantile_cont({rate}, 0.5) AS median"),
                channel=report.channel, campaign=campaign_id)[0]
            assert kpi.peers == want["n"], (campaign_id, rate)
            if want["n"] == 0:
                assert kpi.median is None
                continue
            close(kpi.median, want["median"], (campaign_id, rate))
            if kpi.rate is None:
                assert kpi.difference is None
            else:
                close(kpi.difference, kpi.rate - want["median"], rate)
    email = [c for c in shop.campaigns_with_events() if c["channel"] == "email"]
    report = shop.ws.analytics.report(shop.admin, email[0]["campaign_id"])
    assert report.peers == len(email) - 1 >= MIN_PEERS  # the seed has enough email campaigns to compare


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_funnel_matches_sql(shop: Shop, last_24h: bool) -> None:
    for campaign_id, _ in cases(shop):
        funnel = shop.ws.analytics.report(shop.admin, campaign_id, last_24h=last_24h).funnel
        want = sql(shop.cur(), FIGURES_SQL, campaign=campaign_id, run=None, since=shop.since(last_24h))[0]
        assert funnel["stage"].to_list() == ["targeted", "sent", "delivered", "unique_opens", "unique_clicks"]
        assert funnel["label"].to_list() == ["Targeted", "Sent", "Delivered", "Opened", "Clicked"]
        assert funnel["count"].to_list() == [want[s] for s in funnel["stage"]]
        previous = None
        for row in funnel.iter_rows(named=True):
            if want["targeted"]:
                close(row["of_targeted"], row["count"] / want["targeted"])
            if previous:
                close(row["of_previous"], row["count"] / previous)
            previous = row["count"]


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_timeline_matches_sql_on_a_gap_free_axis(shop: Shop, last_24h: bool) -> None:
    since, unit, step = shop.since(last_24h), ("hour" if last_24h else "day"), timedelta(hours=1 if last_24h else 24)
    checked = 0
    for campaign_id, _ in cases(shop):
        report = shop.ws.analytics.report(shop.admin, campaign_id, last_24h=last_24h)
        assert report.every == ("1h" if last_24h else "1d")
        line = report.timeline
        assert line.columns == ["bucket", "sent", "delivered", "opens", "unique_opens", "clicks", "unique_clicks"]
        want = sql(shop.cur(), TIMELINE_SQL.format(unit=unit), campaign=campaign_id, run=None, since=since)
        active = line.filter(pl.sum_horizontal(pl.exclude("bucket")) > 0)
        same_rows(active, want, ["bucket"])
        buckets = line["bucket"].to_list()
        assert all(b - a == step for a, b in zip(buckets, buckets[1:]))
        if last_24h:  # the whole window is on the axis, quiet hours included
            assert buckets[0] == since.replace(minute=0) and buckets[-1] >= shop.clock.now.replace(minute=0, second=0)
        checked += len(want)
    assert checked > 0


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_exclusions_and_bounces_match_sql(shop: Shop, last_24h: bool) -> None:
    since, seen = shop.since(last_24h), 0
    for campaign_id, _ in cases(shop):
        report = shop.ws.analytics.report(shop.admin, campaign_id, last_24h=last_24h)
        params = {"campaign": campaign_id, "run": None, "since": since}
        assert report.exclusions.columns == ["reason", "excluded", "share"]
        assert report.bounces.columns == ["bounce", "reason", "bounced", "share"]
        want_excluded = sql(shop.cur(), EXCLUSIONS_SQL, **params)
        want_bounced = sql(shop.cur(), BOUNCES_SQL, **params)
        same_rows(report.exclusions, want_excluded, ["reason"])
        same_rows(report.bounces, want_bounced, ["bounce", "reason"])
        assert report.exclusions["excluded"].to_list() == sorted(report.exclusions["excluded"].to_list(), reverse=True)
        seen += len(want_excluded) + len(want_bounced)
    assert seen > 0


def test_runs_table_matches_sql(shop: Shop) -> None:
    campaign_id = cases(shop)[-1][0]
    for last_24h in (False, True):
        runs = shop.ws.analytics.report(shop.admin, campaign_id, last_24h=last_24h).runs
        assert runs.columns == ["run_id", "due_at", "status", "version", "targeted", "sent", "delivered",
                                "unique_opens", "unique_clicks", "unique_open_rate", "unique_click_rate"]
        listed = sql(shop.cur(), "SELECT id AS run_id, due_at, status::VARCHAR AS status, version FROM runs "
                                 "WHERE campaign_id = $c ORDER BY due_at DESC", c=campaign_id)
        assert runs.select("run_id", "due_at", "status", "version").to_dicts() == listed
        figures = {r["run_id"]: r for r in sql(shop.cur(), PER_RUN_SQL, campaign=campaign_id,
                                                 since=shop.since(last_24h))}
        for row in runs.iter_rows(named=True):
            want = figures.get(row["run_id"])
            for name in ("targeted", "sent", "delivered", "unique_opens", "unique_clicks"):
                close(row[name], want[name] if want else 0, (row["run_id"], name))
            for name in ("unique_open_rate", "unique_click_rate"):
                close(row[name], want[name] if want else None, (row["run_id"], name))


# ------------------------------------------------------------------------------------------------
# Breakdown


@pytest.mark.parametrize("attribute", ["country", "loyalty_tier", "language", "gender", "city", "age_band"])
def test_breakdown_matches_sql(shop: Shop, attribute: str) -> None:
    value = AGE_BAND_SQL if attribute == "age_band" else f"p.{attribute}"
    campaign_id = cases(shop)[-1][0]
    run_id = sql(shop.cur(), "SELECT max(id) AS r FROM runs WHERE campaign_id = $c", c=campaign_id)[0]["r"]
    for run, last_24h in ((None, False), (None, True), (run_id, False)):
        got = shop.ws.analytics.breakdown(shop.admin, campaign_id, run, attribute, last_24h)
        assert got.columns == [attribute, *stats.BREAKDOWN_COUNTS, *stats.BREAKDOWN_RATES]
        want = sql(shop.cur(), BREAKDOWN_SQL.format(value=value), campaign=campaign_id, run=run,
                   since=shop.since(last_24h))
        assert want, (attribute, run, last_24h)
        same_rows(got.with_columns(pl.col(attribute).cast(pl.String).alias("value")), want, ["value"])


def test_breakdown_attributes_and_refusals(shop: Shop) -> None:
    attributes = breakdown_attributes()
    assert {"country", "loyalty_tier", "age_band", "language"} <= set(attributes)
    assert attributes["age_band"] == "Age band" and shop.ws.analytics.breakdown_attributes() == attributes
    age = shop.ws.analytics.breakdown(shop.admin, cases(shop)[0][0], attribute="age_band")
    assert age["age_band"].dtype == pl.Enum(["Under 18", "18–24", "25–34", "35–44", "45–54", "55–64", "65+"])
    with pytest.raises(InvalidInput, match="attribute"):
        shop.ws.analytics.breakdown(shop.admin, cases(shop)[0][0], attribute="email")
    with pytest.raises(NotFound):
        shop.ws.analytics.breakdown(shop.admin, 9_999)


# ------------------------------------------------------------------------------------------------
# Compare


@pytest.mark.parametrize("last_24h", [False, True], ids=["all-time", "last-24h"])
def test_compare_matches_sql(shop: Shop, last_24h: bool) -> None:
    ids = [cid for cid, _ in cases(shop)][::-1]  # an order that is not sorted: it must be kept
    metrics, timeline = shop.ws.analytics.compare(shop.admin, [*ids, ids[0]], last_24h=last_24h)
    assert metrics["campaign_id"].to_list() == ids
    names = {r["campaign_id"]: r for r in sql(shop.cur(), CHANNELS_SQL)}
    since = shop.since(last_24h)
    for row in metrics.iter_rows(named=True):
        want = sql(shop.cur(), FIGURES_SQL, campaign=row["campaign_id"], run=None, since=since)[0]
        for name, value in want.items():
            close(row[name], value, (row["campaign_id"], name))
        meta = names[row["campaign_id"]]
        assert (row["campaign"], row["channel"], row["status"]) == (meta["name"], meta["channel"], meta["status"])
    assert timeline.columns == ["campaign_id", "campaign", "bucket", "since_start", "sent", "delivered", "opens",
                                "unique_opens", "clicks", "unique_clicks"]
    unit = "hour" if last_24h else "day"
    for cid in ids:
        part = timeline.filter(pl.col("campaign_id") == cid).sort("bucket")
        want = sql(shop.cur(), TIMELINE_SQL.format(unit=unit), campaign=cid, run=None, since=since)
        same_rows(part.drop("campaign_id", "campaign", "since_start").filter(
            pl.sum_horizontal(pl.exclude("bucket")) > 0), want, ["bucket"])
        if part.height:
            assert part["since_start"].to_list() == list(range(part.height))


def test_compare_names_campaigns_apart_and_refuses_bad_selections(shop: Shop) -> None:
    ids = [cid for cid, _ in cases(shop)]
    metrics, _ = shop.ws.analytics.compare(shop.admin, ids[:2])
    assert metrics["campaign"].n_unique() == 2
    with pytest.raises(InvalidInput):
        shop.ws.analytics.compare(shop.admin, [])
    with pytest.raises(InvalidInput):
        shop.ws.analytics.compare(shop.admin, range(1, MAX_COMPARE + 2))
    with pytest.raises(NotFound):
        shop.ws.analytics.compare(shop.admin, [ids[0], 9_999])


def test_compare_keeps_a_campaign_without_events(shop: Shop) -> None:
    draft = sql(shop.cur(), "SELECT min(id) AS id FROM campaigns WHERE status = 'draft'")[0]["id"]
    sent = cases(shop)[0][0]
    for last_24h in (False, True):
        metrics, timeline = shop.ws.analytics.compare(shop.admin, [draft, sent], last_24h=last_24h)
        empty = metrics.row(0, named=True)
        assert empty["campaign_id"] == draft and empty["targeted"] == 0 and empty["delivery_rate"] is None
        quiet = timeline.filter(pl.col("campaign_id") == draft)
        assert quiet.select(pl.sum_horizontal(pl.exclude("campaign_id", "campaign", "bucket", "since_start")).sum()
                            ).item() in (0, None)
        assert quiet.height == (25 if last_24h else 0)  # the window's hours (first one partly), or nothing


def test_compare_labels_campaigns_that_share_a_name(own_shop: Shop) -> None:
    a, b = [cid for cid, _ in cases(own_shop)][:2]
    name = sql(own_shop.cur(), CHANNELS_SQL + " WHERE c.id = $a", a=a)[0]["name"]
    with own_shop.store.transaction() as cur:  # a rename, as a later version could do
        cur.execute("UPDATE campaign_versions SET name = $n WHERE campaign_id = $b", {"n": name, "b": b})
    metrics, timeline = own_shop.ws.analytics.compare(own_shop.admin, [a, b])
    assert metrics["campaign"].to_list() == [f"{name} (#{a})", f"{name} (#{b})"]
    assert set(timeline["campaign"]) <= set(metrics["campaign"])


# ------------------------------------------------------------------------------------------------
# Overview


def test_overview_matches_sql(shop: Shop) -> None:
    overview = shop.ws.analytics.overview(shop.admin, days=30)
    today = shop.clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert overview.since == today - timedelta(days=29)
    counts = {r["status"]: r["n"] for r in sql(shop.cur(), "SELECT status::VARCHAR AS status, count(*) AS n "
                                                            "FROM campaigns GROUP BY 1")}
    assert overview.by_status["status"].to_list() == [s.value for s in Status]
    assert overview.by_status["campaigns"].to_list() == [counts.get(s.value, 0) for s in Status]

    want = sql(shop.cur(), DAILY_SQL, since=overview.since)
    assert want
    active = overview.daily.filter(pl.sum_horizontal("sent", "delivered", "opens", "clicks") > 0)
    same_rows(active, want, ["day", "channel"])
    for _, part in overview.daily.group_by("channel"):
        days = part["day"].sort().to_list()
        assert days[0] == overview.since and days[-1] >= today
        assert all(b - a == timedelta(days=1) for a, b in zip(days, days[1:]))
    by_channel = {r["channel"]: r for r in overview.channels.to_dicts()}
    for channel in {r["channel"] for r in want}:
        assert by_channel[channel]["sent"] == sum(r["sent"] for r in want if r["channel"] == channel)

    ranked = sql(shop.cur(), f"""SELECT t.campaign_id, t.delivered, t.unique_clicks, t.unique_click_rate
        FROM ({PER_CAMPAIGN_SQL}) t WHERE t.delivered >= $min
        ORDER BY t.unique_click_rate DESC NULLS LAST, t.delivered DESC, t.campaign_id LIMIT 10""",
                 since=EPOCH, min=overview.min_delivered)
    assert overview.top["rank"].to_list() == list(range(1, len(ranked) + 1))
    same_rows(overview.top.select("campaign_id", "delivered", "unique_clicks", "unique_click_rate"), ranked,
              ["campaign_id"])
    assert overview.top["campaign_id"].to_list() == [r["campaign_id"] for r in ranked]


def test_overview_minimum_delivered_keeps_tiny_campaigns_off_the_top(shop: Shop) -> None:
    everyone = shop.ws.analytics.overview(shop.admin, min_delivered=0, top=100)
    strict = shop.ws.analytics.overview(shop.admin, min_delivered=1_000, top=100)
    assert strict.top["delivered"].min() >= 1_000
    assert everyone.top.height > strict.top.height
    with pytest.raises(InvalidInput):
        shop.ws.analytics.overview(shop.admin, days=0)


# ------------------------------------------------------------------------------------------------
# Permissions


def _calls(shop: Shop) -> list[Any]:
    cid = cases(shop)[0][0]
    a = shop.ws.analytics
    return [
        lambda u: a.report(u, cid), lambda u: a.breakdown(u, cid), lambda u: a.compare(u, [cid]),
        lambda u: a.overview(u), lambda u: a.warm(u),
    ]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER, Role.ADMINISTRATOR])
def test_roles_that_may_view_reports(shop: Shop, role: Role) -> None:
    for call in _calls(shop):
        call(shop.users[role])


def test_managers_and_users_without_role_are_refused(shop: Shop) -> None:
    stranger = User(id=9_999, name="Eve", email="eve@example.org", role=Role.ADMINISTRATOR)
    for call in _calls(shop):
        with pytest.raises(PermissionDenied, match=r"^Only Viewer, Approver or Administrator may view reports; "
                                                   r"you are Manager\.$"):
            call(shop.users[Role.MANAGER])
        with pytest.raises(PermissionDenied, match="no campaign role"):
            call(shop.nobody)
        with pytest.raises(PermissionDenied, match="not a user of this workspace"):
            call(stranger)  # a role claimed by the caller counts for nothing: core reads it


# ------------------------------------------------------------------------------------------------
# Caching: new events appear after a run, by appending, not by reading everything again


def _live_recurring(shop: Shop) -> tuple[int, Any]:
    row = sql(shop.cur(), """SELECT c.id FROM campaigns c JOIN runs r ON r.campaign_id = c.id
        WHERE c.status = 'live' GROUP BY c.id ORDER BY count(*) DESC, c.id LIMIT 1""")[0]
    return row["id"], shop.ws.campaigns.get(shop.admin, row["id"])


def _fail_full_load(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the event cache read the whole table again instead of appending")


def test_new_events_after_a_run_are_appended_not_recomputed(own_shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    shop, analytics = own_shop, own_shop.ws.analytics
    campaign_id, campaign = _live_recurring(shop)
    other = next(cid for cid, _ in cases(shop) if cid != campaign_id)
    before = analytics.report(shop.admin, campaign_id)
    other_before = analytics.report(shop.admin, other)
    info = analytics.cache_info()
    assert info["full_loads"] == 1 and analytics.loaded
    snap = analytics.events.current()
    other_version = snap.campaign_version(other)

    again = analytics.report(shop.admin, campaign_id)  # nothing new: the very same figures object
    assert again.figures is before.figures and analytics.cache_info()["memo_hits"] > info["memo_hits"]

    monkeypatch.setattr(EventCache, "_load", _fail_full_load)
    shop.clock.tick(hours=1)
    run_id = shop.ws.delivery.run_at(campaign, shop.clock.now)
    assert run_id is not None
    progress = shop.ws.delivery.execute(run_id)
    assert progress.status == "finished" and progress.processed > 0

    after = analytics.report(shop.admin, campaign_id)
    info_after = analytics.cache_info()
    assert info_after["appends"] == info["appends"] + 1 and info_after["full_loads"] == 1
    assert after.figures["targeted"] == before.figures["targeted"] + progress.processed
    want = sql(shop.cur(), FIGURES_SQL, campaign=campaign_id, run=None, since=EPOCH)[0]
    for name, value in want.items():
        close(after.figures[name], value, name)
    assert run_id in after.runs["run_id"].to_list()
    new_run = analytics.report(shop.admin, campaign_id, run_id=run_id)
    close(new_run.figures["targeted"], progress.processed)

    snap = analytics.events.current()
    assert snap.campaign_version(other) == other_version  # another campaign's report stays memoised
    assert analytics.report(shop.admin, other).figures is other_before.figures
    totals = stats.summary(stats.prepare(delivery_rows.events_frame(shop.cur())), by=("campaign_id",))
    assert snap.totals.equals(totals)
    assert snap.frame.height == sql(shop.cur(), "SELECT count(*) AS n FROM delivery_events")[0]["n"]


def test_reports_read_while_the_scheduler_thread_sends(own_shop: Shop) -> None:
    """DuckDB cursor per call, snapshots under a lock: readers never fail nor see half a refresh."""
    shop, analytics = own_shop, own_shop.ws.analytics
    campaign_id, campaign = _live_recurring(shop)
    analytics.warm(shop.admin)
    shop.clock.tick(hours=2)
    run_id = shop.ws.delivery.run_at(campaign, shop.clock.now)
    assert run_id is not None
    errors: list[BaseException] = []
    done = threading.Event()

    def send() -> None:
        try:
            shop.ws.delivery.execute(run_id, batch_size=200)  # many small commits
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    sender = threading.Thread(target=send)
    sender.start()
    reads = 0
    while not done.is_set() or reads < 3:
        figures = analytics.report(shop.admin, campaign_id).figures
        assert figures["targeted"] >= figures["sent"] >= figures["delivered"]  # a consistent snapshot
        reads += 1
    sender.join()
    assert not errors and reads >= 3
    final = analytics.report(shop.admin, campaign_id)
    want = sql(shop.cur(), FIGURES_SQL, campaign=campaign_id, run=None, since=EPOCH)[0]
    for name, value in want.items():
        close(final.figures[name], value, name)
    assert analytics.cache_info()["appends"] >= 1


@pytest.mark.parametrize("removed", [10, "all"], ids=["fewer-rows-removed-than-added", "more-removed"])
def test_cache_reads_everything_again_when_appends_cannot_explain_the_change(own_shop: Shop, removed: Any) -> None:
    """Opens removed and 50 sends added (which Herald never does; a repair by hand could): the rows
    past the last rowid held do not account for the new count, so the table is read again in full."""
    shop, analytics = own_shop, own_shop.ws.analytics
    analytics.warm(shop.admin)
    cid = cases(shop)[0][0]
    limit = "" if removed == "all" else f"LIMIT {removed}"
    with shop.store.transaction() as cur:
        extra = cur.sql(f"SELECT * FROM delivery_events WHERE campaign_id = {cid} AND event = 'sent' LIMIT 50").pl()
        opens = f"SELECT rowid FROM delivery_events WHERE campaign_id = {cid} AND event = 'opened' {limit}"
        gone = cur.execute(f"DELETE FROM delivery_events WHERE rowid IN ({opens})").fetchall()[0][0]
        assert (gone == 10) if removed != "all" else (gone > 50)
        delivery_rows.insert_events(cur, extra.with_columns(pl.col("run_id") + 10_000))
    report = analytics.report(shop.admin, cid)
    assert analytics.cache_info()["full_loads"] == 2 and analytics.cache_info()["appends"] == 0
    want = sql(shop.cur(), FIGURES_SQL, campaign=cid, run=None, since=EPOCH)[0]
    for name, value in want.items():
        close(report.figures[name], value, name)
    assert report.figures["sent"] == want["sent"] and (removed != "all" or report.figures["opens"] == 0)


def test_warm_reports_progress(own_shop: Shop) -> None:
    seen: list[tuple[float, str]] = []
    own_shop.ws.analytics.events.chunk_rows = 50_000  # several chunks on the test data
    own_shop.ws.analytics.warm(own_shop.admin, lambda fraction, text: seen.append((fraction, text)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) >= 4
    assert any("Reading delivery events" in text for _, text in seen)


# ------------------------------------------------------------------------------------------------
# Flags


def _bad_run(shop: Shop, campaign_id: int, sent: int, bounced: int, unsubscribed: int) -> None:
    """A run whose sends mostly bounce, written as the delivery pipeline writes events."""
    run = sql(shop.cur(), "SELECT max(id) + 1 AS id FROM runs")[0]["id"] + 1000
    at = shop.clock.now
    rows = [("sent", None, None, at)] * sent + [("bounced", "hard", "550 5.1.1 mailbox does not exist", at)] * bounced
    rows += [("delivered", None, None, at)] * (sent - bounced) + [("unsubscribed", None, None, at)] * unsubscribed
    frame = pl.DataFrame(
        {
            "run_id": [run] * len(rows), "campaign_id": [campaign_id] * len(rows), "version": [1] * len(rows),
            "profile_id": [i % sent + 1 for i in range(len(rows))], "channel": ["email"] * len(rows),
            "event": [r[0] for r in rows], "bounce": [r[1] for r in rows], "reason": [r[2] for r in rows],
            "occurred_at": [r[3] for r in rows],
        },
        schema_overrides={"run_id": pl.Int32, "campaign_id": pl.Int32, "version": pl.Int32, "bounce": pl.String,
                          "reason": pl.String},
    )
    with shop.store.transaction() as cur:
        delivery_rows.insert_events(cur, frame)


def test_flags_name_abnormal_rates_against_sql_percentiles(own_shop: Shop) -> None:
    shop, analytics = own_shop, own_shop.ws.analytics
    email = [c["campaign_id"] for c in shop.campaigns_with_events() if c["channel"] == "email"]
    campaign_id = email[0]
    analytics.warm(shop.admin)
    _bad_run(shop, campaign_id, sent=20_000, bounced=6_000, unsubscribed=700)
    report = analytics.report(shop.admin, campaign_id)
    assert analytics.cache_info()["full_loads"] == 1  # the injected run was appended too

    p90 = sql(shop.cur(), PEERS_SQL.format(selects="count(bounce_rate) AS n, quantile_cont(bounce_rate, 0.9) AS p90,"
                                                   "quantile_cont(unsubscribe_rate, 0.9) AS u90"),
              channel="email", campaign=campaign_id)[0]
    mine = sql(shop.cur(), FIGURES_SQL, campaign=campaign_id, run=None, since=EPOCH)[0]
    assert mine["bounce_rate"] > p90["p90"] and mine["unsubscribe_rate"] > p90["u90"]
    bounce = (f"Bounce rate {mine['bounce_rate'] * 100:.1f}% is above the 90th percentile ({p90['p90'] * 100:.1f}%) "
              f"of the {p90['n']} other email campaigns in this workspace: more addresses than usual were refused")
    unsub = (f"Unsubscribe rate {mine['unsubscribe_rate'] * 100:.1f}% is above the 90th percentile "
             f"({p90['u90'] * 100:.1f}%) of the {p90['n']} other email campaigns in this workspace")
    assert any(f.startswith(bounce) for f in report.flags), report.flags
    assert any(f.startswith(unsub) for f in report.flags), report.flags
    assert all(f.endswith(".") for f in report.flags)

    # An ordinary campaign of the same workspace raises nothing about bounces.
    typical = shop.ws.analytics.report(shop.admin, email[1])
    assert not any(f.startswith("Bounce rate") for f in typical.flags)


def test_flags_need_enough_peers_and_volume() -> None:
    from core.benchmarks_stats import Benchmark, flags

    mark = {"bounce_rate": Benchmark("bounce_rate", MIN_PEERS, 0.02, 0.01, 0.04)}
    figures = {"sent": MIN_BASE, "bounced": 10, "targeted": MIN_BASE, "excluded": 0, "delivered": MIN_BASE,
               "unique_opens": 0, "unique_clicks": 0, "unsubscribes": 0}
    [sentence] = flags(figures, mark, "email")
    assert sentence.startswith("Bounce rate 10.0% is above the 90th percentile (4.0%) of the 5 other email campaigns")
    assert flags({**figures, "sent": MIN_BASE - 1}, mark, "email") == ()
    assert flags({**figures, "bounced": 3}, mark, "email") == ()  # above the median, not the 90th percentile
    assert flags({**figures, "bounced": 4}, mark, "email") == ()  # at the percentile is not above it
    few = {"bounce_rate": Benchmark("bounce_rate", MIN_PEERS - 1, 0.02, 0.01, 0.04)}
    assert flags(figures, few, "email") == ()
    low = {"unique_open_rate": Benchmark("unique_open_rate", 8, 0.25, 0.18, 0.33)}
    [sentence] = flags({**figures, "unique_opens": 10}, low, "sms", window="the last 24 hours")
    assert sentence.startswith("In the last 24 hours, the unique open rate 10.0% is below the 10th percentile (18.0%) "
                               "of the 8 other SMS campaigns")
    assert flags({**figures, "unique_opens": 20}, low, "sms") == ()  # below the median only
