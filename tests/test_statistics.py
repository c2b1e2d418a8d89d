"""Campaign statistics (core/statistics.py) checked figure by figure against hand-written DuckDB SQL
(COUNT / COUNT DISTINCT / FILTER over the migration-4 table), and the event simulator's invariants."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

from core import statistics as stats
from core.enums import Channel
from core.event_simulation import (
    ERROR_REASONS,
    HARD_BOUNCE_REASONS,
    SCHEMA,
    SOFT_BOUNCE_REASONS,
    simulate_events,
)
from core.profiles import generate_profiles
from core.store import Store

START = datetime(2026, 11, 1, 8, 0)
N = 1_500
CAMPAIGNS, RUNS = 4, 3
# (seed, channels): one email-only data set per seed, and one mixing channels (no opens on SMS).
CASES: list[tuple[int, tuple[Channel, ...]]] = [
    (11, (Channel.EMAIL,)),
    (23, (Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.IN_APP)),
    (2026, (Channel.EMAIL,)),
]

# ------------------------------------------------------------------------------------------------
# Independent SQL. Written out by hand, on purpose not derived from core.statistics.

COUNTS_SQL = """
    count(*) FILTER (WHERE event IN ('excluded', 'sent', 'error')) AS targeted,
    count(*) FILTER (WHERE event = 'excluded') AS excluded,
    count(*) FILTER (WHERE event = 'excluded' AND reason = 'suppressed') AS excluded_suppressed,
    count(*) FILTER (WHERE event = 'excluded' AND reason = 'no_address') AS excluded_no_address,
    count(*) FILTER (WHERE event = 'excluded' AND reason = 'no_consent') AS excluded_no_consent,
    count(*) FILTER (WHERE event = 'excluded' AND reason = 'frequency_cap') AS excluded_frequency_cap,
    count(*) FILTER (WHERE event = 'sent') AS sent,
    count(*) FILTER (WHERE event = 'error') AS errors,
    count(*) FILTER (WHERE event = 'delivered') AS delivered,
    count(*) FILTER (WHERE event = 'bounced') AS bounced,
    count(*) FILTER (WHERE event = 'bounced' AND bounce = 'hard') AS bounced_hard,
    count(*) FILTER (WHERE event = 'bounced' AND bounce = 'soft') AS bounced_soft,
    count(*) FILTER (WHERE event = 'opened') AS opens,
    count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'opened') AS unique_opens,
    count(*) FILTER (WHERE event = 'clicked') AS clicks,
    count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'clicked') AS unique_clicks,
    count(*) FILTER (WHERE event = 'unsubscribed') AS unsubscribes,
    count(*) FILTER (WHERE event = 'complained') AS complaints"""

RATE_SQL = {  # each rate from its definition (PRODUCT.md, README), null without a denominator
    "exclusion_rate": "CASE WHEN targeted > 0 THEN excluded / targeted END",
    "send_rate": "CASE WHEN targeted > 0 THEN sent / targeted END",
    "delivery_rate": "CASE WHEN sent > 0 THEN delivered / sent END",
    "unique_open_rate": "CASE WHEN delivered > 0 THEN unique_opens / delivered END",
    "unique_click_rate": "CASE WHEN delivered > 0 THEN unique_clicks / delivered END",
    "click_to_open_rate": "CASE WHEN unique_opens > 0 THEN unique_clicks / unique_opens END",
    "bounce_rate": "CASE WHEN sent > 0 THEN bounced / sent END",
    "unsubscribe_rate": "CASE WHEN delivered > 0 THEN unsubscribes / delivered END",
}
RUN_RATES = ("delivery_rate", "unique_open_rate", "unique_click_rate", "click_to_open_rate", "bounce_rate",
             "unsubscribe_rate")


def rates_sql(*names: str) -> str:
    """The named rates as SELECT items."""
    return ",\n".join(f"    {RATE_SQL[name]} AS {name}" for name in names)


SUMMARY_SQL = """
SELECT *,
""" + rates_sql(*RUN_RATES) + """
FROM (
    SELECT {keys}
        {counts}
    FROM delivery_events
    WHERE occurred_at >= ?
    {group_by}
)
"""

EXCLUSIONS_SQL = """
SELECT {keys} reason, count(*) AS excluded,
    count(*) / sum(count(*)) OVER ({partition}) AS share
FROM delivery_events WHERE event = 'excluded' AND occurred_at >= ?
GROUP BY {keys} reason
"""

BOUNCES_SQL = """
SELECT {keys} bounce::VARCHAR AS bounce, reason, count(*) AS bounced,
    count(*) / sum(count(*)) OVER ({partition}) AS share
