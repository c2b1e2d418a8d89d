"""Audience sizes on 10,000,000 profiles: the raw Polars expression, Herald's audience-size call,
and the compiled DuckDB SQL, on the same data in one run.

Run: `.venv/bin/python -m bench.bench_audience [--profiles N] [--repeats K]` (or `make bench`).
Targets (issue 3): Herald's call <= 1.5x the raw Polars expression and <= 50 ms p95 on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from bench.timing import p95, times
from core.enums import Role
from core.profiles import generate_profiles
from core.segments import Group, to_sql
from core.store import Store
from core.workspace import Workspace

NOW = datetime(2026, 11, 23, 9, 0)

# (label, rule as a person saves it, the same selection written by hand in Polars)
CASES: list[tuple[str, dict[str, Any], pl.Expr]] = [
    (
        "country in (US, CA)",
        {"match": "all", "rules": [{"attribute": "country", "operator": "in", "value": ["US", "CA"]}]},
        pl.col("country").is_in(["US", "CA"]),
    ),
    (
        "tier in (gold, platinum) and age 25-40",
        {"match": "all", "rules": [
            {"attribute": "loyalty_tier", "operator": "in", "value": ["gold", "platinum"]},
            {"attribute": "age", "operator": "between", "value": [25, 40]},
        ]},
        pl.col("loyalty_tier").is_in(["gold", "platinum"]) & pl.col("age").is_between(25, 40),
    ),
    (
        "signed up in the last 30 days",
        {"match": "all", "rules": [{"attribute": "signup_at", "operator": "within_last_days", "value": 30}]},
        pl.col("signup_at") >= NOW - timedelta(days=30),
    ),
    (
        "LTV >= 1000 or email opt-in false",
        {"match": "any", "rules": [
            {"attribute": "lifetime_value", "operator": "gte", "value": 1000},
            {"attribute": "email_opt_in", "operator": "is_false"},
        ]},
        (pl.col("lifetime_value") >= 1000) | ~pl.col("email_opt_in"),
    ),
]






def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    store = Store(":memory:")
    ws = Workspace(store, clock=lambda: NOW)
    admin = ws.add_user(None, "Bench", "bench@herald.example", Role.ADMINISTRATOR)
    ws.replace_profiles(admin, generate_profiles(args.profiles, now=NOW))
    frame = ws.audiences.profiles()  # loads the in-memory frame once, as the app does
    print(f"{frame.height:,} profiles ready in {time.perf_counter() - started:.1f} s\n")

    header = f"{'rule':40} {'path':14} {'median ms':>10} {'p95 ms':>8} {'vs raw':>7} {'count':>11}"
    print(header)
    print("-" * len(header))
    failed = False
    for label, rule, expr in CASES:
        raw_count = int(frame.select(expr.sum()).item())
        herald_count = ws.audiences.estimate(admin, rule)
        where, params = to_sql(Group.model_validate(rule), NOW)
        sql = f"SELECT count(*) FROM profiles WHERE {where}"
        sql_count = int(store.cursor().execute(sql, params).fetchall()[0][0])
        if not raw_count == herald_count == sql_count:
            print(f"MISMATCH {label}: raw {raw_count}, herald {herald_count}, sql {sql_count}")
            failed = True
        raw = times(lambda expr=expr: frame.select(expr.sum()).item(), args.repeats)
        herald = times(lambda rule=rule: ws.audiences.estimate(admin, rule), args.repeats)
        duck = times(lambda sql=sql, params=params: store.cursor().execute(sql, params).fetchall(), args.repeats)
        base = statistics.median(raw)
        for path, taken in (("raw polars", raw), ("herald", herald), ("duckdb sql", duck)):
            median = statistics.median(taken)
            print(f"{label:40} {path:14} {median * 1e3:10.1f} {p95(taken) * 1e3:8.1f} {median / base:6.2f}x "
                  f"{raw_count:11,}")
        ratio, tail = statistics.median(herald) / base, p95(herald)
        verdict = "PASS" if ratio <= 1.5 and tail <= 0.050 else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{'':40} {'target':14} herald <= 1.5x raw and p95 <= 50 ms: {ratio:.2f}x, {tail * 1e3:.1f} ms {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
