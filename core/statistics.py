"""Campaign analytics over delivery events (migration 4's `delivery_events`) in Polars.

Why Polars and not SQL: the app keeps the event table in memory as one Polars frame and answers
every chart from it, so the hot call (`summary` by campaign) must be a single cheap pass.

How it stays cheap: every event maps to one small integer *kind* (UInt8) that already says which
figure it feeds: the exclusion reason, the bounce kind, and for `opened` / `clicked` whether it is
the first such event of its (run_id, profile_id). A summary is then `group_by(*by, _kind).len()`
(one pass over two narrow columns, no string compares, no distinct sets) followed by a pivot of a
few hundred rows. `prepare(events)` adds the `_kind` column once, when the app loads (or, with
`append`, extends) its event frame; every function also accepts an unprepared frame and then derives
the kinds itself (correct, just slower: about the cost of `prepare`).

Semantics (the contract the tests check against hand-written SQL):
- targeted = disposition events (`excluded` + `sent` + `error`): each resolved recipient has one;
- unique opens / clicks = distinct (run_id, profile_id) with an `opened` / `clicked` event, so a
  profile reached by two runs of one campaign counts twice at campaign level (two messages);
- unsubscribes and complaints count events (the model allows at most one per profile and run);
- rates are fractions, null when their denominator is 0.
- `since` (the "last 24 hours" view) keeps only events with occurred_at >= since and computes every
  figure over that window: targeted/sent/errors = recipients resolved or handed off in the window,
  delivered/bounced = outcomes received in it, unique opens/clicks = distinct recipients who opened /
  clicked in it (an earlier open does not hide one in the window). Rates are activity ratios within
  the window and can exceed 1 (e.g. deliveries in the window of messages sent before it). The
  window's kinds are re-derived from its rows, so its cost grows with the window (~20 ms for the
  last 24 h of 50M events), not with the whole frame.

Unique counts rely on each (run_id, profile_id) falling in one group, so figures group only by
run-level columns (`RUN_COLUMNS`): a run has one campaign, version and channel. For the same reason a
prepared frame may be filtered on run-level columns (one campaign's runs) and stay valid, but a time
window must go through `since` (which re-derives the firsts), not a filter on occurred_at.
Times are naive UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

import polars as pl

from core.enums import Channel

# The SQL ENUMs of migrations 1 and 4, in declaration order.
EVENTS: tuple[str, ...] = (
    "excluded", "sent", "error", "delivered", "bounced", "opened", "clicked", "unsubscribed", "complained",
)
DISPOSITIONS: tuple[str, ...] = ("excluded", "sent", "error")
BOUNCE_KINDS: tuple[str, ...] = ("hard", "soft")
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
EXCLUSION_REASONS: tuple[str, ...] = ("suppressed", "no_address", "no_consent", "frequency_cap")
EVENT_DTYPE = pl.Enum(EVENTS)
CHANNEL_DTYPE = pl.Enum(CHANNELS)
BOUNCE_DTYPE = pl.Enum(BOUNCE_KINDS)

COLUMNS: tuple[str, ...] = (
    "run_id", "campaign_id", "version", "profile_id", "channel", "event", "bounce", "reason", "occurred_at",
)
# Columns fixed by the run: grouping by them keeps each (run_id, profile_id) in one group.
RUN_COLUMNS: tuple[str, ...] = ("run_id", "campaign_id", "version", "channel")
KIND = "_kind"

Events = pl.DataFrame | pl.LazyFrame
Every = Literal["1h", "1d"]

# Kind codes. Excluded: one per known reason plus "other"; bounced: hard, soft, unspecified.
_K_EXCLUDED: dict[str, int] = {reason: i for i, reason in enumerate(EXCLUSION_REASONS)}
_K_EXCLUDED_OTHER = 4
_K_SENT, _K_ERROR, _K_DELIVERED = 5, 6, 7
_K_HARD, _K_SOFT, _K_BOUNCED_OTHER = 8, 9, 10
_K_OPEN_FIRST, _K_OPEN_REPEAT, _K_CLICK_FIRST, _K_CLICK_REPEAT = 11, 12, 13, 14
_K_UNSUBSCRIBED, _K_COMPLAINED = 15, 16
_N_KINDS = 17
# Event code -> kind for events whose kind needs nothing else (opens/clicks start as repeats).
_KIND_OF_EVENT: dict[int, int] = {
    EVENTS.index("sent"): _K_SENT, EVENTS.index("error"): _K_ERROR, EVENTS.index("delivered"): _K_DELIVERED,
    EVENTS.index("opened"): _K_OPEN_REPEAT, EVENTS.index("clicked"): _K_CLICK_REPEAT,
    EVENTS.index("unsubscribed"): _K_UNSUBSCRIBED, EVENTS.index("complained"): _K_COMPLAINED,
    EVENTS.index("excluded"): _K_EXCLUDED_OTHER, EVENTS.index("bounced"): _K_BOUNCED_OTHER,
}
_OPENED, _CLICKED = EVENTS.index("opened"), EVENTS.index("clicked")

_EXCLUDED_KINDS = (*_K_EXCLUDED.values(), _K_EXCLUDED_OTHER)
COUNTS: dict[str, tuple[int, ...]] = {
    "targeted": (*_EXCLUDED_KINDS, _K_SENT, _K_ERROR),
    "excluded": _EXCLUDED_KINDS,
    **{f"excluded_{reason}": (code,) for reason, code in _K_EXCLUDED.items()},
    "sent": (_K_SENT,),
    "errors": (_K_ERROR,),
    "delivered": (_K_DELIVERED,),
    "bounced": (_K_HARD, _K_SOFT, _K_BOUNCED_OTHER),
    "bounced_hard": (_K_HARD,),
    "bounced_soft": (_K_SOFT,),
    "opens": (_K_OPEN_FIRST, _K_OPEN_REPEAT),
    "unique_opens": (_K_OPEN_FIRST,),
    "clicks": (_K_CLICK_FIRST, _K_CLICK_REPEAT),
    "unique_clicks": (_K_CLICK_FIRST,),
    "unsubscribes": (_K_UNSUBSCRIBED,),
    "complaints": (_K_COMPLAINED,),
}
RATES: dict[str, tuple[str, str]] = {
    "delivery_rate": ("delivered", "sent"),
    "unique_open_rate": ("unique_opens", "delivered"),
    "unique_click_rate": ("unique_clicks", "delivered"),
    "click_to_open_rate": ("unique_clicks", "unique_opens"),
    "bounce_rate": ("bounced", "sent"),
    "unsubscribe_rate": ("unsubscribes", "delivered"),
}
BREAKDOWN_COUNTS: tuple[str, ...] = ("targeted", "sent", "delivered", "unique_opens", "unique_clicks")
BREAKDOWN_RATES: tuple[str, ...] = ("delivery_rate", "unique_open_rate", "unique_click_rate", "click_to_open_rate")
SERIES_EVENTS: dict[str, str] = {
    "sent": "sent", "delivered": "delivered", "bounced": "bounced", "opens": "opened", "clicks": "clicked",
    "unsubscribes": "unsubscribed", "complaints": "complained",
}
_TYPES: dict[str, pl.DataType] = {
    "run_id": pl.Int32(), "campaign_id": pl.Int32(), "version": pl.Int32(), "profile_id": pl.Int64(),
    "channel": CHANNEL_DTYPE, "event": EVENT_DTYPE, "bounce": BOUNCE_DTYPE, "reason": pl.Categorical(),
    "occurred_at": pl.Datetime("us"),
}
_PACK_LIMIT = 1 << 31


# ---------------------------------------------------------------------------------------------
# Preparing the in-memory frame


def prepare(events: Events) -> pl.DataFrame:
    """The frame the app keeps: compact dtypes plus the `_kind` code of every event.

    Called once when events are loaded (cost ~ a few seconds on 50M events); later calls are then
    a single pass. ids become Int32/Int64, ENUMs pl.Enum, reason Categorical. Idempotent.
    """
    frame = _typed(events)
    return frame.with_columns(_kinds(frame))


def append(prepared: pl.DataFrame, new_events: Events) -> pl.DataFrame:
    """`prepared` plus `new_events`, prepared, without re-deriving the kinds of the old rows.

    A new open/click is "first" only if its (run_id, profile_id) had none before, so the old
    first-open/click keys are looked up (one hash set of the old uniques, not a full re-prepare).
    """
    new = _typed(new_events)
    if KIND not in prepared.columns:
        prepared = prepare(prepared)
    if new.height == 0:
        return prepared
    if not (_packable(prepared) and _packable(new)):
        return prepare(pl.concat([prepared.select(*COLUMNS), new], how="vertical"))
    seen = prepared.filter(pl.col(KIND).is_in([_K_OPEN_FIRST, _K_CLICK_FIRST])).select(_packed_key()).to_series()
    kinds = new.select(_base_kind()).to_series()
    first = new.select(_first_engagement(_packed_key()) & ~_packed_key().is_in(seen.implode())).to_series()
    kinds = _promote_first(kinds, first)
    return pl.concat([prepared, new.with_columns(kinds)], how="vertical")


def _typed(events: Events) -> pl.DataFrame:
    """The table's columns in the compact dtypes; accepts DuckDB's Categorical or plain strings."""
    frame = events.collect() if isinstance(events, pl.LazyFrame) else events
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"events lack the columns {missing}")
    return frame.select(
        pl.col(c) if frame.schema[c] == dtype else pl.col(c).cast(dtype) for c, dtype in _TYPES.items()
    )


def _base_kind() -> pl.Expr:
    """Kind of each event, counting every open/click as a repeat (firsts are promoted after)."""
    code = pl.col("event").to_physical()
    reason = pl.col("reason")
    excluded = pl.lit(_K_EXCLUDED_OTHER, pl.UInt8)
    for name, k in reversed(_K_EXCLUDED.items()):
        excluded = pl.when(reason == name).then(pl.lit(k, pl.UInt8)).otherwise(excluded)
    bounce = pl.col("bounce").to_physical()
    bounced = pl.when(bounce == 0).then(_K_HARD).when(bounce == 1).then(_K_SOFT).otherwise(_K_BOUNCED_OTHER)
    return (
        pl.when(code == EVENTS.index("excluded")).then(excluded)
        .when(code == EVENTS.index("bounced")).then(bounced.cast(pl.UInt8))
        .otherwise(code.replace_strict(_KIND_OF_EVENT, return_dtype=pl.UInt8))
        .cast(pl.UInt8)
        .alias(KIND)
    )


def _is_engagement() -> pl.Expr:
    code = pl.col("event").to_physical()
    return (code == _OPENED) | (code == _CLICKED)


def _first_engagement(key: pl.Expr) -> pl.Expr:
    """True on the first open / first click of each (run_id, profile_id); other events are masked
    to null first, or a `sent` with the same packed key would take the open's place."""
    engaged = _is_engagement()
    return engaged & pl.when(engaged).then(key).is_first_distinct()


