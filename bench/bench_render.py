"""Personalised email bodies for 1,000,000 generated profiles with core.templates.render.

Run: `.venv/bin/python -m bench.bench_render [--profiles N] [--repeats K]`.
Target: >= 5,000,000 messages/s (median over the repeats) for plain-text bodies, which is what
runs render; HTML-escaped bodies are measured and checked too, their speed reported for
information. Exits 1 when the plain render misses the target or any rendered message is wrong.
"""

from __future__ import annotations

import argparse
import html
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from core.profiles import generate_profiles
from core.templates import parse, render

NOW = datetime(2026, 11, 23, 9, 0)
TARGET_PER_S = 5_000_000

# A realistic ~750-character plain-text body: five tokens, two with fallbacks; text, a float and a datetime.
BODY = """Hi {{ profile.first_name | there }},

Thank you for being a {{profile.loyalty_tier}} member of Herald Outdoor since {{profile.signup_at}}.
So far you have collected {{profile.lifetime_value}} points with us, and this week we have picked
a few things for the weather in {{ profile.city | your city }}: waterproof jackets, merino layers
and the boots our customers rated best this autumn.

Members get free delivery on every order until Sunday, and returns stay free for 60 days.
Use the code WINTER26 at checkout to take 15% off anything that is not already reduced.

See you soon,
The Herald Outdoor team

You receive this email because you opted in to news from Herald Outdoor.
Unsubscribe or change your preferences at any time from your account page.
"""


def _times(call: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Wall and process-CPU seconds per call; CPU time shows the work when other jobs share the cores."""
    call()  # warm up once: allocator, thread pool, first-touch pages
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _expected(row: dict[str, Any], escape: bool) -> str:
    """One message written out by hand, so a fast but wrong render cannot PASS."""
    def text(value: str | None, fallback: str = "") -> str:
        return (html.escape(value) if escape else value) if value else fallback

    cents = round(row["lifetime_value"] * 100)
    points = f"{cents // 100}" + (f".{cents % 100:02d}".rstrip("0") if cents % 100 else "")
    return (BODY.replace("{{ profile.first_name | there }}", text(row["first_name"], "there"))
            .replace("{{profile.loyalty_tier}}", text(row["loyalty_tier"]))
            .replace("{{profile.signup_at}}", row["signup_at"].strftime("%Y-%m-%d %H:%M"))
            .replace("{{profile.lifetime_value}}", points)
            .replace("{{ profile.city | your city }}", text(row["city"], "your city")))


def _spot_check(profiles: pl.DataFrame, rendered: pl.Series, escape: bool) -> bool:
    """First, middle and last rows: right text, in the right place."""
    rows = sorted({0, profiles.height // 2, profiles.height - 1})
    return rendered.len() == profiles.height and all(
        rendered[i] == _expected(profiles.row(i, named=True), escape) for i in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    profiles = generate_profiles(args.profiles, now=NOW)
    template = parse(BODY)
    print(f"{profiles.height:,} profiles ready in {time.perf_counter() - started:.1f} s; "
          f"template of {len(BODY)} characters with {len(template.tokens)} tokens\n")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{pl.thread_pool_size()} Polars threads, {os.cpu_count()} CPUs, load average {load:.1f} "
          "(other jobs on the machine slow the wall clock; CPU s is the work done)\n")
    header = (f"{'render':22} {'messages':>10} {'median s':>9} {'CPU s':>6} {'messages/s':>12} "
              f"{'target':>12} {'':>6}")
    print(header)
    print("-" * len(header))
    failed = False
    for label, escape in (("plain text", False), ("html-escaped values", True)):
        rendered = render(template, profiles, escape_html=escape)
        correct = _spot_check(profiles, rendered, escape)
        wall, cpu = _times(lambda e=escape: render(template, profiles, escape_html=e), args.repeats)
        median = statistics.median(wall)
        rate = profiles.height / median
        fast_enough = rate >= TARGET_PER_S or escape  # the target is the plain render runs use
        verdict = ("PASS" if rate >= TARGET_PER_S else "info") if correct and fast_enough else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{label:22} {profiles.height:10,} {median:9.3f} {statistics.median(cpu):6.3f} {rate:12,.0f} "
              f"{'>= ' + f'{TARGET_PER_S:,}':>12} {verdict:>6}{'' if correct else '  (wrong output)'}")
    mb = rendered.str.len_bytes().sum() / 1e6
    print(f"\n{mb:,.0f} MB of message text per render")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