FROM delivery_events WHERE event = 'bounced' AND occurred_at >= ?
GROUP BY {keys} bounce, reason
"""

SERIES_SQL = """
SELECT {keys} date_trunc('{unit}', occurred_at) AS bucket,
    count(*) FILTER (WHERE event = 'sent') AS sent,
    count(*) FILTER (WHERE event = 'delivered') AS delivered,
    count(*) FILTER (WHERE event = 'bounced') AS bounced,
    count(*) FILTER (WHERE event = 'opened') AS opens,
    count(*) FILTER (WHERE event = 'clicked') AS clicks,
    count(*) FILTER (WHERE event = 'unsubscribed') AS unsubscribes,
    count(*) FILTER (WHERE event = 'complained') AS complaints
FROM delivery_events
WHERE event IN ('sent', 'delivered', 'bounced', 'opened', 'clicked', 'unsubscribed', 'complained')
    AND occurred_at >= ?
GROUP BY ALL
"""

BREAKDOWN_SQL = """
SELECT *,
""" + rates_sql(*RUN_RATES[:4]) + """
FROM (
    SELECT {keys} p.{attribute} AS {attribute},
        count(*) FILTER (WHERE e.event IN ('excluded', 'sent', 'error')) AS targeted,
        count(*) FILTER (WHERE e.event = 'sent') AS sent,
        count(*) FILTER (WHERE e.event = 'delivered') AS delivered,
        count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'opened') AS unique_opens,
        count(DISTINCT (e.run_id, e.profile_id)) FILTER (WHERE e.event = 'clicked') AS unique_clicks
    FROM delivery_events e LEFT JOIN generated_profiles p ON p.profile_id = e.profile_id
    WHERE e.occurred_at >= ?
    GROUP BY ALL
)
"""

EPOCH = datetime(1970, 1, 1)


def _keys(by: Sequence[str], prefix: str = "") -> str:
    return "".join(f"{prefix}{c}, " for c in by)


def summary_sql(by: Sequence[str]) -> str:
    group_by = f"GROUP BY {', '.join(by)}" if by else ""
    return SUMMARY_SQL.format(keys=_keys(by), group_by=group_by, counts=COUNTS_SQL.strip())


def query(cur: duckdb.DuckDBPyConnection, sql: str, since: datetime | None) -> list[dict[str, Any]]:
    """Run and fully fetch (DuckDB 2 streams) a query, rows as dicts with ENUMs as strings."""
    rows = cur.execute(sql, [since or EPOCH]).fetchall()
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in rows]


def same_rows(got: pl.DataFrame, want: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Every row and figure equal: counts exactly, rates to floating-point noise, nulls as nulls."""
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple((row[k] is None, row[k] if row[k] is not None else 0) for k in keys)

    got_rows = sorted(got.to_dicts(), key=key)
    want_rows = sorted(want, key=key)
    assert len(got_rows) == len(want_rows), (got_rows[:3], want_rows[:3])
    for g, w in zip(got_rows, want_rows):
        assert set(g) == set(w), set(g) ^ set(w)
        for name, value in w.items():
            if isinstance(value, float) or isinstance(g[name], float):
                assert g[name] is not None and value is not None, (name, g, w)
                assert math.isclose(g[name], value, rel_tol=1e-12), (name, g[name], value)
            else:
                assert g[name] == value, (name, g, w)


# ------------------------------------------------------------------------------------------------
# Data: simulated events in an in-memory store with all migrations, plus matching profiles.


@dataclass
class Dataset:
    raw: pl.DataFrame  # as simulate_events made it
    prepared: pl.DataFrame
    from_db: pl.DataFrame  # read back from DuckDB (Categorical ENUM columns)
    profiles: pl.DataFrame
    cur: duckdb.DuckDBPyConnection
    store: Store


def load(frame: pl.DataFrame, profiles: pl.DataFrame | None = None) -> tuple[Store, duckdb.DuckDBPyConnection]:
    store = Store(":memory:")
    cur = store.cursor()
    cur.register("incoming", frame)
    cur.execute(
        "INSERT INTO delivery_events SELECT run_id, campaign_id, version, profile_id, channel, event, bounce, "
        "reason, occurred_at FROM incoming"
    ).fetchall()
    cur.unregister("incoming")
    if profiles is not None:
        cur.register("generated_profiles", profiles)
    return store, cur


@pytest.fixture(scope="module", params=CASES, ids=[f"seed{s}-{len(c)}ch" for s, c in CASES])
def data(request: pytest.FixtureRequest) -> Iterator[Dataset]:
    seed, channels = request.param
    raw = simulate_events(N, campaigns=CAMPAIGNS, runs_per_campaign=RUNS, seed=seed, start=START, channels=channels)
    profiles = generate_profiles(N, seed=seed)
    store, cur = load(raw, profiles)
    from_db = cur.sql("SELECT * FROM delivery_events").pl()
    yield Dataset(raw, stats.prepare(raw), from_db, profiles, cur, store)
    store.close()


