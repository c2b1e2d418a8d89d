"""The sandbox provider: what would happen to each message, simulated reproducibly.

Every draw comes from a hash of (run, profile, purpose of the draw), not from a sequential random
stream, so an outcome does not depend on batch boundaries or on a run being resumed: the same run
gives the same events. Rates depend on the channel and on profile attributes (loyalty tier,
country, age) so that breakdowns show real differences. Engagement is spread over the hours and
days after the send; analytics count an event once its time has come.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def _stream_salt(stream: int | np.ndarray) -> np.ndarray | np.uint64:
    if isinstance(stream, np.ndarray):
        return stream.astype(np.uint64) * np.uint64(0x632BE59BD9B4E019)
    return np.uint64((stream * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)


STREAMS = np.arange(12, dtype=np.uint64).reshape(12, 1)  # the draws of one message, as a column


def _draw(profile_ids: np.ndarray, run_id: int | np.ndarray, stream: int | np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per profile from splitmix64 of (run, profile, stream): stable across batches.

    `run_id` may be one run or one per profile (`simulate_many`); `stream` one stream, or a column
    of streams (`STREAMS`: one row of draws each, in one pass rather than a dozen). uint64
    arithmetic wraps modulo 2^64 exactly as the masked Python integers do, so all give the same draws."""
    with np.errstate(over="ignore"):
        x = profile_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        if isinstance(run_id, np.ndarray):
            x = x ^ (run_id.astype(np.uint64) * np.uint64(0x100000001B3) + _stream_salt(stream))
        elif isinstance(stream, np.ndarray):
            x = x ^ (_stream_salt(stream) + np.uint64(run_id * 0x100000001B3 & 0xFFFFFFFFFFFFFFFF))
        else:
            x ^= np.uint64((run_id * 0x100000001B3 + stream * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9) & _MASK64
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB) & _MASK64
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _factor(values: pl.Series | list[str | None], table: dict[str, float]) -> np.ndarray:
    if isinstance(values, list):
        return np.array([table.get(v, 1.0) if v is not None else 1.0 for v in values], dtype=np.float64)
    if len(values) <= SMALL:  # a dict lookup per value beats a Polars call for a few (API triggers)
        return np.array([table.get(v, 1.0) for v in values.cast(pl.String).to_list()], dtype=np.float64)
    return values.cast(pl.String).replace_strict(table, default=1.0, return_dtype=pl.Float64).to_numpy()


SMALL = 512


def _draw_few(profile_ids: list[int], run_id: int, stream: int) -> list[float]:
    """`_draw` in Python integers, bit for bit: for a few profiles (an API call names one or two)
    a dozen NumPy calls cost more than the arithmetic."""
    m = 0xFFFFFFFFFFFFFFFF
    salt = (run_id * 0x100000001B3 + stream * 0x632BE59BD9B4E019) & m
    out = []
    for pid in profile_ids:
        x = ((pid & m) * 0x9E3779B97F4A7C15 & m) ^ salt
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & m
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & m
        x ^= x >> 31
        out.append((x >> 11) / float(1 << 53))
    return out


FEW = 8


def errors(profile_ids: np.ndarray, run_id: int) -> np.ndarray:
    """Which messages of a run the sandbox refuses (an `error` event): the same draw `simulate`
    makes, so a caller can answer before the full simulation runs."""
    if len(profile_ids) <= FEW:
        return np.array([u < ERROR_RATE for u in _draw_few(profile_ids.tolist(), run_id, 0)], dtype=bool)
    return _draw(profile_ids, run_id, 0) < ERROR_RATE


def simulate(
    recipients: pl.DataFrame, run_id: int, channel: Channel, purpose: Purpose, sent_at: np.ndarray
) -> pl.DataFrame:
    """Events (profile_id, event, bounce, reason, occurred_at) for messages handed over at `sent_at`.

    `recipients` needs profile_id, loyalty_tier and country; `sent_at` is datetime64[us] per row.
    """
    ids = recipients["profile_id"].to_numpy()
    _, frame = _frame(ids, _simulate(recipients, ids, run_id, len(ids), channel, purpose, sent_at))
    return frame