def _packed_key() -> pl.Expr:
    """(run_id, profile_id, opened|clicked) as one Int64: hashing it beats hashing a struct ~10x."""
    return (
        pl.col("run_id").cast(pl.Int64) * (1 << 32)
        + pl.col("profile_id") * 2
        + (pl.col("event").to_physical() == _CLICKED).cast(pl.Int64)
    )


def _packable(frame: pl.DataFrame) -> bool:
    """Whether run_id and profile_id fit the packed key (always, for ids from sequences)."""
    if frame.height == 0:
        return True
    lo_run, hi_run, lo_prof, hi_prof = frame.select(
        pl.col("run_id").min().alias("a"), pl.col("run_id").max().alias("b"),
        pl.col("profile_id").min().alias("c"), pl.col("profile_id").max().alias("d"),
    ).row(0)
    return 0 <= lo_run and hi_run < _PACK_LIMIT and 0 <= lo_prof and hi_prof < _PACK_LIMIT


def _promote_first(kinds: pl.Series, first: pl.Series) -> pl.Series:
    """Turn repeat codes into first codes where `first` holds (first = repeat - 1 by design)."""
    return (kinds - first.cast(pl.UInt8)).alias(KIND)


def _kinds(frame: pl.DataFrame) -> pl.Series:
    """`_kind` for a typed frame: base kinds, then the first open/click of each (run, profile)."""
    key = _packed_key() if _packable(frame) else pl.struct("run_id", "profile_id", "event")
    out = frame.select(_base_kind(), _first_engagement(key).alias("_first"))
    return _promote_first(out.get_column(KIND), out.get_column("_first"))