def frames(d: Dataset) -> list[pl.DataFrame | pl.LazyFrame]:
    """The same events in every form the functions accept."""
    return [d.prepared, d.raw, d.from_db, d.prepared.lazy(), d.raw.lazy()]


def mid(d: Dataset) -> datetime:
    """A `since` inside the data: the last quarter of its time span, so the window cuts runs in two."""
    lo, hi = d.raw.select(pl.col("occurred_at").min().alias("lo"), pl.col("occurred_at").max().alias("hi")).row(0)
    return lo + (hi - lo) * 3 / 4


# ------------------------------------------------------------------------------------------------
# summary


@pytest.mark.parametrize("by", [("campaign_id",), ("run_id",), (), ("channel", "version"), ("campaign_id", "run_id")])
def test_summary_matches_sql(data: Dataset, by: tuple[str, ...]) -> None:
    want = query(data.cur, summary_sql(by), None)
    for frame in frames(data):
        same_rows(stats.summary(frame, by=by), want, by)


@pytest.mark.parametrize("by", [("campaign_id",), ("run_id",), ()])
def test_summary_since_matches_sql(data: Dataset, by: tuple[str, ...]) -> None:
    since = mid(data)
    want = query(data.cur, summary_sql(by), since)
    for frame in (data.prepared, data.raw, data.prepared.lazy()):
        same_rows(stats.summary(frame, by=by, since=since), want, by)


def test_summary_since_is_a_window_not_a_filter_of_all_time_uniques(data: Dataset) -> None:
    """A recipient whose first open predates the window but who opens again inside it is a unique
    opener of the window (the prepared first-open flag must not leak into windowed figures)."""
    since = mid(data)
    window = stats.summary(data.prepared, by=(), since=since).row(0, named=True)
    all_time_firsts_inside = data.prepared.filter(
        (pl.col("occurred_at") >= since) & (pl.col("_kind") == 11)
    ).height
    assert window["unique_opens"] >= all_time_firsts_inside
    in_window = data.raw.filter((pl.col("occurred_at") >= since) & (pl.col("event") == "opened"))
    assert window["unique_opens"] == in_window.select("run_id", "profile_id").unique().height


def test_summary_since_accepts_aware_datetimes(data: Dataset) -> None:
    since = mid(data)
    aware = since.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))
    assert stats.summary(data.prepared, since=aware).equals(stats.summary(data.prepared, since=since))


def test_summary_after_everything_is_empty_but_total_has_one_row(data: Dataset) -> None:
    late = datetime(2100, 1, 1)
    assert stats.summary(data.prepared, since=late).height == 0
    total = stats.summary(data.prepared, by=(), since=late).row(0, named=True)
    assert total["targeted"] == 0 and total["delivery_rate"] is None and total["click_to_open_rate"] is None


def test_summary_columns_and_types(data: Dataset) -> None:
    got = stats.summary(data.prepared)
    assert got.columns == ["campaign_id", *stats.COUNTS, *stats.RATES]
    assert all(got.schema[c] == pl.Int64 for c in stats.COUNTS)
    assert all(got.schema[c] == pl.Float64 for c in stats.RATES)
    assert got["campaign_id"].to_list() == sorted(got["campaign_id"].to_list())


def test_summary_counts_add_up(data: Dataset) -> None:
    row = stats.summary(data.prepared, by=()).row(0, named=True)
    assert row["targeted"] == row["excluded"] + row["sent"] + row["errors"]
    assert row["excluded"] == sum(row[f"excluded_{r}"] for r in stats.EXCLUSION_REASONS)
    assert row["bounced"] == row["bounced_hard"] + row["bounced_soft"]
    assert row["delivered"] + row["bounced"] <= row["sent"]
    assert row["unique_opens"] <= row["opens"] and row["unique_clicks"] <= row["clicks"]
    by_campaign = stats.summary(data.prepared).drop("campaign_id").select(pl.col(pl.Int64).sum()).row(0, named=True)
    assert by_campaign == {k: row[k] for k in stats.COUNTS}


def test_summary_refuses_non_run_level_groups(data: Dataset) -> None:
    for by in (("reason",), ("profile_id",), ("campaign_id", "campaign_id")):
        with pytest.raises(ValueError):
            stats.summary(data.prepared, by=by)


