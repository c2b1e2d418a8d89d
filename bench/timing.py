"""Timing helpers the benches share: repeated runs after a warm-up, and their p95."""

from __future__ import annotations

import gc
import math
import resource
import time
from collections.abc import Callable
from typing import Any


def times(call: Callable[[], object], repeats: int, warmups: int = 1) -> list[float]:
    """Seconds per call over `repeats` calls, after `warmups` calls (caches warm, as in the app)."""
    for _ in range(warmups):
        call()
    out = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def rss_gb() -> float:
    """Peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def step(label: str, call: Callable[[], Any], width: int = 44) -> tuple[Any, float]:
    """Run one set-up step, print how long it took and the memory peak, return (value, seconds)."""
    start = time.perf_counter()
    value = call()
    took = time.perf_counter() - start
    print(f"  {label:<{width}} {took:7.1f} s   (peak RSS {rss_gb():.1f} GB)", flush=True)
    return value, took
