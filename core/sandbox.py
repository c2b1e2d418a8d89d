"""The sandbox provider: what would happen to each message, simulated reproducibly.

Every draw comes from a hash of (run, profile, purpose of the draw), not from a sequential random
stream, so an outcome does not depend on batch boundaries or on a run being resumed: the same run
gives the same events. Rates depend on the channel and on profile attributes (loyalty tier,
country, age) so that breakdowns show real differences. Engagement is spread over the hours and
days after the send; analytics count an event once its time has come.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from core.enums import Channel, Purpose

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_US = 1_000_000  # microseconds per second

BOUNCE_RATE = {Channel.EMAIL: 0.022, Channel.SMS: 0.015, Channel.PUSH: 0.03, Channel.IN_APP: 0.0, Channel.WEBHOOK: 0.004}
OPEN_RATE = {Channel.EMAIL: 0.26, Channel.SMS: 0.0, Channel.PUSH: 0.09, Channel.IN_APP: 0.34, Channel.WEBHOOK: 0.0}
CLICK_RATE = {Channel.EMAIL: 0.18, Channel.SMS: 0.05, Channel.PUSH: 0.25, Channel.IN_APP: 0.22, Channel.WEBHOOK: 0.0}
ERROR_RATE = 0.002
HARD_SHARE = 0.4
UNSUBSCRIBE_RATE = 0.003
COMPLAINT_RATE = 0.0006
TIER_ENGAGEMENT = {"none": 0.7, "bronze": 0.9, "silver": 1.1, "gold": 1.35, "platinum": 1.6}
TIER_BOUNCE = {"none": 1.6, "bronze": 1.1, "silver": 0.8, "gold": 0.6, "platinum": 0.5}
COUNTRY_ENGAGEMENT = {"US": 1.0, "GB": 1.05, "DE": 1.15, "FR": 0.95, "ES": 0.9, "IT": 0.9, "NL": 1.1, "CA": 1.0,
                      "BR": 0.8, "AU": 1.05, "SE": 1.2, "JP": 0.75, "IN": 0.7}
HARD_REASONS = ("550 5.1.1 mailbox does not exist", "550 5.1.2 domain not found", "550 5.7.1 recipient rejected")
SOFT_REASONS = ("452 4.2.2 mailbox full", "421 4.7.0 try again later", "451 4.3.0 temporary server error")
ERROR_REASON = "provider refused the message: malformed recipient"


def _draw(profile_ids: np.ndarray, run_id: int, stream: int) -> np.ndarray:
    """Uniform [0, 1) per profile from splitmix64 of (run, profile, stream): stable across batches."""
    with np.errstate(over="ignore"):
        x = profile_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((run_id * 0x100000001B3 + stream * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9) & _MASK64
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB) & _MASK64
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _factor(values: pl.Series, table: dict[str, float]) -> np.ndarray:
    return values.cast(pl.String).replace_strict(table, default=1.0, return_dtype=pl.Float64).to_numpy()


def simulate(
    recipients: pl.DataFrame, run_id: int, channel: Channel, purpose: Purpose, sent_at: np.ndarray
) -> pl.DataFrame:
    """Events (profile_id, event, bounce, reason, occurred_at) for messages handed over at `sent_at`.

    `recipients` needs profile_id, loyalty_tier and country; `sent_at` is datetime64[us] per row.
    """
    ids = recipients["profile_id"].to_numpy()
    sent = sent_at.astype("datetime64[us]").astype(np.int64)
    engagement = _factor(recipients["loyalty_tier"], TIER_ENGAGEMENT) * _factor(recipients["country"], COUNTRY_ENGAGEMENT)
    bounce_risk = _factor(recipients["loyalty_tier"], TIER_BOUNCE)
    u = [_draw(ids, run_id, k) for k in range(12)]

    error = u[0] < ERROR_RATE
    ok = ~error
    bounced = ok & (u[1] < BOUNCE_RATE[channel] * bounce_risk)
    hard = bounced & (u[2] < HARD_SHARE)
    delivered = ok & ~bounced
    delivered_at = sent + ((1 + u[3] * 29) * _US).astype(np.int64)
    opened = delivered & (u[4] < np.minimum(0.95, OPEN_RATE[channel] * engagement))
    first_open = delivered_at + (-np.log1p(-u[5]) * 3 * 3600 * _US).astype(np.int64)  # mean 3 h
    n_opens = np.where(opened, 1 + np.minimum(4, (-np.log1p(-u[6]) / 1.2).astype(np.int64)), 0)
    can_click = opened if OPEN_RATE[channel] > 0 else delivered
    clicked = can_click & (u[7] < np.minimum(0.95, CLICK_RATE[channel] * engagement))
    first_click = np.where(opened, first_open, delivered_at) + (-np.log1p(-u[8]) * 600 * _US).astype(np.int64)
    n_clicks = np.where(clicked, 1 + np.minimum(3, (-np.log1p(-u[9]) / 1.5).astype(np.int64)), 0)
    marketing = purpose is Purpose.MARKETING
    unsubscribed = delivered & marketing & (u[10] < UNSUBSCRIBE_RATE / np.maximum(engagement, 0.5))
    complained = delivered & (channel is Channel.EMAIL) & marketing & (u[11] < COMPLAINT_RATE)

    b_ids = np.flatnonzero(bounced)
    pick = (u[3][b_ids] * 3).astype(np.int64)  # three reasons of each kind
    bounce_reason = pl.Series(np.where(hard[b_ids], pick, pick + 3)).replace_strict(
        dict(enumerate(HARD_REASONS + SOFT_REASONS)), return_dtype=pl.String
    )
    parts = [
        _events(ids[error], "error", sent[error], reason=ERROR_REASON),
        _events(ids[ok], "sent", sent[ok]),
        _events(ids[delivered], "delivered", delivered_at[delivered]),
        _events(ids[b_ids], "bounced", sent[b_ids] + 2 * _US, reason=bounce_reason,
                bounce=pl.Series(np.where(hard[b_ids], "hard", "soft"), dtype=pl.String)),
        _repeated(ids, n_opens, first_open, 5 * 3600 * _US, "opened"),
        _repeated(ids, n_clicks, first_click, 2 * 3600 * _US, "clicked"),
        _events(ids[unsubscribed], "unsubscribed", (np.where(opened, first_open, delivered_at) + 60 * _US)[unsubscribed]),
        _events(ids[complained], "complained", (delivered_at + 2 * 3600 * _US)[complained]),
    ]
    return pl.concat(parts, how="vertical")


def _events(
    ids: np.ndarray, event: str, at: np.ndarray, reason: str | pl.Series | None = None,
    bounce: pl.Series | None = None,
) -> pl.DataFrame:
    n = len(ids)
    text = lambda value: value if isinstance(value, pl.Series) else pl.repeat(value, n, dtype=pl.String, eager=True)  # noqa: E731
    return pl.DataFrame(
        {
            "profile_id": ids,
            "event": text(event),
            "bounce": text(bounce),
            "reason": text(reason),
            "occurred_at": at.astype("datetime64[us]"),
        }
    )


def _repeated(ids: np.ndarray, counts: np.ndarray, first: np.ndarray, spacing: int, event: str) -> pl.DataFrame:
    """`counts[i]` events for profile i: the first at `first[i]`, the others spread after it."""
    rows = np.repeat(np.arange(len(ids)), counts)
    nth = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    jitter = (_draw(ids[rows] + nth, len(ids), 99) * spacing).astype(np.int64) * (nth > 0)
    return _events(ids[rows], event, first[rows] + nth * spacing + jitter)


def send_times(start: datetime, count: int, per_second: int) -> np.ndarray:
    """When each of `count` messages is handed over at `per_second` (the channel's throttle)."""
    base = np.datetime64(start, "us").astype(np.int64)
    return (base + (np.arange(count, dtype=np.int64) * _US) // max(1, per_second)).astype("datetime64[us]")