# Hand-made events: edge cases the simulator never produces (zero denominators, null bounce kinds,
# unknown reasons, opens without deliveries, repeated dispositions).
EDGE_EVENTS: list[tuple[int, int, int, str, str | None, str | None]] = [
    # run, campaign, profile, event, bounce, reason
    (1, 1, 1, "excluded", None, "suppressed"),
    (1, 1, 2, "excluded", None, None),  # reason not recorded: excluded, in no reason column
    (1, 1, 3, "excluded", None, "some_new_reason"),
    (2, 2, 1, "sent", None, None),
    (2, 2, 1, "bounced", None, "unknown"),  # bounce kind missing: bounced, neither hard nor soft
    (2, 2, 2, "error", None, "rate_limited"),
    (3, 3, 1, "sent", None, None),
    (3, 3, 1, "delivered", None, None),
    (3, 3, 3, "sent", None, None),
    (3, 3, 3, "delivered", None, None),
    (4, 3, 1, "opened", None, None),  # an open with no delivery in its run
    (4, 3, 1, "opened", None, None),
    (4, 3, 2, "clicked", None, None),
    (5, 4, 9, "unsubscribed", None, None),
    (5, 4, 9, "complained", None, None),
    (6, 5, 1, "sent", None, None),
    (6, 5, 1, "delivered", None, None),  # delivered, never opened: open rate 0, CTO undefined
]


def edge_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"run_id": r, "campaign_id": c, "version": 1, "profile_id": p, "channel": "email", "event": e,
             "bounce": b, "reason": why, "occurred_at": START + timedelta(minutes=i)}
            for i, (r, c, p, e, b, why) in enumerate(EDGE_EVENTS)
        ],
        schema={**SCHEMA, "channel": pl.String, "event": pl.String, "bounce": pl.String},
    )


@pytest.mark.parametrize("by", [("campaign_id",), ("run_id",), ()])
def test_summary_edge_cases_and_zero_denominators(by: tuple[str, ...]) -> None:
    frame = edge_frame()
    store, cur = load(frame)
    want = query(cur, summary_sql(by), None)
    for events in (frame, stats.prepare(frame)):
        same_rows(stats.summary(events, by=by), want, by)
    got = {r["campaign_id"]: r for r in stats.summary(frame).to_dicts()}
    assert got[1]["excluded"] == 3 and got[1]["excluded_suppressed"] == 1 and got[1]["sent"] == 0
    assert got[1]["delivery_rate"] is None and got[1]["bounce_rate"] is None
    assert got[2]["bounced"] == 1 and got[2]["bounced_hard"] == got[2]["bounced_soft"] == 0
    assert got[3]["unique_open_rate"] == 0.5 and got[3]["opens"] == 2 and got[3]["unique_opens"] == 1
    assert got[4]["unsubscribe_rate"] is None and got[4]["complaints"] == 1
    assert got[5]["unique_open_rate"] == 0.0 and got[5]["click_to_open_rate"] is None
    store.close()


def test_summary_of_no_events() -> None:
    empty = edge_frame().clear()
    assert stats.summary(empty).height == 0
    total = stats.summary(empty, by=()).row(0, named=True)
    assert all(total[c] == 0 for c in stats.COUNTS) and all(total[r] is None for r in stats.RATES)


_EVENT_NAMES = list(stats.EVENTS)
_REASONS = [None, "suppressed", "no_address", "no_consent", "frequency_cap", "other"]


@hst.composite
def random_events(draw: hst.DrawFn) -> pl.DataFrame:
    """Arbitrary event rows (not the simulator's model): any mix, duplicates, nulls."""
    n = draw(hst.integers(0, 60))
    rows = []
    for i in range(n):
        run = draw(hst.integers(1, 4))
        rows.append({
            "run_id": run, "campaign_id": (run + 1) // 2, "version": 1,
            "profile_id": draw(hst.integers(1, 6)), "channel": "email",
            "event": draw(hst.sampled_from(_EVENT_NAMES)),
            "bounce": draw(hst.sampled_from([None, "hard", "soft"])),
            "reason": draw(hst.sampled_from(_REASONS)),
            "occurred_at": START + timedelta(hours=draw(hst.integers(0, 72))),
        })
    return pl.DataFrame(rows, schema={**SCHEMA, "channel": pl.String, "event": pl.String, "bounce": pl.String})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_events(), hours=hst.one_of(hst.none(), hst.integers(0, 72)))
def test_summary_matches_sql_on_arbitrary_events(frame: pl.DataFrame, hours: int | None) -> None:
    since = None if hours is None else START + timedelta(hours=hours)
    store, cur = load(frame)
    try:
        for by in (("campaign_id",), ("run_id",), ()):
            want = query(cur, summary_sql(by), since)
            same_rows(stats.summary(frame, by=by, since=since), want, by)
            same_rows(stats.summary(stats.prepare(frame), by=by, since=since), want, by)
    finally:
        store.close()


def test_summary_with_ids_too_wide_to_pack() -> None:
    """profile_id beyond 2^31 (BIGINT allows it) and negative run ids take the struct-key path."""
    frame = pl.concat([edge_frame(), edge_frame().with_columns(pl.col("occurred_at") + timedelta(days=1))])
    wide = frame.with_columns(pl.col("profile_id") + (1 << 40), (pl.col("run_id") - 3).alias("run_id"))
    store, cur = load(wide)
    for by in (("campaign_id",), ("run_id",), ()):
        want = query(cur, summary_sql(by), None)
        same_rows(stats.summary(wide, by=by), want, by)
        same_rows(stats.summary(stats.append(stats.prepare(wide.head(9)), wide.slice(9)), by=by), want, by)
    store.close()


