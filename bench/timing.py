"""Timing helpers the benches share: repeated runs after a warm-up, and their p95."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable


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
