"""Deterministic synthetic delivery events (migration 4's `delivery_events`) for tests and benches.

Why: analytics needs realistic volumes (tens of millions of rows) and known invariants without a
real sending history. Everything is vectorised numpy plus a final Polars assembly; the only Python
loops run over campaigns and runs (tens), never over recipients or events. All randomness comes from
one numpy Generator consumed in a fixed order, so (arguments, seed) always yields the same frame.

Model, per run (a campaign's scheduled send):
- the run resolves an audience: each profile is in the campaign's audience with the campaign's share;
- every resolved recipient gets exactly ONE disposition: `excluded` (reason suppressed / no_address /
  no_consent: sticky per profile; frequency_cap: per run), `error` (refused at hand-off, reason) or
  `sent` (about 5% excluded, 1% error);
- a `sent` gets at most one of `delivered` (~96%) / `bounced` (~3%, hard or soft, with a reason); the
  rest never hear back;
- a delivered message may be `opened` (campaign rate 20-35% for email) several times, openers may
  `clicked` (10-25% of openers) several times; `unsubscribed` (~0.3%) and `complained` (~0.05%) at most
  once. Every follow-up happens after the event it follows (seconds to days later).

Dtypes match `SELECT * FROM delivery_events` read with DuckDB's `.pl()` except for the ENUM columns:
DuckDB hands those back as `pl.Categorical`, here they are `pl.Enum` with the SQL ENUM's categories in
the same order (`CHANNEL_DTYPE`, `EVENT_DTYPE`, `BOUNCE_DTYPE`): same strings, a fixed 1-byte code,
and `INSERT INTO delivery_events SELECT * FROM frame` casts them to the SQL ENUMs. `reason` is String.
Rows come in blocks by kind of event (dispositions, deliveries, bounces, opens, ...), by run
within a block, not by time: sort if order matters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from core.enums import Channel
from core.statistics import (
    BOUNCE_DTYPE,
    CHANNEL_DTYPE,
    CHANNELS,
    EVENT_DTYPE,
    EXCLUSION_REASONS,
)

ERROR_REASONS: tuple[str, ...] = ("provider_timeout", "rate_limited", "invalid_payload")
HARD_BOUNCE_REASONS: tuple[str, ...] = ("mailbox_unavailable", "domain_not_found", "invalid_address")
SOFT_BOUNCE_REASONS: tuple[str, ...] = ("mailbox_full", "greylisted", "message_too_large", "temporary_failure")
REASONS: tuple[str, ...] = EXCLUSION_REASONS + ERROR_REASONS + HARD_BOUNCE_REASONS + SOFT_BOUNCE_REASONS

SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.Int32(), "campaign_id": pl.Int32(), "version": pl.Int32(), "profile_id": pl.Int64(),
    "channel": CHANNEL_DTYPE, "event": EVENT_DTYPE, "bounce": BOUNCE_DTYPE, "reason": pl.String(),
    "occurred_at": pl.Datetime("us"),
}

DEFAULT_START: datetime = datetime(2026, 11, 1, 8, 0)

_US = 1_000_000
_MIN = 60 * _US
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
_EPOCH = datetime(1970, 1, 1)

# Sticky per-profile exclusions (cumulative shares of profiles) and per-run ones.
_P_SUPPRESSED, _P_NO_ADDRESS, _P_NO_CONSENT = 0.015, 0.015, 0.012
_P_FREQUENCY_CAP, _P_ERROR = 0.008, 0.010
_P_DELIVERED, _P_BOUNCED = 0.96, 0.03
_P_HARD_OF_BOUNCED = 0.35
_HARD_REASON_P = np.array([0.6, 0.25, 0.15])
_SOFT_REASON_P = np.array([0.45, 0.3, 0.1, 0.15])
_ERROR_REASON_P = np.array([0.5, 0.35, 0.15])
_P_UNSUBSCRIBE, _P_COMPLAINT = 0.003, 0.0005
# Geometric(p) counts: mean 1/p opens per opener, clicks per clicker.
_P_OPEN_STOP, _P_CLICK_STOP = 0.55, 0.7
_SEND_WINDOW_US = 2 * _HOUR
_RUN_EVERY_US = 7 * _DAY
_ERROR_MARK = 99  # placeholder reason code for errors until their reason is drawn


@dataclass(frozen=True)
class _ChannelRates:
    """Engagement ranges per channel: a campaign draws its own rates within them."""

    open_lo: float
    open_hi: float
    click_lo: float  # share of openers (or of delivered when clicks_need_open is False)
    click_hi: float
    clicks_need_open: bool


_RATES: dict[str, _ChannelRates] = {
    "email": _ChannelRates(0.20, 0.35, 0.10, 0.25, True),
    "push": _ChannelRates(0.05, 0.15, 0.0, 0.0, True),
    "in_app": _ChannelRates(0.30, 0.60, 0.05, 0.15, True),
    "sms": _ChannelRates(0.0, 0.0, 0.02, 0.08, False),
    "webhook": _ChannelRates(0.0, 0.0, 0.0, 0.0, True),
}


@dataclass
class _Part:
    """A block of events of one run/profile shape: who, what happened, when, why."""

    run: np.ndarray  # run index (run_id - 1), int32
    prof: np.ndarray  # profile index (profile_id - 1), int32
    event: np.ndarray | int  # index into EVENTS
    at: np.ndarray  # microseconds since the epoch
    reason: np.ndarray | None = None  # index into REASONS, -1 for none
    bounce: np.ndarray | None = None  # index into BOUNCE_KINDS, -1 for none


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """Categorical draw by inverse CDF: cheaper than rng.choice for millions of rows."""
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n), side="right").astype(np.int16)


def _after(rng: np.random.Generator, base: np.ndarray, mean_us: float, floor_us: int = _US) -> np.ndarray:
    """A time some exponential delay after `base`: follow-ups never precede what they follow."""
    return base + floor_us + rng.exponential(mean_us, base.size).astype(np.int64)


def simulate_events(
    n_recipients: int,
    campaigns: int = 12,
    runs_per_campaign: int = 4,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    channels: Sequence[Channel | str] = (Channel.EMAIL,),
) -> pl.DataFrame:
    """Delivery events for `campaigns` campaigns x `runs_per_campaign` weekly runs over profiles 1..n.

    Profile ids 1..n_recipients line up with `generate_profiles(n_recipients)`. Campaign c (1-based)
    uses channels[(c - 1) % len(channels)]; run ids are 1.. in (campaign, run) order. Each
    resolved recipient yields ~2.5 events on email, so events ~ 2.5 x n x runs x 0.67 (mean audience
    share); `bench.bench_stats` scales n from a small pilot run to hit a target count.
    """
    if n_recipients < 0 or campaigns < 0 or runs_per_campaign < 0:
        raise ValueError("n_recipients, campaigns and runs_per_campaign must be >= 0")
    if not channels:
        raise ValueError("channels must not be empty")
    if start.tzinfo is not None:  # the table holds naive UTC
        start = start.astimezone(UTC).replace(tzinfo=None)
    rng = np.random.default_rng(seed)
    n_runs = campaigns * runs_per_campaign
    start_us = (start - _EPOCH) // timedelta(microseconds=1)

    # Per campaign: channel, audience share, engagement rates, first send.
    chan_names = [Channel(c).value for c in channels]
    camp_channel = np.array([CHANNELS.index(chan_names[c % len(chan_names)]) for c in range(campaigns)],
                            dtype=np.int16)
    rates = [_RATES[CHANNELS[i]] for i in camp_channel]
    camp_share = rng.uniform(0.35, 1.0, campaigns)
    camp_open = np.array([rng.uniform(r.open_lo, r.open_hi) for r in rates])
    camp_click = np.array([rng.uniform(r.click_lo, r.click_hi) for r in rates])
    camp_need_open = np.array([r.clicks_need_open for r in rates], dtype=bool)
    camp_start = start_us + np.arange(campaigns) * _DAY + rng.integers(0, 10 * _HOUR, campaigns)

    # Per run (run_id = index + 1): campaign, version (bumped now and then), start time.
    run_campaign = np.repeat(np.arange(campaigns), runs_per_campaign)
    run_k = np.tile(np.arange(runs_per_campaign), campaigns)
    bump = (rng.random(n_runs) < 0.3) & (run_k > 0)
    run_version = np.ones(n_runs, dtype=np.int32)
    for c in range(campaigns):
        lo, hi = c * runs_per_campaign, (c + 1) * runs_per_campaign
        run_version[lo:hi] = 1 + np.cumsum(bump[lo:hi])
    run_start = camp_start[run_campaign] + run_k * _RUN_EVERY_US + rng.integers(0, 15 * _MIN, n_runs)

    # Resolution: which profiles each run targets (per-run loop keeps the n x runs draw chunked).
    profile_u = rng.random(n_recipients)  # sticky exclusion propensity of each profile
    run_rows: list[np.ndarray] = []
    prof_rows: list[np.ndarray] = []
    for r in range(n_runs):
        picked = np.flatnonzero(rng.random(n_recipients) < camp_share[run_campaign[r]]).astype(np.int32)
        prof_rows.append(picked)
        run_rows.append(np.full(picked.size, r, dtype=np.int32))
    d_run = np.concatenate(run_rows) if run_rows else np.zeros(0, np.int32)
    d_prof = np.concatenate(prof_rows) if prof_rows else np.zeros(0, np.int32)
    del run_rows, prof_rows
    n_disp = d_run.size
    d_camp = run_campaign[d_run]

    # Dispositions: sticky exclusions from the profile, then per-run frequency cap and errors. One
    # part covers every resolved recipient, so the biggest block needs no gather.
    pu = profile_u[d_prof]
    v = rng.random(n_disp)
    t1, t2, t3 = _P_SUPPRESSED, _P_SUPPRESSED + _P_NO_ADDRESS, _P_SUPPRESSED + _P_NO_ADDRESS + _P_NO_CONSENT
    reason = np.select(
        [pu < t1, pu < t2, pu < t3, v < _P_FREQUENCY_CAP, v < _P_FREQUENCY_CAP + _P_ERROR],
        [0, 1, 2, 3, _ERROR_MARK], -1,
    ).astype(np.int8)
    del pu, v
    error = reason == _ERROR_MARK
    reason[error] = len(EXCLUSION_REASONS) + _choice(rng, _ERROR_REASON_P, int(error.sum()))
    excluded = (reason >= 0) & ~error
    event = np.where(excluded, np.uint8(0), np.where(error, np.uint8(2), np.uint8(1)))
    run_at = run_start[d_run]
    send_at = run_at + rng.integers(0, _SEND_WINDOW_US, n_disp)
    resolve_at = run_at + _US + rng.exponential(20e6, n_disp).astype(np.int64)
    del run_at
    parts: list[_Part] = [_Part(d_run, d_prof, event, np.where(excluded, resolve_at, send_at), reason)]
    del resolve_at, excluded
    idx_sent = np.flatnonzero(event == 1)
    del event, error, reason

    # Outcome of each send.
    u = rng.random(idx_sent.size)
    deliv = idx_sent[u < _P_DELIVERED]
    bounced = idx_sent[(u >= _P_DELIVERED) & (u < _P_DELIVERED + _P_BOUNCED)]
    del u, idx_sent
    d_run, d_prof, send_at, d_camp = d_run[deliv], d_prof[deliv], send_at[deliv], d_camp[deliv]
    # From here on rows index the delivered messages.
    deliv_at = _after(rng, send_at, 4e6)
    parts.append(_Part(d_run, d_prof, 3, deliv_at))
    hard = rng.random(bounced.size) < _P_HARD_OF_BOUNCED
    reason_base_hard = len(EXCLUSION_REASONS) + len(ERROR_REASONS)
    b_reason = np.where(
        hard,
        reason_base_hard + _choice(rng, _HARD_REASON_P, bounced.size),
        reason_base_hard + len(HARD_BOUNCE_REASONS) + _choice(rng, _SOFT_REASON_P, bounced.size),
    ).astype(np.int8)
    b_delay = np.where(hard, rng.exponential(30e6, bounced.size), rng.exponential(2 * _HOUR, bounced.size))
    parts.append(_Part(parts[0].run[bounced], parts[0].prof[bounced], 4,
                       parts[0].at[bounced] + _US + b_delay.astype(np.int64), reason=b_reason,
                       bounce=np.where(hard, 0, 1).astype(np.int8)))
    del send_at, bounced, hard, b_reason, b_delay, deliv

    # Opens: first one hours after delivery (lognormal, median ~2 h, tail of days), repeats later.
    opener = np.flatnonzero(rng.random(d_run.size) < camp_open[d_camp])
    o_first = deliv_at[opener] + 30 * _US + rng.lognormal(np.log(2 * _HOUR), 1.3, opener.size).astype(np.int64)
    n_opens = rng.geometric(_P_OPEN_STOP, opener.size)
    rep = np.repeat(np.arange(opener.size), n_opens - 1)
    o_run, o_prof = d_run[opener], d_prof[opener]
    parts.append(_Part(o_run, o_prof, 5, o_first))
    parts.append(_Part(o_run[rep], o_prof[rep], 5, _after(rng, o_first[rep], 12 * _HOUR)))
    del rep, n_opens

    # Clicks: from openers (first click minutes after the first open) or, for channels without
    # opens, straight from delivered messages.
    o_camp = d_camp[opener]
    from_open = np.flatnonzero(camp_need_open[o_camp] & (rng.random(opener.size) < camp_click[o_camp]))
    free = np.flatnonzero(~camp_need_open[d_camp] & (rng.random(d_run.size) < camp_click[d_camp]))
    c_run = np.concatenate([o_run[from_open], d_run[free]])
    c_prof = np.concatenate([o_prof[from_open], d_prof[free]])
    c_first = _after(rng, np.concatenate([o_first[from_open], deliv_at[free]]), 3 * _MIN)
    n_clicks = rng.geometric(_P_CLICK_STOP, c_run.size)
    rep = np.repeat(np.arange(c_run.size), n_clicks - 1)
    parts.append(_Part(c_run, c_prof, 6, c_first))
    parts.append(_Part(c_run[rep], c_prof[rep], 6, _after(rng, c_first[rep], _HOUR)))
    del opener, o_first, o_run, o_prof, o_camp, from_open, free, c_run, c_prof, c_first, n_clicks, rep

    # Unsubscribes and complaints: at most once per delivered message.
    w = rng.random(d_run.size)
    for event_code, lo, hi, mean in ((7, 0.0, _P_UNSUBSCRIBE, 6 * _HOUR),
                                     (8, _P_UNSUBSCRIBE, _P_UNSUBSCRIBE + _P_COMPLAINT, 8 * _HOUR)):
        pick = np.flatnonzero((w >= lo) & (w < hi))
        parts.append(_Part(d_run[pick], d_prof[pick], event_code, _after(rng, deliv_at[pick], mean)))
    del w, deliv_at, d_run, d_prof, d_camp

    return _assemble(parts, run_campaign, run_version, camp_channel)


def _assemble(
    parts: list[_Part], run_campaign: np.ndarray, run_version: np.ndarray, camp_channel: np.ndarray,
) -> pl.DataFrame:
    """Concatenate the parts and derive the table's columns in one parallel Polars select."""
    sizes = [p.run.size for p in parts]

    def column(get: Callable[[_Part], np.ndarray | None], dtype: type[np.generic]) -> np.ndarray:
        return np.concatenate([
            np.asarray(get(p), dtype=dtype) if get(p) is not None else np.full(p.run.size, -1, dtype)
            for p in parts
        ])

    raw = pl.DataFrame([
        pl.Series("run", np.concatenate([p.run for p in parts])),
        pl.Series("prof", np.concatenate([p.prof for p in parts])),
        pl.Series("event", np.concatenate([
            p.event if isinstance(p.event, np.ndarray) else np.full(n, p.event, np.uint8)
            for p, n in zip(parts, sizes)
        ])),
        pl.Series("bounce", column(lambda p: p.bounce, np.int8)),
        pl.Series("reason", column(lambda p: p.reason, np.int8)),
        pl.Series("occurred_at", np.concatenate([p.at for p in parts]).view("datetime64[us]")),
    ])
    parts.clear()
    camp = pl.lit(pl.Series(run_campaign.astype(np.int32))).gather(pl.col("run"))
    return raw.select(
        (pl.col("run") + 1).alias("run_id"),
        (camp + 1).alias("campaign_id"),
        pl.lit(pl.Series(run_version.astype(np.int32))).gather(pl.col("run")).alias("version"),
        (pl.col("prof").cast(pl.Int64) + 1).alias("profile_id"),
        pl.lit(pl.Series(camp_channel[run_campaign].astype(np.uint8))).gather(pl.col("run"))
        .cat.to(CHANNEL_DTYPE).alias("channel"),
        pl.col("event").cat.to(EVENT_DTYPE),
        pl.when(pl.col("bounce") >= 0).then(pl.col("bounce")).cast(pl.UInt8).cat.to(BOUNCE_DTYPE).alias("bounce"),
        pl.lit(pl.Series(REASONS, dtype=pl.String)).gather(pl.when(pl.col("reason") >= 0).then(pl.col("reason")))
        .alias("reason"),
        "occurred_at",
    )