def test_prepared_frame_filtered_by_campaign_stays_exact(data: Dataset) -> None:
    """Run-level filters keep whole (run, profile) histories, so the prepared firsts stay right."""
    keep = [1, 3]
    sql = summary_sql(("run_id",)).replace("WHERE occurred_at >= ?", "WHERE occurred_at >= ? AND campaign_id IN (1, 3)")
    want = query(data.cur, sql, None)
    filtered = data.prepared.lazy().filter(pl.col("campaign_id").is_in(keep))
    same_rows(stats.summary(filtered, by=("run_id",)), want, ["run_id"])


@pytest.mark.parametrize("call", [
    lambda f: stats.exclusions(f, by=("reason",)),
    lambda f: stats.bounces(f, by=("occurred_at",)),
    lambda f: stats.time_series(f, by=("event",)),
    lambda f: stats.breakdown(f, f, "country", by=("profile_id",)),
])
def test_figures_refuse_non_run_level_groups(data: Dataset, call: Any) -> None:
    with pytest.raises(ValueError):
        call(data.prepared)


# ------------------------------------------------------------------------------------------------
# prepare / append


def test_prepare_is_idempotent_and_accepts_duckdb_frames(data: Dataset) -> None:
    again = stats.prepare(data.prepared)
    assert again.equals(data.prepared)
    from_db = stats.prepare(data.from_db)
    assert from_db.schema == data.prepared.schema
    assert stats.summary(from_db, by=("run_id",)).equals(stats.summary(data.prepared, by=("run_id",)))


def test_append_equals_preparing_everything(data: Dataset) -> None:
    """Later events of the same runs (repeat opens) and of new runs, appended in two slices."""
    cut = mid(data)
    older = data.raw.filter(pl.col("occurred_at") < cut)
    newer = data.raw.filter(pl.col("occurred_at") >= cut)  # repeat opens of runs already seen
    assert newer.filter(pl.col("event") == "opened").height > 0
    extra = simulate_events(300, campaigns=2, runs_per_campaign=1, seed=99, start=START + timedelta(days=40))
    extra = extra.with_columns(pl.col("run_id") + 100, pl.col("campaign_id") + 100)
    everything = pl.concat([older, newer, extra])
    grown = stats.append(stats.append(stats.prepare(older), newer), extra)
    assert grown.equals(stats.prepare(everything))
    store, cur = load(everything)
    for by in (("campaign_id",), ("run_id",)):
        same_rows(stats.summary(grown, by=by), query(cur, summary_sql(by), None), by)
    store.close()


def test_prepare_rejects_unknown_events() -> None:
    bad = edge_frame().with_columns(pl.lit("teleported").alias("event"))
    with pytest.raises(pl.exceptions.InvalidOperationError):
        stats.prepare(bad)


# ------------------------------------------------------------------------------------------------
# exclusions, bounces


def _partition(by: Sequence[str]) -> str:
    return f"PARTITION BY {', '.join(by)}" if by else ""


@pytest.mark.parametrize("by", [("campaign_id",), ("run_id",), ()])
def test_exclusions_match_sql(data: Dataset, by: tuple[str, ...]) -> None:
    sql = EXCLUSIONS_SQL.format(keys=_keys(by), partition=_partition(by))
    for since in (None, mid(data)):
        want = query(data.cur, sql, since)
        for frame in (data.prepared, data.raw, data.from_db):
            got = stats.exclusions(frame, by=by, since=since)
            same_rows(got, want, [*by, "reason"])
            assert got.columns == [*by, "reason", "excluded", "share"]


@pytest.mark.parametrize("by", [("campaign_id",), ("run_id",), ()])
def test_bounces_match_sql(data: Dataset, by: tuple[str, ...]) -> None:
    sql = BOUNCES_SQL.format(keys=_keys(by), partition=_partition(by))
    for since in (None, mid(data)):
        want = query(data.cur, sql, since)
        for frame in (data.prepared, data.raw, data.from_db):
            got = stats.bounces(frame, by=by, since=since)
            same_rows(got, want, [*by, "bounce", "reason"])


def test_reasons_sorted_most_frequent_first(data: Dataset) -> None:
    got = stats.exclusions(data.prepared)
    for _, part in got.group_by("campaign_id"):
        assert part["excluded"].to_list() == sorted(part["excluded"].to_list(), reverse=True)
        assert math.isclose(part["share"].sum(), 1.0)
    bounced = stats.bounces(data.prepared, by=())
    assert set(bounced["reason"]) <= set(HARD_BOUNCE_REASONS + SOFT_BOUNCE_REASONS)