def simulate_many(
    recipients: pl.DataFrame, run_ids: np.ndarray, channel: Channel, purpose: Purpose, sent_at: np.ndarray
) -> pl.DataFrame:
    """`simulate` for several runs at once (API triggers committed together): `run_ids` gives each
    row's run, whose rows must be consecutive. The events of each run are exactly what `simulate`
    gives for that run's rows alone, plus a `run_id` column; one call costs about what one run costs."""
    columns = simulate_columns(recipients["profile_id"].to_numpy(), recipients["loyalty_tier"],
                               recipients["country"], run_ids, channel, purpose, sent_at)
    return pl.DataFrame({
        "profile_id": columns["profile_id"],
        "event": _EVENTS.gather(_nullable(columns["event"])),
        "bounce": _BOUNCES.gather(_nullable(columns["bounce"])),
        "reason": _REASONS.gather(_nullable(columns["reason"])),
        "occurred_at": columns["occurred_at"],
        "run_id": pl.Series(columns["run_id"], dtype=pl.Int32),
    })


def simulate_columns(
    profile_ids: np.ndarray, loyalty_tier: pl.Series | list[str | None], country: pl.Series | list[str | None],
    run_ids: np.ndarray, channel: Channel, purpose: Purpose, sent_at: np.ndarray,
) -> dict[str, np.ndarray]:
    """`simulate_many`'s events as NumPy columns, for callers that write them without a DataFrame:
    profile_id, event / bounce / reason (indices into EVENT_NAMES, BOUNCE_NAMES, REASON_NAMES; -1
    for none), occurred_at (datetime64[us]), run_id and row (the recipient's position)."""
    ids = np.asarray(profile_ids, dtype=np.int64)
    runs = np.asarray(run_ids, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]) if len(runs) else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(runs)])
    if len(np.unique(runs)) != len(starts):
        raise ValueError("simulate_many needs each run's rows together")
    batch_len = np.repeat(sizes, sizes)  # what len(ids) is inside `simulate` for each row's run
    parts = _simulate_factors(ids, loyalty_tier, country, runs, batch_len, channel, purpose, sent_at)
    rows = np.concatenate([p[0] for p in parts]).astype(np.int64)
    return {
        "profile_id": ids[rows], "event": _codes(parts, 1), "bounce": _codes(parts, 4), "reason": _codes(parts, 3),
        "occurred_at": np.concatenate([p[2] for p in parts]).astype("datetime64[us]"), "run_id": runs[rows],
        "row": rows,
    }


def _simulate(
    recipients: pl.DataFrame, ids: np.ndarray, run_id: int | np.ndarray, batch_len: int | np.ndarray,
    channel: Channel, purpose: Purpose, sent_at: np.ndarray,
) -> list[tuple[Any, ...]]:
    return _simulate_factors(ids, recipients["loyalty_tier"], recipients["country"], run_id, batch_len, channel,
                             purpose, sent_at)


def _simulate_factors(
    ids: np.ndarray, tier: pl.Series | list[str | None], country: pl.Series | list[str | None],
    run_id: int | np.ndarray, batch_len: int | np.ndarray, channel: Channel, purpose: Purpose, sent_at: np.ndarray,
) -> list[tuple[Any, ...]]:
    """Each kind of event as (row indices into recipients, event, times, reason, bounce)."""
    sent = sent_at.astype("datetime64[us]").astype(np.int64)
    engagement = _factor(tier, TIER_ENGAGEMENT) * _factor(country, COUNTRY_ENGAGEMENT)
    bounce_risk = _factor(tier, TIER_BOUNCE)
    u = _draw(ids, run_id, STREAMS)  # u[k]: stream k

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
    bounce_reason = np.where(hard[b_ids], pick, pick + 3) + 1  # into _REASONS, after ERROR_REASON
    every = np.arange(len(ids))
    return [
        (every[error], _EVENT_CODE["error"], sent[error], 0, None),
        (every[ok], _EVENT_CODE["sent"], sent[ok], None, None),
        (every[delivered], _EVENT_CODE["delivered"], delivered_at[delivered], None, None),
        (b_ids, _EVENT_CODE["bounced"], sent[b_ids] + 2 * _US, bounce_reason, np.where(hard[b_ids], 0, 1)),
        _repeated(ids, batch_len, n_opens, first_open, 5 * 3600 * _US, "opened"),
        _repeated(ids, batch_len, n_clicks, first_click, 2 * 3600 * _US, "clicked"),
        (every[unsubscribed], _EVENT_CODE["unsubscribed"],
         (np.where(opened, first_open, delivered_at) + 60 * _US)[unsubscribed], None, None),
        (every[complained], _EVENT_CODE["complained"], (delivered_at + 2 * 3600 * _US)[complained], None, None),
    ]


