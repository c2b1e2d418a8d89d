"""The frames a campaign report is drawn from, built from `core.statistics` output (pure functions).

Why apart from the service: they hold no state and no permission logic, so they are tested on
their own and the service stays about caching and access.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import polars as pl

from core import statistics as stats
from core.labels import STAGES
from core.report_models import DAY_COUNTS, DAY_RATES, RUN_FIGURES

TIMELINE_COLUMNS = ("sent", "delivered", "opens", "unique_opens", "clicks", "unique_clicks")
DAILY_COLUMNS = ("sent", "delivered", "opens", "clicks")
AGE_BANDS: tuple[str, ...] = ("Under 18", "18–24", "25–34", "35–44", "45–54", "55–64", "65+")


def age_band(age: pl.Expr) -> pl.Expr:
    """Age in the usual marketing bands (AGE_BANDS, ordered); a missing age stays missing."""
    band = pl.when(age.is_null()).then(None)
    for upper, name in zip((18, 25, 35, 45, 55, 65), AGE_BANDS):
        band = band.when(age < upper).then(pl.lit(name))
    return band.otherwise(pl.lit(AGE_BANDS[-1])).cast(pl.Enum(AGE_BANDS))


def funnel(figures: Mapping[str, Any]) -> pl.DataFrame:
    """targeted -> sent -> delivered -> opened (unique) -> clicked (unique), each stage as a share of
    targeted and of the stage before (null after a stage of 0: SMS has no opens, so no click-to-open)."""
    stages = list(STAGES)
    counts = [int(figures[s]) for s in stages]
    targeted = counts[0]
    previous = [None, *counts[:-1]]
    return pl.DataFrame(
        {
            "stage": stages,
            "label": [STAGES[s] for s in stages],
            "count": counts,
            "of_targeted": [c / targeted if targeted else None for c in counts],
            "of_previous": [c / p if p else None for c, p in zip(counts, previous)],
        },
        schema={"stage": pl.String, "label": pl.String, "count": pl.Int64, "of_targeted": pl.Float64,
                "of_previous": pl.Float64},
    )


def timeline(events: pl.DataFrame, every: str, since: datetime | None, now: datetime) -> pl.DataFrame:
    """time_series totals and unique_series uniques per bucket on a gap-free axis; with a window the
    axis spans it whole (from its first hour to now), empty hours included."""
    series = stats.time_series(events, every=every, fill_gaps=False)  # type: ignore[arg-type]
    uniques = stats.unique_series(events, every=every)  # type: ignore[arg-type]
    ends = [b for b in (series.get_column("bucket").min(), series.get_column("bucket").max()) if b is not None]
    if since is not None:
        ends += [floor(since, every), floor(now, every)]
    if not ends:
        return pl.DataFrame(schema={"bucket": pl.Datetime("us"), **{c: pl.Int64 for c in TIMELINE_COLUMNS}})
    axis = pl.DataFrame({"bucket": pl.datetime_range(min(ends), max(ends), every, eager=True, time_unit="us")})
    return (
        axis.join(series, on="bucket", how="left").join(uniques, on="bucket", how="left")
        .select("bucket", *(pl.col(c).fill_null(0).cast(pl.Int64) for c in TIMELINE_COLUMNS))
        .sort("bucket")
    )


def floor(moment: datetime, every: str) -> datetime:
    """The start of the hour ("1h") or day ("1d") holding `moment`."""
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if every == "1d" else moment


def daily(frame: pl.DataFrame, since: datetime, today: datetime) -> pl.DataFrame:
    """Daily totals per channel from `since`, every channel active in the window on every day."""
    series = stats.time_series(frame, every="1d", by=("channel",), since=since, fill_gaps=False)
    columns = DAILY_COLUMNS
    if series.height == 0:
        return pl.DataFrame(schema={"day": pl.Datetime("us"), "channel": pl.String, **{c: pl.Int64 for c in columns}})
    last = max(today, series.get_column("bucket").max())  # type: ignore[type-var]
    axis = pl.DataFrame({"bucket": pl.datetime_range(since, last, "1d", eager=True, time_unit="us")})
    channels = series.select(pl.col("channel").cast(pl.String)).unique()
    return (
        channels.join(axis, how="cross")
        .join(series.with_columns(pl.col("channel").cast(pl.String)), on=["channel", "bucket"], how="left")
        .select(pl.col("bucket").alias("day"), "channel", *(pl.col(c).fill_null(0) for c in columns))
        .sort("day", "channel")
    )


def day_runs(runs: pl.DataFrame, day: date) -> pl.DataFrame:
    """The runs (run_id, due_at, ...) due on the UTC calendar `day`."""
    return runs.filter(pl.col("due_at").dt.date() == day)


def run_days(runs: pl.DataFrame) -> pl.DataFrame:
    """day, runs, first_at, last_at per UTC day with runs, newest first."""
    return (
        runs.group_by(pl.col("due_at").dt.date().alias("day"))
        .agg(pl.len().cast(pl.Int64).alias("runs"), pl.col("due_at").min().alias("first_at"),
             pl.col("due_at").max().alias("last_at"))
        .sort("day", descending=True)
    )


def run_tables(
    runs: pl.DataFrame, per_run: pl.DataFrame, day: date | None, windowed: bool, limit: int
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(the newest `limit` runs with their figures, the figures per UTC day, how many runs) of the
    scope: the runs due on `day`, else all of `runs` (run_id, due_at, status, version; newest first).

    `per_run` holds each run's figures in the view (statistics.summary by run_id); a run without
    events in it counts zero. Per day: runs, first_at, last_at, then DAY_COUNTS summed (exact: each
    count is additive over runs, unique opens and clicks being per (run, profile)) and DAY_RATES from
    the sums, exactly as statistics computes rates. A windowed view keeps the days with activity in
    the window (every older day would read zero)."""
    scoped = runs if day is None else day_runs(runs, day)
    counts = list(dict.fromkeys([*DAY_COUNTS, *(c for c in RUN_FIGURES if not c.endswith("_rate"))]))
    joined = scoped.select("run_id", "due_at", "status", "version").join(
        per_run, on="run_id", how="left"
    ).with_columns(pl.col(c).fill_null(0) for c in counts)
    listed = joined.sort(["due_at", "run_id"], descending=True).head(limit).select(
        "run_id", "due_at", "status", "version", *RUN_FIGURES)
    days = joined.group_by(pl.col("due_at").dt.date().alias("day")).agg(
        pl.len().cast(pl.Int64).alias("runs"), pl.col("due_at").min().alias("first_at"),
        pl.col("due_at").max().alias("last_at"), *(pl.col(c).sum().cast(pl.Int64) for c in DAY_COUNTS),
    )
    if windowed:
        days = days.filter(pl.any_horizontal(pl.col(c) > 0 for c in DAY_COUNTS))
    days = stats.with_rates(days).select("day", "runs", "first_at", "last_at", *DAY_COUNTS, *DAY_RATES).sort("day", descending=True)
    return listed, days, scoped.height