def test_edge_reasons_keep_nulls_and_unknowns() -> None:
    got = stats.exclusions(edge_frame(), by=())
    assert got["reason"].to_list() == ["some_new_reason", "suppressed", None]  # ties: by reason, null last
    assert got["excluded"].to_list() == [1, 1, 1]
    b = stats.bounces(edge_frame(), by=()).row(0, named=True)
    assert b["bounce"] is None and b["reason"] == "unknown" and b["share"] == 1.0


# ------------------------------------------------------------------------------------------------
# time_series


@pytest.mark.parametrize("every,unit", [("1h", "hour"), ("1d", "day")])
@pytest.mark.parametrize("by", [("campaign_id",), ()])
def test_time_series_matches_sql(data: Dataset, every: stats.Every, unit: str, by: tuple[str, ...]) -> None:
    sql = SERIES_SQL.format(keys=_keys(by), unit=unit)
    for since in (None, mid(data)):
        want = query(data.cur, sql, since)
        for frame in (data.prepared, data.raw, data.from_db.lazy()):
            got = stats.time_series(frame, every=every, by=by, since=since, fill_gaps=False)
            same_rows(got, want, [*by, "bucket"])


@pytest.mark.parametrize("every", ["1h", "1d"])
def test_time_series_fills_gaps_on_one_axis(data: Dataset, every: stats.Every) -> None:
    step = timedelta(hours=1) if every == "1h" else timedelta(days=1)
    sparse = stats.time_series(data.prepared, every=every, by=("campaign_id",), fill_gaps=False)
    full = stats.time_series(data.prepared, every=every, by=("campaign_id",))
    lo, hi = sparse["bucket"].min(), sparse["bucket"].max()
    axis = [lo + i * step for i in range((hi - lo) // step + 1)]
    for _, part in full.group_by("campaign_id"):
        assert part["bucket"].to_list() == axis
    assert full.drop("campaign_id", "bucket").sum().equals(sparse.drop("campaign_id", "bucket").sum())
    joined = full.join(sparse, on=["campaign_id", "bucket"], how="anti")
    assert joined.drop("campaign_id", "bucket").sum_horizontal().sum() == 0


def test_time_series_rejects_other_steps(data: Dataset) -> None:
    with pytest.raises(ValueError):
        stats.time_series(data.prepared, every="15m")  # type: ignore[arg-type]


def test_time_series_of_no_events() -> None:
    got = stats.time_series(edge_frame().clear(), every="1d")
    assert got.height == 0 and "sent" in got.columns


UNIQUE_SERIES_SQL = """
SELECT {keys} date_trunc('{unit}', occurred_at) AS bucket,
    count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'opened') AS unique_opens,
    count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'clicked') AS unique_clicks
FROM delivery_events
WHERE event IN ('opened', 'clicked') AND occurred_at >= ?
GROUP BY ALL
"""


@pytest.mark.parametrize("every,unit", [("1h", "hour"), ("1d", "day")])
@pytest.mark.parametrize("by", [("campaign_id",), ()])
def test_unique_series_matches_sql(data: Dataset, every: stats.Every, unit: str, by: tuple[str, ...]) -> None:
    sql = UNIQUE_SERIES_SQL.format(keys=_keys(by), unit=unit)
    for since in (None, mid(data)):
        want = query(data.cur, sql, since)
        assert want, "the data must have opens for this test to mean anything"
        for frame in (data.prepared, data.raw, data.from_db.lazy()):
            got = stats.unique_series(frame, every=every, by=by, since=since)
            assert got.columns == [*by, "bucket", "unique_opens", "unique_clicks"]
            same_rows(got, want, [*by, "bucket"])


def test_unique_series_counts_a_recipient_once_per_bucket_not_once_overall(data: Dataset) -> None:
    """Buckets are windows: a recipient opening on two days counts on both, once on each."""
    daily = stats.unique_series(data.prepared, every="1d", by=())
    total = stats.summary(data.prepared, by=()).item(0, "unique_opens")
    assert daily["unique_opens"].sum() > total  # the simulator's repeat opens spread over days


def test_unique_series_with_wide_ids_and_no_events() -> None:
    frame = pl.concat([edge_frame(), edge_frame().with_columns(pl.col("occurred_at") + timedelta(hours=2))])
    wide = frame.with_columns(pl.col("profile_id") + (1 << 40))
    store, cur = load(wide)
    same_rows(stats.unique_series(wide, every="1h"), query(cur, UNIQUE_SERIES_SQL.format(keys="", unit="hour"), None),
              ["bucket"])
    store.close()
    empty = stats.unique_series(edge_frame().clear(), every="1d")
    assert empty.height == 0 and empty.columns == ["bucket", "unique_opens", "unique_clicks"]
    with pytest.raises(ValueError):
        stats.unique_series(edge_frame(), every="1w")  # type: ignore[arg-type]


def test_with_rates_recomputes_summary_rates_from_counts(data: Dataset) -> None:
    """Counts summed over runs give the campaign figures, and with_rates their exact rates."""
    by_run = stats.summary(data.prepared, by=("campaign_id", "run_id"))
    summed = by_run.group_by("campaign_id").agg(pl.col(list(stats.COUNTS)).sum()).sort("campaign_id")
    assert stats.with_rates(summed).equals(stats.summary(data.prepared, by=("campaign_id",)))


# ------------------------------------------------------------------------------------------------
# breakdown


@pytest.mark.parametrize("attribute", ["country", "loyalty_tier"])
@pytest.mark.parametrize("by", [("campaign_id",), ()])
def test_breakdown_matches_sql(data: Dataset, attribute: str, by: tuple[str, ...]) -> None:
    sql = BREAKDOWN_SQL.format(keys=_keys(by, "e."), attribute=attribute)
    for since in (None, mid(data)):
        want = query(data.cur, sql, since)
        for frame in (data.prepared, data.raw):
            got = stats.breakdown(frame, data.profiles, attribute, by=by, since=since)
            assert got.columns == [*by, attribute, *stats.BREAKDOWN_COUNTS, *stats.BREAKDOWN_RATES]
            same_rows(got, want, [*by, attribute])


def test_breakdown_with_enum_profiles_and_unknown_profiles(data: Dataset) -> None:
    """Profiles as the app holds them (Enum attribute) and events of profiles that are gone."""
    kept = data.profiles.filter(pl.col("profile_id") > 100).with_columns(
        pl.col("loyalty_tier").cast(pl.Enum(["none", "bronze", "silver", "gold", "platinum"]))
    )
    got = stats.breakdown(data.prepared, kept, "loyalty_tier", by=())
    unknown = got.filter(pl.col("loyalty_tier").is_null()).row(0, named=True)
    gone = data.raw.filter(pl.col("profile_id") <= 100)
    assert unknown["targeted"] == gone.filter(pl.col("event").is_in(stats.DISPOSITIONS)).height
    assert got["targeted"].sum() == stats.summary(data.prepared, by=()).item(0, "targeted")


def test_breakdown_refuses_event_columns(data: Dataset) -> None:
    with pytest.raises(ValueError):
        stats.breakdown(data.prepared, data.profiles, "reason")


# ------------------------------------------------------------------------------------------------
# The simulator


def test_simulation_is_deterministic() -> None:
    a = simulate_events(800, campaigns=3, runs_per_campaign=2, seed=5)
    b = simulate_events(800, campaigns=3, runs_per_campaign=2, seed=5)
    c = simulate_events(800, campaigns=3, runs_per_campaign=2, seed=6)
    assert a.equals(b)
    assert not a.equals(c)


def test_simulation_schema_matches_duckdb(data: Dataset) -> None:
    """Same columns and dtypes as DuckDB's `.pl()` of the table, Enum standing in for Categorical."""
    assert data.raw.schema == pl.Schema(SCHEMA)
    assert data.from_db.columns == data.raw.columns
    for name, dtype in data.from_db.schema.items():
        want = data.raw.schema[name]
        assert dtype == want or (dtype == pl.Categorical and isinstance(want, pl.Enum)), name
    order = ["run_id", "profile_id", "event", "occurred_at"]
    back = data.from_db.with_columns(
        pl.col("channel").cast(SCHEMA["channel"]), pl.col("event").cast(SCHEMA["event"]),
        pl.col("bounce").cast(SCHEMA["bounce"]),
    )
    assert back.sort(order).equals(data.raw.sort(order))


def test_simulation_edge_sizes() -> None:
    assert simulate_events(0).height == 0
    assert simulate_events(100, campaigns=0).height == 0
    assert simulate_events(0).schema == pl.Schema(SCHEMA)
    with pytest.raises(ValueError):
        simulate_events(-1)
    with pytest.raises(ValueError):
        simulate_events(10, channels=())


INVARIANTS_SQL: dict[str, str] = {
    "recipients without exactly one disposition": """
        SELECT run_id, profile_id FROM delivery_events GROUP BY ALL
        HAVING count(*) FILTER (WHERE event IN ('excluded', 'sent', 'error')) <> 1""",
    "outcomes without a send before them, or two outcomes": """
        SELECT run_id, profile_id FROM delivery_events GROUP BY ALL
        HAVING count(*) FILTER (WHERE event IN ('delivered', 'bounced')) > 1
            OR (count(*) FILTER (WHERE event IN ('delivered', 'bounced')) = 1 AND (
                count(*) FILTER (WHERE event = 'sent') = 0
                OR min(occurred_at) FILTER (WHERE event IN ('delivered', 'bounced'))
                    <= min(occurred_at) FILTER (WHERE event = 'sent')))""",
    "engagement without a delivery before it": """
        SELECT run_id, profile_id FROM delivery_events GROUP BY ALL
        HAVING count(*) FILTER (WHERE event IN ('opened', 'clicked', 'unsubscribed', 'complained')) > 0
            AND (count(*) FILTER (WHERE event = 'delivered') = 0
                OR min(occurred_at) FILTER (WHERE event IN ('opened', 'clicked', 'unsubscribed', 'complained'))
                    <= min(occurred_at) FILTER (WHERE event = 'delivered'))""",
    "email clicks before the first open": """
        SELECT run_id, profile_id FROM delivery_events WHERE channel = 'email' GROUP BY ALL
        HAVING count(*) FILTER (WHERE event = 'clicked') > 0
            AND (count(*) FILTER (WHERE event = 'opened') = 0
                OR min(occurred_at) FILTER (WHERE event = 'clicked')
                    <= min(occurred_at) FILTER (WHERE event = 'opened'))""",
    "opens on channels without opens": """
        SELECT * FROM delivery_events WHERE event = 'opened' AND channel IN ('sms', 'webhook')""",
    "repeated unsubscribes or complaints": """
        SELECT run_id, profile_id, event FROM delivery_events
        WHERE event IN ('unsubscribed', 'complained') GROUP BY ALL HAVING count(*) > 1""",
    "bounce kind off bounces, or missing on them": """
        SELECT * FROM delivery_events WHERE (bounce IS NULL) = (event = 'bounced')""",
    "reason where none belongs, or missing": """
        SELECT * FROM delivery_events
        WHERE (reason IS NULL) = (event IN ('excluded', 'error', 'bounced'))""",
    "runs with two campaigns, versions or channels": """
        SELECT run_id FROM delivery_events GROUP BY run_id
        HAVING count(DISTINCT campaign_id) > 1 OR count(DISTINCT version) > 1 OR count(DISTINCT channel) > 1""",
    "profile ids outside 1..n": f"""
        SELECT * FROM delivery_events WHERE profile_id < 1 OR profile_id > {N}""",
}


@pytest.mark.parametrize("name", list(INVARIANTS_SQL))
def test_simulation_invariants(data: Dataset, name: str) -> None:
    assert data.cur.execute(INVARIANTS_SQL[name]).fetchall() == [], name


def test_simulation_reasons_come_from_the_known_lists(data: Dataset) -> None:
    rows = query(data.cur, """
        SELECT event::VARCHAR AS event, bounce::VARCHAR AS bounce, list(DISTINCT reason) AS reasons
        FROM delivery_events WHERE reason IS NOT NULL AND occurred_at >= ? GROUP BY ALL""", None)
    allowed = {
        ("excluded", None): set(stats.EXCLUSION_REASONS), ("error", None): set(ERROR_REASONS),
        ("bounced", "hard"): set(HARD_BOUNCE_REASONS), ("bounced", "soft"): set(SOFT_BOUNCE_REASONS),
    }
    for row in rows:
        assert set(row["reasons"]) <= allowed[(row["event"], row["bounce"])], row


def test_simulation_rates_are_realistic() -> None:
    events = simulate_events(40_000, campaigns=6, runs_per_campaign=2, seed=3)
    t = stats.summary(events, by=()).row(0, named=True)
    assert 0.04 <= t["excluded"] / t["targeted"] <= 0.065
    assert 0.006 <= t["errors"] / t["targeted"] <= 0.014
    assert all(t[f"excluded_{r}"] > 0 for r in stats.EXCLUSION_REASONS)
    assert 0.94 <= t["delivery_rate"] <= 0.975
    assert 0.02 <= t["bounce_rate"] <= 0.04 and t["bounced_hard"] > 0 and t["bounced_soft"] > 0
    assert 0.20 <= t["unique_open_rate"] <= 0.35 and t["opens"] > 1.3 * t["unique_opens"]
    assert 0.10 <= t["click_to_open_rate"] <= 0.25 and t["clicks"] > 1.1 * t["unique_clicks"]
    assert 0.002 <= t["unsubscribe_rate"] <= 0.004
    assert 0.0002 <= t["complaints"] / t["delivered"] <= 0.0009
    spread = events.filter(pl.col("event") == "opened").group_by("run_id", "profile_id").agg(
        (pl.col("occurred_at").max() - pl.col("occurred_at").min()).alias("span"))
    assert spread["span"].max() > timedelta(days=1)  # repeat opens spread over days


def test_simulation_profile_ids_match_generated_profiles(data: Dataset) -> None:
    ids = set(data.profiles["profile_id"].to_list())
    assert set(data.raw["profile_id"].unique().to_list()) <= ids
    assert data.raw["profile_id"].n_unique() > 0.9 * N


def test_simulation_start_may_be_aware() -> None:
    aware = START.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=-4)))
    assert simulate_events(200, campaigns=1, runs_per_campaign=1, seed=1, start=aware).equals(
        simulate_events(200, campaigns=1, runs_per_campaign=1, seed=1, start=START))
