"""Campaign summary on 50,000,000 delivery events: Herald's Polars `summary(by campaign)` against the
same aggregation in raw DuckDB SQL over the migration-4 table, on the same events in one run.

Run: `.venv/bin/python -m bench.bench_stats [--events N] [--repeats K]`.
Targets: Polars median <= 1.5x DuckDB's median and <= 300 ms, both engines on the machine's cores.
The app prepares its in-memory frame once (`statistics.prepare`, when it loads events); that cost is
timed and shown on its own line, as is `summary` on an unprepared frame, for reference (no target).
The DuckDB baseline is the fastest of the hand-written forms timed (SQL_TUNED, SQL_GROUPED; with
--naive also the plain COUNT(DISTINCT ...) FILTER form, an order of magnitude slower on DuckDB 2),
and every form must return exactly Polars' figures.
"""

from __future__ import annotations

import argparse
import math
import statistics as pystats
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import polars as pl

from bench.timing import p95, rss_gb, step, times
from core import statistics as stats
from core.event_simulation import simulate_events
from core.store import Store

CAMPAIGNS, RUNS, SEED = 20, 4, 20261123

_COUNTS_SQL = """
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
        {unique_opens} AS unique_opens,
        count(*) FILTER (WHERE event = 'clicked') AS clicks,
        {unique_clicks} AS unique_clicks,
        count(*) FILTER (WHERE event = 'unsubscribed') AS unsubscribes,
        count(*) FILTER (WHERE event = 'complained') AS complaints"""
_RATES_SQL = """
    CASE WHEN sent > 0 THEN delivered / sent END AS delivery_rate,
    CASE WHEN delivered > 0 THEN unique_opens / delivered END AS unique_open_rate,
    CASE WHEN delivered > 0 THEN unique_clicks / delivered END AS unique_click_rate,
    CASE WHEN unique_opens > 0 THEN unique_clicks / unique_opens END AS click_to_open_rate,
    CASE WHEN sent > 0 THEN bounced / sent END AS bounce_rate,
    CASE WHEN delivered > 0 THEN unsubscribes / delivered END AS unsubscribe_rate"""

# Straight from the definition: one pass, COUNT DISTINCT under FILTER.
SQL_NAIVE = f"""
SELECT campaign_id, * EXCLUDE (campaign_id), {_RATES_SQL}
FROM (
    SELECT campaign_id, {_COUNTS_SQL.format(
        unique_opens="count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'opened')",
        unique_clicks="count(DISTINCT (run_id, profile_id)) FILTER (WHERE event = 'clicked')")}
    FROM delivery_events GROUP BY campaign_id
) ORDER BY campaign_id"""

# What a DuckDB user tunes it to: the plain counts in one pass, the uniques from a DISTINCT of the
# opens and clicks only (DuckDB's grouped DISTINCT aggregates are its slow path).
SQL_TUNED = f"""
WITH counts AS (
    SELECT campaign_id, {_COUNTS_SQL.format(unique_opens="0", unique_clicks="0")}
    FROM delivery_events GROUP BY campaign_id
), uniques AS (
    SELECT campaign_id,
        count(*) FILTER (WHERE event = 'opened') AS unique_opens,
        count(*) FILTER (WHERE event = 'clicked') AS unique_clicks
    FROM (SELECT DISTINCT campaign_id, event, run_id, profile_id FROM delivery_events
          WHERE event IN ('opened', 'clicked'))
    GROUP BY campaign_id
), joined AS (
    SELECT c.* REPLACE (coalesce(u.unique_opens, 0) AS unique_opens, coalesce(u.unique_clicks, 0) AS unique_clicks)
    FROM counts c LEFT JOIN uniques u USING (campaign_id)
)
SELECT *, {_RATES_SQL} FROM joined ORDER BY campaign_id"""


