"""A token bucket that spaces real hand-offs at a channel's `throttle_per_second`.

The sandbox only computes when messages would leave; a real provider must actually wait, or a
batch would hit the server as fast as the socket allows and trip its rate limits. The clock and
the sleep are injectable so tests check the pacing without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """At most `per_second` hand-offs per second on average, at most `burst` back to back.

    With the default burst of 1 the hand-offs are evenly spaced 1/per_second apart; time spent
    on slow hand-offs is not saved up beyond `burst`, so the rate is never exceeded.
    """

    def __init__(
        self,
        per_second: float,
        *,
        burst: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second must be positive, not {per_second!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.per_second = float(per_second)
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(burst)  # a full bucket: the first hand-offs go at once
        self._last = monotonic()

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.per_second)
        self._last = now

    def wait(self) -> float:
        """Block until the next hand-off may go; return how long it slept (0.0 if not at all)."""
        self._refill()
        waited = 0.0
        if self._tokens < 1.0:
            waited = (1.0 - self._tokens) / self.per_second
            self._sleep(waited)
            self._refill()
        # Whatever the sleep really took: a short sleep leaves a debt the next wait pays back.
        self._tokens -= 1.0
        return waited
