"""What the analytics pages receive: a campaign report, its KPI tiles, and the workspace overview.

Why frozen: reports are memoised and shared between sessions, so nobody may change one in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from core.benchmarks_stats import Benchmark
from core.labels import METRICS, RATES

# The tiles, in order: a count and the rate that goes with it.
KPIS: tuple[tuple[str, str | None], ...] = (
    ("targeted", None), ("excluded", "exclusion_rate"), ("sent", "send_rate"), ("delivered", "delivery_rate"),
    ("unique_opens", "unique_open_rate"), ("unique_clicks", "unique_click_rate"), ("unsubscribes", "unsubscribe_rate"),
)
RUN_FIGURES = (
    "targeted", "sent", "delivered", "unique_opens", "unique_clicks", "unique_open_rate", "unique_click_rate",
)
# A day's runs (an API-triggered campaign's calls) added up: counts are additive over runs (unique
# opens/clicks are per (run, profile)), rates recomputed from the sums.
DAY_COUNTS = (
    "targeted", "excluded", "sent", "errors", "delivered", "bounced", "unique_opens", "unique_clicks", "unsubscribes",
)
DAY_RATES = ("delivery_rate", "unique_open_rate", "unique_click_rate")
RUNS_LISTED = 50  # runs (calls) a report lists one by one, newest first


@dataclass(frozen=True)
class Kpi:
    """One tile: a count, its rate, and how the rate compares with the channel's median campaign."""

    metric: str
    label: str
    value: int
    rate_name: str | None
    rate_label: str | None
    rate: float | None
    median: float | None  # median rate of the other campaigns of the channel (benchmarks_stats)
    difference: float | None  # rate - median, in fractions (0.012 = +1.2 points)
    peers: int


@dataclass(frozen=True)
class CampaignReport:
    """Everything the report page shows for one campaign (or one run) in one view."""

    campaign_id: int
    name: str
    channel: str
    status: str
    run_id: int | None  # None: every run of the campaign
    last_24h: bool
    since: datetime | None  # start of the window; None for all time
    generated_at: datetime
    every: str  # timeline step: "1h" (last 24 hours) or "1d"
    figures: Mapping[str, Any]  # every statistics count and rate, plus exclusion_rate and send_rate
    kpis: tuple[Kpi, ...]
    funnel: pl.DataFrame  # stage, label, count, of_targeted, of_previous
    timeline: pl.DataFrame  # bucket, sent, delivered, opens, unique_opens, clicks, unique_clicks
    exclusions: pl.DataFrame  # reason, excluded, share
    bounces: pl.DataFrame  # bounce, reason, bounced, share
    flags: tuple[str, ...]
    # The newest RUNS_LISTED runs of the scope (a day's, else the campaign's): run_id, due_at, status,
    # version, then RUN_FIGURES (in this view).
    runs: pl.DataFrame
    peers: int  # comparable campaigns (same channel, >= 1 delivered, not this one)
    triggered: bool = False  # API-triggered: every run is one API call
    day: date | None = None  # the report covers the runs (calls) due on this UTC day
    run_count: int = 0  # runs of the scope (runs lists the newest RUNS_LISTED of them)
    # Per UTC day of the runs' due time (an API call's time), newest first: day, runs, first_at,
    # last_at, DAY_COUNTS, DAY_RATES (in this view; a windowed view keeps days with activity in it).
    days: pl.DataFrame | None = None

    def kpi(self, metric: str) -> Kpi:
        return next(k for k in self.kpis if k.metric == metric)

    def run_tables(self) -> dict[str, pl.DataFrame]:
        """The report's run tables by title, bounded whatever the number of runs: an API-triggered
        campaign's calls per day and its newest calls, else its runs (the newest RUNS_LISTED) and,
        past RUNS_LISTED runs, its runs per day. Columns name calls as calls."""
        listed = self.runs.height
        more = f" (the newest {listed:,} of {self.run_count:,})" if listed < self.run_count else ""
        days = self.days if self.days is not None else pl.DataFrame()
        if self.triggered:
            return {
                "Calls per day": days.rename({"runs": "calls", "first_at": "first_call", "last_at": "last_call"},
                                             strict=False),
                f"Calls{more}": self.runs.rename({"run_id": "call_id", "due_at": "called_at"}),
            }
        tables = {f"Runs{more}": self.runs}
        if more:
            tables["Runs per day"] = days
        return tables

    @property
    def scope(self) -> str:
        """What the figures cover, in words: "all calls", "calls of 2026-01-12", "run 42"..."""
        noun = "calls" if self.triggered else "runs"
        if self.run_id is not None:
            return f"{noun[:-1]} {self.run_id}"
        if self.day is not None:
            return f"{noun} of {self.day:%Y-%m-%d}"
        return f"all {noun}"


@dataclass(frozen=True)
class Overview:
    """The workspace overview page: statuses, recent activity by channel, best campaigns."""

    days: int
    since: datetime  # midnight UTC, `days` - 1 days before today
    by_status: pl.DataFrame  # status, label, campaigns (every status, zeros included)
    daily: pl.DataFrame  # day, channel, sent, delivered, opens, clicks (gap-free per channel)
    channels: pl.DataFrame  # channel, sent, delivered, opens, clicks over the window
    # rank, campaign_id, campaign, channel, status, delivered, unique_clicks, unique_click_rate, unique_open_rate
    top: pl.DataFrame
    min_delivered: int


def kpis(figures: Mapping[str, Any], marks: Mapping[str, Benchmark]) -> tuple[Kpi, ...]:
    """The tiles of KPIS from a report's figures and the channel's benchmarks."""
    out = []
    for metric, rate_name in KPIS:
        rate = figures[rate_name] if rate_name else None
        mark = marks[rate_name] if rate_name else None
        median = mark.median if mark else None
        out.append(Kpi(
            metric, METRICS[metric], int(figures[metric]), rate_name, RATES[rate_name] if rate_name else None, rate,
            median, rate - median if rate is not None and median is not None else None, mark.peers if mark else 0,
        ))
    return tuple(out)