# Tuned further: count (campaign, event, reason, bounce) groups in one cheap GROUP BY, then pivot
# the few hundred group rows with FILTERs; uniques as above.
_PIVOT_SQL = """
        sum(n) FILTER (WHERE event IN ('excluded', 'sent', 'error')) AS targeted,
        sum(n) FILTER (WHERE event = 'excluded') AS excluded,
        sum(n) FILTER (WHERE event = 'excluded' AND reason = 'suppressed') AS excluded_suppressed,
        sum(n) FILTER (WHERE event = 'excluded' AND reason = 'no_address') AS excluded_no_address,
        sum(n) FILTER (WHERE event = 'excluded' AND reason = 'no_consent') AS excluded_no_consent,
        sum(n) FILTER (WHERE event = 'excluded' AND reason = 'frequency_cap') AS excluded_frequency_cap,
        sum(n) FILTER (WHERE event = 'sent') AS sent,
        sum(n) FILTER (WHERE event = 'error') AS errors,
        sum(n) FILTER (WHERE event = 'delivered') AS delivered,
        sum(n) FILTER (WHERE event = 'bounced') AS bounced,
        sum(n) FILTER (WHERE event = 'bounced' AND bounce = 'hard') AS bounced_hard,
        sum(n) FILTER (WHERE event = 'bounced' AND bounce = 'soft') AS bounced_soft,
        sum(n) FILTER (WHERE event = 'opened') AS opens,
        0 AS unique_opens,
        sum(n) FILTER (WHERE event = 'clicked') AS clicks,
        0 AS unique_clicks,
        sum(n) FILTER (WHERE event = 'unsubscribed') AS unsubscribes,
        sum(n) FILTER (WHERE event = 'complained') AS complaints"""
_BIGINTS = ", ".join(
    f"coalesce({c}, 0)::BIGINT AS {c}" for c in (
        "targeted", "excluded", "excluded_suppressed", "excluded_no_address", "excluded_no_consent",
        "excluded_frequency_cap", "sent", "errors", "delivered", "bounced", "bounced_hard", "bounced_soft",
        "opens", "unique_opens", "clicks", "unique_clicks", "unsubscribes", "complaints",
    )
)
SQL_GROUPED = f"""
WITH kinds AS (
    SELECT campaign_id, event, reason, bounce, count(*) AS n FROM delivery_events GROUP BY ALL
), pivoted AS (
    SELECT campaign_id, {_PIVOT_SQL} FROM kinds GROUP BY campaign_id
), counts AS (
    SELECT campaign_id, {_BIGINTS} FROM pivoted
), uniques AS (
    SELECT campaign_id,
        count(*) FILTER (WHERE event = 'opened') AS unique_opens,
        count(*) FILTER (WHERE event = 'clicked') AS unique_clicks
    FROM (SELECT DISTINCT campaign_id, event, run_id, profile_id FROM delivery_events
          WHERE event IN ('opened', 'clicked'))
    GROUP BY campaign_id
), joined AS (
    SELECT c.* REPLACE (coalesce(u.unique_opens, 0) AS unique_opens, coalesce(u.unique_clicks, 0) AS unique_clicks)
    FROM counts c LEFT JOIN uniques u USING (campaign_id)
)
SELECT *, {_RATES_SQL} FROM joined ORDER BY campaign_id"""






def _recipients_for(n_events: int) -> int:
    """Recipients that yield ~n_events with this bench's campaigns: scale a small pilot run."""
    pilot = 20_000
    per_recipient = simulate_events(pilot, campaigns=CAMPAIGNS, runs_per_campaign=RUNS, seed=SEED).height / pilot
    return max(1, round(n_events / per_recipient))


