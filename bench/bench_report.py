"""Campaign report page on a workspace of 10,000,000 profiles and 50,000,000 delivery events: the
rerun Streamlit does on every click (`Analytics.report` + `Analytics.breakdown`, caches warm), the
same calls recomputed from the in-memory events (memoised figures dropped), and the cold load.

Run: `.venv/bin/python -m bench.bench_report [--profiles N] [--events N] [--repeats K]` (or `make bench`).
Target (issue "Run analytics"): a rerun of the report page stays under 200 ms (median), all time
and last 24 hours, for the workspace's biggest campaign and for a typical one. Exits 1 otherwise.

The data is generated in code, deterministically: `generate_profiles` for the profiles, and
`simulate_events` for one big email campaign drawn from all 10M profiles (one run: 3.6M recipients,
8.9M events) plus 24 recurring campaigns over four channels (3 runs each, ~1.7M events each) filling
the rest, so benchmarks have peers.
The clock stands 12 hours after the big campaign's send, so its last-24-hours view is full.
"""

from __future__ import annotations

import argparse
import statistics as pystats
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from bench.timing import p95, rss_gb, step, times
from core.enums import Role
from core.event_simulation import simulate_events
from core.profiles import generate_profiles
from core.store import Store
from core.store import delivery_rows
from core.workspace import Workspace

SEED = 20261123
HISTORY_START = datetime(2026, 9, 1, 8, 0)
BIG_START = datetime(2026, 11, 20, 8, 0)
OTHERS, OTHER_RUNS = 24, 3
OTHER_CHANNELS = ("email", "sms", "push", "in_app")
TARGET_MS = 200.0
BATCH = 20_000



def _events(profiles: int, target: int) -> pl.DataFrame:
    """The big campaign (id 1, run 1) over every profile, then the others (ids 2.., runs 2..) on the
    first profiles, sized from a pilot run so the total lands near `target`."""
    big = simulate_events(profiles, campaigns=1, runs_per_campaign=1, seed=SEED, start=BIG_START)
    pilot_n = 20_000
    pilot = simulate_events(pilot_n, campaigns=OTHERS, runs_per_campaign=OTHER_RUNS, seed=SEED + 1,
                            start=HISTORY_START, channels=OTHER_CHANNELS).height / pilot_n
    n_others = min(profiles, max(1_000, round((target - big.height) / pilot)))
    others = simulate_events(n_others, campaigns=OTHERS, runs_per_campaign=OTHER_RUNS, seed=SEED + 1,
                             start=HISTORY_START, channels=OTHER_CHANNELS)
    others = others.with_columns(pl.col("run_id") + 1, pl.col("campaign_id") + 1)
    return pl.concat([big, others], how="vertical")


