"""Benchmark demo-profile seeding so regressions against the 1M-in-10s budget show up early.

Run from the repo root as ``python -m bench.bench_seed`` or ``python bench/bench_seed.py``.
Exits non-zero if any size misses the budget, so it can gate CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a plain script: make the repo root importable so `core` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from core.profiles import generate_profiles

TARGET_SECONDS_PER_MILLION = 10.0


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median resists the odd slow run from GC or a noisy neighbour better than the mean."""
    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _duckdb_insert(frame: pl.DataFrame) -> None:
    """Time the path the app uses to load a seed into an analytic store."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.register("frame", frame)
        con.execute("CREATE TABLE p AS SELECT * FROM frame")
    finally:
        con.close()


def run(sizes: Sequence[int], repeats: int, with_duckdb: bool) -> bool:
    """Print one row per size and report whether every size met the budget."""
    header = f"{'n':>10}  {'gen median s':>12}  {'profiles/s':>12}"
    if with_duckdb:
        header += f"  {'duckdb s':>9}"
    header += f"  {'target':>10}  result"
    print(header)
    print("-" * len(header))
    all_ok = True
    for n in sizes:
        gen_s = _median_seconds(lambda: generate_profiles(n), repeats)
        budget = TARGET_SECONDS_PER_MILLION * n / 1_000_000
        ok = gen_s < budget
        all_ok &= ok
        row = f"{n:>10,}  {gen_s:>12.3f}  {n / gen_s:>12,.0f}"
        if with_duckdb:
            frame = generate_profiles(n)
            row += f"  {_median_seconds(lambda: _duckdb_insert(frame), repeats):>9.3f}"
        row += f"  {'< ' + format(budget, '.2f') + ' s':>10}  {'PASS' if ok else 'FAIL'}"
        print(row, flush=True)
    print(f"target: 1,000,000 profiles < {TARGET_SECONDS_PER_MILLION:.0f} s (scaled linearly for other n)")
    return all_ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="profile counts to time (default: 100000 1000000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median is reported")
    parser.add_argument("--no-duckdb", action="store_true", help="skip timing the duckdb CREATE TABLE")
    args = parser.parse_args(argv)
    if any(n <= 0 for n in args.sizes) or args.repeats <= 0:
        parser.error("--sizes and --repeats must be positive")
    return 0 if run(args.sizes, args.repeats, not args.no_duckdb) else 1


if __name__ == "__main__":
    sys.exit(main())