def _duck_frame(cur: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return cur.sql(sql).pl()


def _same(polars_out: pl.DataFrame, duck_out: pl.DataFrame) -> list[str]:
    """Differences between the two results (counts exact, rates to float noise); empty = identical."""
    problems: list[str] = []
    if polars_out.columns != duck_out.columns:
        return [f"columns differ: {polars_out.columns} vs {duck_out.columns}"]
    if polars_out.height != duck_out.height:
        return [f"row counts differ: {polars_out.height} vs {duck_out.height}"]
    for p_row, d_row in zip(polars_out.to_dicts(), duck_out.to_dicts()):
        for name, want in d_row.items():
            got = p_row[name]
            if isinstance(want, float) and isinstance(got, float):
                ok = math.isclose(got, want, rel_tol=1e-12)
            else:
                ok = got == want
            if not ok:
                problems.append(f"campaign {d_row['campaign_id']} {name}: polars {got} vs duckdb {want}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--naive", action="store_true", help="also time the plain COUNT DISTINCT SQL")
    args = parser.parse_args(argv)

    print(f"Campaign summary bench: ~{args.events:,} events, {CAMPAIGNS} campaigns x {RUNS} runs, "
          f"Polars {pl.__version__} ({pl.thread_pool_size()} threads), DuckDB {duckdb.__version__}")
    n = _recipients_for(args.events)
    raw, t_sim = step(f"simulate_events({n:,} recipients)", lambda: simulate_events(
        n, campaigns=CAMPAIGNS, runs_per_campaign=RUNS, seed=SEED))
    print(f"  -> {raw.height:,} events, {raw.estimated_size() / 1e9:.2f} GB in Polars")

    store = Store(":memory:")
    cur = store.cursor()
    threads = cur.execute("SELECT current_setting('threads')").fetchall()[0][0]

    def load() -> None:
        cur.register("incoming", raw)
        cur.execute("INSERT INTO delivery_events SELECT * FROM incoming").fetchall()
        cur.unregister("incoming")

    step(f"load into DuckDB (in-memory store, {threads} threads)", load)
    prepared, t_prepare = step("statistics.prepare (one-off, at app load)", lambda: stats.prepare(raw))

    print(f"\nTiming summary(by=campaign_id): median of {args.repeats} after a warm-up", flush=True)
    polars_call = lambda: stats.summary(prepared, by=("campaign_id",))
    t_polars = times(polars_call, args.repeats)
    rows: list[tuple[str, list[float]]] = [("polars summary (prepared frame)", t_polars)]
    duck_candidates = [
        ("duckdb SQL (tuned: FILTERs + DISTINCT subq.)", SQL_TUNED),
        ("duckdb SQL (tuned: GROUP BY kinds + pivot)", SQL_GROUPED),
    ]
    if args.naive:
        duck_candidates.append(("duckdb SQL (naive COUNT DISTINCT FILTER)", SQL_NAIVE))
    duck_times: dict[str, list[float]] = {}
    for label, sql in duck_candidates:
        reps = max(1, args.repeats // 5) if sql is SQL_NAIVE else args.repeats
        duck_times[label] = times(lambda sql=sql: _duck_frame(cur, sql), reps)  # type: ignore[misc]
        rows.append((label, duck_times[label]))
    raw_reps = max(1, args.repeats // 5)
    rows.append(("polars summary (unprepared frame; ref.)",
                 times(lambda: stats.summary(raw, by=("campaign_id",)), raw_reps, warmups=0)))

    best_duck = min(duck_times, key=lambda k: pystats.median(duck_times[k]))
    base = pystats.median(duck_times[best_duck])
    print(f"\n| {'path':<44} | {'median ms':>9} | {'p95 ms':>8} | {'vs DuckDB':>9} |")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 10}|{'-' * 11}|")
    for label, values in rows:
        median = pystats.median(values)
        print(f"| {label:<44} | {median * 1000:9.1f} | {p95(values) * 1000:8.1f} | {median / base:8.2f}x |")
    print(f"| {'prepare (one-off; not in the summary time)':<44} | {t_prepare * 1000:9.0f} | {'':>8} | {'':>9} |")
    print(f"(simulate {t_sim:.1f} s; DuckDB baseline for the ratio: {best_duck})")

    polars_out = polars_call()
    problems = [p for _, sql in duck_candidates for p in _same(polars_out, _duck_frame(cur, sql))]
    ratio = pystats.median(t_polars) / base
    median_ms = pystats.median(t_polars) * 1000
    checks = [
        (f"identical figures ({polars_out.height} campaigns x {polars_out.width - 1} figures)", not problems),
        (f"Polars <= 1.5x DuckDB (is {ratio:.2f}x)", ratio <= 1.5),
        (f"Polars median <= 300 ms (is {median_ms:.0f} ms)", median_ms <= 300),
    ]
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    for problem in problems[:10]:
        print(f"      {problem}")
    print(f"peak RSS {rss_gb():.1f} GB")
    store.close()
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