EVENT_NAMES = ("error", "sent", "delivered", "bounced", "opened", "clicked", "unsubscribed", "complained")
BOUNCE_NAMES = ("hard", "soft")
REASON_NAMES = (ERROR_REASON, *HARD_REASONS, *SOFT_REASONS)
_EVENT_CODE = {name: i for i, name in enumerate(EVENT_NAMES)}
_EVENTS = pl.Series("event", EVENT_NAMES, dtype=pl.String)
_BOUNCES = pl.Series("bounce", BOUNCE_NAMES, dtype=pl.String)
_REASONS = pl.Series("reason", REASON_NAMES, dtype=pl.String)


def _codes(parts: list[tuple[Any, ...]], position: int) -> np.ndarray:
    """One code per event from the parts' `position` (None: -1, one value, or one per row)."""
    pieces = []
    for part in parts:
        value, n = part[position], len(part[0])
        if isinstance(value, np.ndarray):
            pieces.append(value.astype(np.int64))
        else:
            pieces.append(np.full(n, -1 if value is None else value, dtype=np.int64))
    return np.concatenate(pieces)


def _nullable(codes: np.ndarray) -> pl.Series:
    missing = codes < 0
    return pl.Series(np.where(missing, 0, codes)).set(pl.Series(missing), None) if missing.any() else pl.Series(codes)


def _frame(ids: np.ndarray, parts: list[tuple[Any, ...]]) -> tuple[np.ndarray, pl.DataFrame]:
    """(source row of each event, the events frame): the parts in order, as one frame.

    A part is (rows, event code, times, reason, bounce); reason and bounce are None, one index or
    an index per row into the small tables above, so the text columns are gathered, not built."""
    rows = np.concatenate([p[0] for p in parts]).astype(np.int64)
    frame = pl.DataFrame({
        "profile_id": ids[rows],
        "event": _EVENTS.gather(_nullable(_codes(parts, 1))),
        "bounce": _BOUNCES.gather(_nullable(_codes(parts, 4))),
        "reason": _REASONS.gather(_nullable(_codes(parts, 3))),
        "occurred_at": np.concatenate([p[2] for p in parts]).astype("datetime64[us]"),
    })
    return rows, frame


def _repeated(
    ids: np.ndarray, batch_len: int | np.ndarray, counts: np.ndarray, first: np.ndarray, spacing: int, event: str
) -> tuple[Any, ...]:
    """`counts[i]` events for profile i: the first at `first[i]`, the others spread after it."""
    rows = np.repeat(np.arange(len(ids)), counts)
    nth = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    salt = batch_len[rows] if isinstance(batch_len, np.ndarray) else batch_len
    jitter = (_draw(ids[rows] + nth, salt, 99) * spacing).astype(np.int64) * (nth > 0)
    return rows, _EVENT_CODE[event], first[rows] + nth * spacing + jitter, None, None


def send_times(start: datetime, count: int, per_second: int) -> np.ndarray:
    """When each of `count` messages is handed over at `per_second` (the channel's throttle)."""
    base = np.datetime64(start, "us").astype(np.int64)
    if count <= FEW:  # an API call: Python arithmetic, one array
        return np.array([base + i * _US // max(1, per_second) for i in range(count)], dtype="datetime64[us]")
    return (base + (np.arange(count, dtype=np.int64) * _US) // max(1, per_second)).astype("datetime64[us]")