def _with_kind(events: Events, since: datetime | None) -> pl.LazyFrame:
    """A lazy frame whose `_kind` is right for the window: the prepared one when there is no
    window, else kinds re-derived on the window's rows (firsts are firsts within the window)."""
    lazy = events.lazy()
    if since is None and KIND in lazy.collect_schema().names():
        return lazy
    if since is not None:
        lazy = lazy.filter(pl.col("occurred_at") >= _naive_utc(since))
    frame = _typed(lazy.select(*COLUMNS))
    return frame.with_columns(_kinds(frame)).lazy()


def _naive_utc(moment: datetime) -> datetime:
    """Events are naive UTC; an aware `since` is converted rather than compared wrongly."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _check_by(by: Iterable[str]) -> list[str]:
    """Run-level columns only: unique counts via first-flags are exact only for those."""
    cols = list(by)
    bad = [c for c in cols if c not in RUN_COLUMNS]
    if bad:
        raise ValueError(f"cannot group by {bad}: only {list(RUN_COLUMNS)} (run-level columns)")
    if len(set(cols)) != len(cols):
        raise ValueError(f"duplicate grouping columns in {cols}")
    return cols


# ---------------------------------------------------------------------------------------------
# Figures


def summary(events: Events, by: Sequence[str] = ("campaign_id",), since: datetime | None = None) -> pl.DataFrame:
    """One row per group (one row in total for by=()): every count of `COUNTS`, then `RATES`.

    Rows are sorted by the group columns. See the module docstring for what `since` means.
    """
    cols = _check_by(by)
    lazy = _with_kind(events, since)
    if cols:
        counts = lazy.group_by(*cols, KIND).len().collect()
    else:
        # No groups: 17 vectorised conditional sums beat a hash group-by.
        counts = (
            lazy.select(*((pl.col(KIND) == k).sum().alias(str(k)) for k in range(_N_KINDS))).collect()
            .unpivot(variable_name=KIND, value_name="len")
            .with_columns(pl.col(KIND).cast(pl.UInt8))
        )
    return _wide(counts, cols, list(COUNTS), list(RATES))


def _wide(counts: pl.DataFrame, cols: list[str], names: list[str], rates: list[str]) -> pl.DataFrame:
    """(group..., _kind, len) rows -> one row per group with the named counts and rates."""
    aggs = [
        pl.col("len").filter(pl.col(KIND).is_in(COUNTS[name])).sum().cast(pl.Int64).alias(name) for name in names
    ]
    wide = counts.group_by(cols).agg(aggs) if cols else counts.select(aggs)
    wide = wide.with_columns(_rate(*RATES[name]).alias(name) for name in rates)
    return wide.sort(cols, nulls_last=True) if cols else wide


def _rate(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(pl.col(numerator) / pl.col(denominator)).otherwise(None)


def exclusions(events: Events, by: Sequence[str] = ("campaign_id",), since: datetime | None = None) -> pl.DataFrame:
    """Excluded recipients per group and reason, with each reason's share of the group's exclusions.

    Columns: *by, reason (String; null if none was recorded), excluded (Int64), share (Float64).
    Sorted by group, then most frequent reason first.
    """
    return _reasons(events, by, since, "excluded", ["reason"], "excluded")


def bounces(events: Events, by: Sequence[str] = ("campaign_id",), since: datetime | None = None) -> pl.DataFrame:
    """Bounces per group, kind (hard/soft) and reason, with the share of the group's bounces.

    Columns: *by, bounce (String), reason (String), bounced (Int64), share (Float64).
    """
    return _reasons(events, by, since, "bounced", ["bounce", "reason"], "bounced")


def _reasons(
    events: Events, by: Sequence[str], since: datetime | None, event: str, keys: list[str], name: str,
) -> pl.DataFrame:
    cols = _check_by(by)
    lazy = _window(events, since).filter(pl.col("event").cast(EVENT_DTYPE) == event)
    counts = (
        lazy.group_by(*cols, *keys).len()
        .with_columns(*(pl.col(k).cast(pl.String) for k in keys), pl.col("len").cast(pl.Int64).alias(name))
        .drop("len")
        .collect()
    )
    total = pl.col(name).sum().over(cols) if cols else pl.col(name).sum()
    counts = counts.with_columns((pl.col(name) / total).alias("share"))
    return counts.sort([*cols, name, *keys], descending=[False] * len(cols) + [True] + [False] * len(keys),
                       nulls_last=True)


def _window(events: Events, since: datetime | None) -> pl.LazyFrame:
    lazy = events.lazy()
    return lazy if since is None else lazy.filter(pl.col("occurred_at") >= _naive_utc(since))


def time_series(
    events: Events, every: Every = "1h", by: Sequence[str] = (), since: datetime | None = None,
    fill_gaps: bool = True,
) -> pl.DataFrame:
    """Event totals per time bucket (UTC, floored to the hour or day) for the performance chart.

    Columns: *by, bucket (Datetime), then `SERIES_EVENTS` counts (totals, not unique). With
    fill_gaps, every group gets every bucket between the first and last bucket of the whole
    result, zeros included, so lines on one chart share an axis.
    """
    if every not in ("1h", "1d"):
        raise ValueError(f"every must be '1h' or '1d', got {every!r}")
    cols = _check_by(by)
    wanted = list(SERIES_EVENTS.values())
    counts = (
        _window(events, since)
        .with_columns(pl.col("event").cast(EVENT_DTYPE))
        .filter(pl.col("event").is_in(wanted))
        .group_by(*cols, pl.col("occurred_at").dt.truncate(every).alias("bucket"), "event")
        .len()
        .collect()
    )
    series = counts.group_by(*cols, "bucket").agg(
        pl.col("len").filter(pl.col("event") == ev).sum().cast(pl.Int64).alias(name)
        for name, ev in SERIES_EVENTS.items()
    )
    if fill_gaps and series.height:
        lo, hi = series.select(pl.col("bucket").min().alias("lo"), pl.col("bucket").max().alias("hi")).row(0)
        axis = pl.DataFrame({"bucket": pl.datetime_range(lo, hi, every, eager=True, time_unit="us")})
        groups = series.select(cols).unique() if cols else pl.DataFrame()
        grid = groups.join(axis, how="cross") if cols else axis
        series = grid.join(series, on=[*cols, "bucket"], how="left", nulls_equal=True).with_columns(
            pl.col(name).fill_null(0) for name in SERIES_EVENTS
        )
    return series.sort([*cols, "bucket"], nulls_last=True)


def breakdown(
    events: Events, profiles: pl.DataFrame | pl.LazyFrame, attribute: str,
    by: Sequence[str] = ("campaign_id",), since: datetime | None = None,
) -> pl.DataFrame:
    """Performance per value of a profile attribute (country, loyalty_tier, ...) within each group.

    Joins events to `profiles` on profile_id (unique there, as in the profiles table); events of
    unknown profiles land under a null value.
    Columns: *by, attribute, `BREAKDOWN_COUNTS`, `BREAKDOWN_RATES`. Unique counts stay exact as an
    attribute is fixed per profile (the profile's current value is used for past events).
    """
    cols = _check_by(by)
    if attribute in COLUMNS or attribute == KIND:
        raise ValueError(f"{attribute!r} is an event column, not a profile attribute")
    lookup = profiles.lazy().select(pl.col("profile_id").cast(pl.Int64), pl.col(attribute))
    needed = sorted({k for name in BREAKDOWN_COUNTS for k in COUNTS[name]})
    counts = (
        _with_kind(events, since)
        .select(*cols, "profile_id", KIND)
        .filter(pl.col(KIND).is_in(needed))  # repeats, bounces, ... never reach the join
        .join(lookup, on="profile_id", how="left")
        .group_by(*cols, attribute, KIND)
        .len()
        .collect()
    )
    return _wide(counts, [*cols, attribute], list(BREAKDOWN_COUNTS), list(BREAKDOWN_RATES))


def unique_series(
    events: Events, every: Every = "1h", by: Sequence[str] = (), since: datetime | None = None,
) -> pl.DataFrame:
    """Distinct recipients who opened / clicked in each time bucket, for the performance chart.

    A bucket is a window, so this follows `summary(since=...)`: unique opens of a bucket = distinct
    (run_id, profile_id) with an `opened` event in it. A recipient who opens on two days counts on
    both, so buckets do not add up to the campaign's unique opens (they would, had each recipient
    been placed at one bucket only, which hides how engagement spreads over time).
    Columns: *by, bucket (Datetime), unique_opens (Int64), unique_clicks (Int64); buckets without any
    open or click are absent (join onto `time_series` for a gap-free axis). Sorted by group, bucket.
    """
    if every not in ("1h", "1d"):
        raise ValueError(f"every must be '1h' or '1d', got {every!r}")
    cols = _check_by(by)
    engaged = (
        _window(events, since)
        .with_columns(pl.col("event").cast(EVENT_DTYPE))
        .filter(pl.col("event").is_in(["opened", "clicked"]))
        .select(*cols, "run_id", "profile_id", "event", pl.col("occurred_at").dt.truncate(every).alias("bucket"))
        .collect()
    )
    key = _packed_key() if _packable(engaged) else pl.struct("run_id", "profile_id")
    event = pl.col("event")
    out = engaged.group_by(*cols, "bucket").agg(
        key.filter(event == "opened").n_unique().cast(pl.Int64).alias("unique_opens"),
        key.filter(event == "clicked").n_unique().cast(pl.Int64).alias("unique_clicks"),
    )
    return out.sort([*cols, "bucket"], nulls_last=True)


def with_rates(counts: pl.DataFrame) -> pl.DataFrame:
    """`counts` (the `COUNTS` columns, e.g. summed over runs or grown by appended events) with every
    rate of `RATES` recomputed exactly as `summary` computes it, so cached totals stay identical."""
    return counts.with_columns(_rate(*RATES[name]).alias(name) for name in RATES)