def _setup(profiles: int, events: int, clock: list[datetime]) -> tuple[Workspace, Any, int, int]:
    ws = Workspace(Store(":memory:"), clock=lambda: clock[0])
    admin = ws.add_user(None, "Bench", "bench@herald.example", Role.ADMINISTRATOR)
    step(f"generate and store {profiles:,} profiles", lambda: ws.replace_profiles(
        admin, generate_profiles(profiles, now=BIG_START)), width=58)
    frame, _ = step("simulate delivery events", lambda: _events(profiles, events), width=58)
    print(f"  -> {frame.height:,} events", flush=True)
    # Campaign rows (ids 1..25) on the events' channels, and a run row per simulated run.
    channels = ["email", *(OTHER_CHANNELS[i % len(OTHER_CHANNELS)] for i in range(OTHERS))]
    for i, channel in enumerate(channels):
        ws.campaigns.create(admin, {"name": "Big newsletter" if i == 0 else f"Campaign {i + 1}", "channel": channel})
    runs = frame.group_by("run_id", "campaign_id", "version", "channel").agg(pl.col("occurred_at").min()).sort("run_id")

    def store() -> None:
        with ws.store.transaction() as cur:
            for run in runs.iter_rows(named=True):
                run_id = delivery_rows.insert_run(cur, run["campaign_id"], run["version"], str(run["channel"]),
                                                  run["occurred_at"], run["occurred_at"])
                assert run_id == run["run_id"], (run_id, run["run_id"])
                delivery_rows.update_run(cur, run_id, status="finished")
            delivery_rows.insert_events(cur, frame)

    step("store events and runs in DuckDB", store, width=58)
    big_sent = frame.filter((pl.col("campaign_id") == 1) & (pl.col("event") == "sent"))["occurred_at"].min()
    clock[0] = big_sent.replace(microsecond=0) + timedelta(hours=12)
    typical = 2  # an email campaign of the history (channels[1] is email too: 24 % 4 == 0)
    return ws, admin, frame.height, typical


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)

    print(f"Report page bench: {args.profiles:,} profiles, ~{args.events:,} events, "
          f"Polars {pl.__version__} ({pl.thread_pool_size()} threads)", flush=True)
    clock = [BIG_START]
    ws, admin, n_events, typical = _setup(args.profiles, args.events, clock)
    analytics = ws.analytics

    print("\nCold load (the first report after the app starts; the page shows progress meanwhile)")
    _, t_profiles = step("profile frame into memory (Audiences.profiles)", ws.audiences.profiles, width=58)
    last = [-1.0]

    def progress(fraction: float, text: str) -> None:
        if fraction - last[0] >= 0.2 or fraction == 1.0:
            last[0] = fraction
            print(f"      {fraction:4.0%}  {text}", flush=True)

    _, t_events = step("events into memory (Analytics.warm: read + prepare)", lambda: analytics.warm(admin, progress), width=58)

    rows: list[tuple[str, float, list[float], list[float]]] = []
    for name, campaign_id in (("biggest", 1), ("typical", typical)):
        for last_24h in (False, True):
            label = f"{name} campaign, {'last 24 h' if last_24h else 'all time'}"

            def page(cid: int = campaign_id, window: bool = last_24h) -> None:
                report = analytics.report(admin, cid, last_24h=window)
                analytics.breakdown(admin, cid, attribute="country", last_24h=window)
                assert report.figures["targeted"] >= 0

            _, first = step(f"first report + breakdown: {label}", page, width=58)
            rerun = times(page, args.repeats, warmups=0)

            def recompute(cid: int = campaign_id, window: bool = last_24h) -> None:
                analytics.forget_figures()  # as when new events of this campaign arrive
                page(cid, window)

            fresh = times(recompute, max(3, args.repeats // 4), warmups=0)
            rows.append((label, first, rerun, fresh))
            page()  # leave the memo warm for the next case

    print("\nNew events arrive (a scheduler batch of repeat opens for the typical campaign)")
    with ws.store.transaction() as cur:
        batch = cur.sql(f"SELECT * FROM delivery_events WHERE campaign_id = {typical} AND event = 'opened' "
                        f"LIMIT {BATCH}").pl().with_columns(pl.col("occurred_at") + timedelta(hours=1))
        delivery_rows.insert_events(cur, batch)
    _, t_append = step(f"append {batch.height:,} events (count check, read, statistics.append)",
                        lambda: analytics.warm(admin))
    _, t_after = step("report + breakdown of that campaign, all time, afterwards",
                       lambda: (analytics.report(admin, typical), analytics.breakdown(admin, typical)))

    print(f"\n| {'report page (report + breakdown by country)':<44} | {'first s':>7} | {'rerun median ms':>15} | "
          f"{'rerun p95 ms':>12} | {'recompute median ms':>19} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 17}|{'-' * 14}|{'-' * 21}|")
    for label, first, rerun, fresh in rows:
        print(f"| {label:<44} | {first:7.2f} | {pystats.median(rerun) * 1e3:15.2f} | {p95(rerun) * 1e3:12.2f} | "
              f"{pystats.median(fresh) * 1e3:19.1f} |")
    print(f"| {'cold: profile frame + events into memory':<44} | {t_profiles + t_events:7.1f} | {'':>15} | {'':>12} | "
          f"{'':>19} |")
    print(f"| {f'new events: append {BATCH:,}, then first report':<44} | {t_append + t_after:7.2f} | {'':>15} | "
          f"{'':>12} | {'':>19} |")
    worst = max(pystats.median(rerun) for _, _, rerun, _ in rows) * 1e3
    info = analytics.cache_info()
    print(f"({n_events:,} events; cache: {info['full_loads']} full load(s), {info['appends']} append(s); "
          f"peak RSS {rss_gb():.1f} GB)")
    verdict = worst < TARGET_MS
    print(f"\n{'PASS' if verdict else 'FAIL'}  rerun median < {TARGET_MS:.0f} ms (worst case {worst:.2f} ms)")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
