"""Run analytics for the report, compare and overview pages: `Workspace.analytics`.

Why a service over `core.statistics`: the pages must show exactly the statistics module's figures
(it is tested against SQL), computed fast enough for Streamlit's rerun-on-every-click. So:
- the prepared events live in memory (`EventCache`: refreshed incrementally when events arrive);
- each campaign's figures are memoised per (campaign, its events' version, window, ...), so a rerun
  costs a lookup and a send of another campaign does not invalidate this one's report;
- workspace benchmarks come from per-campaign totals that grow with every append (core.benchmarks_stats).

Views: all time, or "the last 24 hours" = events since the start of the minute 24 hours before now
(a whole minute, so reruns within a minute share the computed report). Windowed figures follow
`statistics.summary(since=...)`: every figure over the window's events, rates as activity ratios.
Benchmarks (medians, percentiles, flags) always use the peers' all-time rates.
Permission: `Action.VIEW_REPORTS` on every call, refused with PermissionDenied. Times are naive UTC.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from core import report_frames as frames
from core import roles
from core import statistics as stats
from core.audiences import Audiences
from core.benchmarks_stats import benchmarks, flags, peers, with_extra_rates
from core.clock import Clock, utc_now
from core.enums import Action, Role, Status
from core.errors import InvalidInput, NotFound
from core.event_cache import EventCache, EventsSnapshot, Progress, ResultMemo
from core.labels import ATTRIBUTES
from core.models import User
from core.store import Store
from core.store import audience_rows, campaign_rows, delivery_rows
from core.store import workspace_rows as ws
from core.report_models import DAY_COUNTS, DAY_RATES, RUN_FIGURES, RUNS_LISTED, CampaignReport, Overview, kpis

MAX_COMPARE = 12
MIN_DELIVERED_FOR_TOP = 100
_WINDOW = timedelta(hours=24)


def breakdown_attributes() -> dict[str, str]:
    """Profile attributes a breakdown may use -> their labels (age band is derived from `age`)."""
    return dict(ATTRIBUTES)


_SHARED: weakref.WeakKeyDictionary[Store, tuple[EventCache, ResultMemo, ResultMemo, ResultMemo]] = (
    weakref.WeakKeyDictionary()
)
WINDOWS_KEPT = 4  # windowed campaign frames (a report, its runs and its breakdowns share one)
_SHARED_LOCK = threading.Lock()


class Analytics:
    """Reports, comparisons and the overview; one event cache per store, shared by its sessions."""

    def __init__(self, store: Store, audiences: Audiences, clock: Clock = utc_now) -> None:
        self.store, self.audiences, self.clock = store, audiences, clock
        with _SHARED_LOCK:
            if store not in _SHARED:
                _SHARED[store] = (EventCache(store), ResultMemo(), ResultMemo(WINDOWS_KEPT), ResultMemo(1))
            self.events, self._memo, self._windows, self._attributes = _SHARED[store]

    # ---- cache ---------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """False until the events are in memory: the first call then takes seconds (use warm())."""
        return self.events.loaded

    def warm(self, actor: User, progress: Progress | None = None) -> None:
        """Load (or catch up on) the events now, reporting progress(fraction, text) as it goes."""
        self._authorise(actor)
        self.events.current(progress)

    def forget_figures(self) -> None:
        """Drop memoised figures and windows (the events stay in memory): what new events for every
        campaign would cost. For benchmarks; the cache invalidates itself in normal use."""
        self._memo.clear()
        self._windows.clear()

    def cache_info(self) -> dict[str, int]:
        """How the caches have been used: full loads, appends, memo hits and misses, rows held."""
        return {**self.events.info(), "memo_hits": self._memo.hits, "memo_misses": self._memo.misses}

    breakdown_attributes = staticmethod(breakdown_attributes)

    # ---- reports -------------------------------------------------------------------------------

    def report(
        self, actor: User, campaign_id: int, run_id: int | None = None, last_24h: bool = False,
        day: date | None = None,
    ) -> CampaignReport:
        """One campaign, one of its runs, or the runs due on one UTC `day` (an API-triggered campaign's
        calls of that day): KPI tiles, funnel, timeline, reasons, flags, runs and runs per day."""
        self._authorise(actor)
        return self._report(campaign_id, run_id, last_24h, day)

    def report_for_role(
        self, role: Role | None, who: str, campaign_id: int, run_id: int | None = None, last_24h: bool = False,
        day: date | None = None,
    ) -> CampaignReport:
        """`report` for a caller that is not a user but holds a role (an API key, named by `who`)."""
        roles.require(role, Action.VIEW_REPORTS, who=who)
        return self._report(campaign_id, run_id, last_24h, day)

    def run_days(self, actor: User, campaign_id: int) -> pl.DataFrame:
        """day (UTC date), runs, first_at, last_at for every day the campaign has runs (an API-triggered
        campaign: calls), newest first: what the report's day picker offers. Polars over the runs."""
        self._authorise(actor)
        meta = self._campaign(campaign_id)
        return self.store.memo(f"analytics.run_days.{meta['id']}", lambda: frames.run_days(self._runs(meta["id"])))

    def _report(self, campaign_id: int, run_id: int | None, last_24h: bool, day: date | None) -> CampaignReport:
        meta = self._campaign(campaign_id)
        day = _as_day(day)
        commits = self.store.commits  # before reading the runs: a later commit only makes them newer
        runs = self._check_scope(meta, run_id, day)
        snap, since = self.events.current(), self._since(last_24h)
        version = snap.campaign_version(campaign_id)
        part = self._memo.get(("report", campaign_id, run_id, day, since, version),
                              lambda: self._figures(snap, campaign_id, run_id, since, day))
        per_run = self._memo.get(("runs", campaign_id, since, version),
                                 lambda: self._run_figures(snap, campaign_id, since))
        listed, days, count = self._memo.get(
            ("run_tables", campaign_id, day, since, version, commits),
            lambda: frames.run_tables(runs, per_run, day, since is not None, RUNS_LISTED))
        marks = benchmarks(peers(snap.totals, self._campaigns(), meta["channel"], campaign_id))
        figures = part["figures"]
        return CampaignReport(
            campaign_id=campaign_id, name=meta["name"], channel=meta["channel"], status=meta["status"],
            run_id=run_id, last_24h=last_24h, since=since, generated_at=self.clock(), every=part["every"],
            figures=figures, kpis=kpis(figures, marks), funnel=part["funnel"], timeline=part["timeline"],
            exclusions=part["exclusions"], bounces=part["bounces"],
            flags=flags(figures, marks, meta["channel"], "the last 24 hours" if last_24h else None),
            runs=listed, peers=marks["delivery_rate"].peers, triggered=meta["type"] == "api_triggered", day=day,
            run_count=count, days=days,
        )

    def reportable(self, actor: User) -> pl.DataFrame:
        """campaign_id, name, status, channel, type of the campaigns that have delivery events, most
        targeted first: what the report and compare pickers offer."""
        self._authorise(actor)
        snap = self.events.current()
        sizes = snap.totals.select(pl.col("campaign_id").cast(pl.Int32), "targeted")
        return (self._campaigns().join(sizes, on="campaign_id", how="inner")
                .sort(["targeted", "campaign_id"], descending=[True, False]).drop("targeted"))

    def breakdown(
        self, actor: User, campaign_id: int, run_id: int | None = None, attribute: str = "country",
        last_24h: bool = False, day: date | None = None,
    ) -> pl.DataFrame:
        """Performance per value of a profile attribute (statistics.breakdown; the profile's current value).

        Columns: <attribute>, targeted, sent, delivered, unique_opens, unique_clicks, delivery_rate,
        unique_open_rate, unique_click_rate, click_to_open_rate; events of deleted profiles under null."""
        self._authorise(actor)
        if attribute not in ATTRIBUTES:
            raise InvalidInput({"attribute": f"choose one of {', '.join(ATTRIBUTES)}"})
        day = _as_day(day)
        self._check_scope(self._campaign(campaign_id), run_id, day)
        snap, since = self.events.current(), self._since(last_24h)
        version, profiles = snap.campaign_version(campaign_id), self._profiles_revision()
        key = ("breakdown", campaign_id, run_id, day, attribute, since, version, profiles)

        def compute() -> pl.DataFrame:
            events = self._events(snap, campaign_id, run_id, since, day)
            lookup = self._attributes.get(profiles, self._attribute_frame)
            return stats.breakdown(events, lookup.select("profile_id", attribute), attribute, by=())

        return self._memo.get(key, compute)

    def compare(
        self, actor: User, campaign_ids: Iterable[int], last_24h: bool = False
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Campaigns side by side: (metrics, timeline).

        metrics: campaign_id, campaign, channel, status, every statistics count and rate, exclusion_rate,
        send_rate — one row per campaign, in the order asked. timeline: campaign_id, campaign, bucket,
        since_start (buckets since the campaign's first one, to overlay campaigns sent on different
        dates), then the report timeline's columns. `campaign` is the name, with "#id" when two
        compared campaigns share a name."""
        self._authorise(actor)
        ids = list(dict.fromkeys(int(c) for c in campaign_ids))
        if not 1 <= len(ids) <= MAX_COMPARE:
            raise InvalidInput({"campaign_ids": f"choose 1 to {MAX_COMPARE} campaigns to compare"})
        metas = [self._campaign(c) for c in ids]
        names = [m["name"] for m in metas]
        labels = [n if names.count(n) == 1 else f"{n} (#{m['id']})" for n, m in zip(names, metas)]
        snap, since = self.events.current(), self._since(last_24h)
        metrics, lines = [], []
        for meta, name in zip(metas, labels):
            cid = meta["id"]
            part = self._memo.get(("report", cid, None, None, since, snap.campaign_version(cid)),
                                  lambda cid=cid: self._figures(snap, cid, None, since, None))
            head = {"campaign_id": cid, "campaign": name, "channel": meta["channel"], "status": meta["status"]}
            metrics.append(part["summary"].select(*(pl.lit(v).alias(k) for k, v in head.items()), pl.all()))
            line = part["timeline"]
            first = line.get_column("bucket").min() if line.height else datetime(1970, 1, 1)
            elapsed = pl.col("bucket") - pl.lit(first, pl.Datetime("us"))
            steps = elapsed.dt.total_hours() if part["every"] == "1h" else elapsed.dt.total_days()
            lines.append(line.select(
                pl.lit(cid, pl.Int32).alias("campaign_id"), pl.lit(name).alias("campaign"), "bucket",
                steps.cast(pl.Int64).alias("since_start"), *frames.TIMELINE_COLUMNS,
            ))
        return pl.concat(metrics, how="vertical"), pl.concat(lines, how="vertical")

    def overview(
        self, actor: User, days: int = 30, min_delivered: int = MIN_DELIVERED_FOR_TOP, top: int = 10
    ) -> Overview:
        """The workspace at a glance: campaigns by status, daily activity by channel over the last
        `days` days (including today), and the top campaigns by all-time unique click-through among
        those with at least `min_delivered` delivered messages (so a 3-recipient test does not top it)."""
        self._authorise(actor)
        if not 1 <= days <= 366:
            raise InvalidInput({"days": "choose 1 to 366 days"})
        snap, now = self.events.current(), self.clock()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        since = today - timedelta(days=days - 1)
        campaigns = self._campaigns()
        counts = dict(campaigns.group_by("status").len().iter_rows())
        by_status = pl.DataFrame(
            {"status": [s.value for s in Status], "label": [s.label for s in Status],
             "campaigns": [int(counts.get(s.value, 0)) for s in Status]},
            schema={"status": pl.String, "label": pl.String, "campaigns": pl.Int64},
        )
        daily = self._memo.get(("daily", since, today, snap.version), lambda: frames.daily(snap.frame, since, today))
        ranked = (
            snap.totals.join(campaigns.select(pl.col("campaign_id"), pl.col("name").alias("campaign"), "channel",
                                              "status"), on="campaign_id", how="inner")
            .filter(pl.col("delivered") >= min_delivered)
            .sort(["unique_click_rate", "delivered", "campaign_id"], descending=[True, True, False], nulls_last=True)
            .head(top)
        )
        top_frame = ranked.select(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"), "campaign_id", "campaign", "channel",
            "status", "delivered", "unique_clicks", "unique_click_rate", "unique_open_rate",
        )
        totals = daily.group_by("channel").agg(pl.col(*frames.DAILY_COLUMNS).sum()).sort("channel")
        return Overview(days, since, by_status, daily, totals, top_frame, min_delivered)

    # ---- computing (memoised by the callers) ------------------------------------------------------

    def _events(
        self, snap: EventsSnapshot, campaign_id: int, run_id: int | None, since: datetime | None,
        day: date | None = None,
    ) -> pl.DataFrame:
        """The campaign's (or run's) prepared events, windowed exactly as statistics' `since` does
        (rows at or after `since`, kinds re-derived on them), so later calls need no `since`."""
        if since is None:
            events = self.events.campaign_events(snap, campaign_id)
        else:  # re-derived once per window, then shared by the report, its runs and breakdowns
            key = (campaign_id, since, snap.campaign_version(campaign_id))
            events = self._windows.get(key, lambda: stats.prepare(
                self.events.campaign_events(snap, campaign_id).filter(pl.col("occurred_at") >= since)))
        # A run, or the runs due on a day, is a run-level filter: it keeps every (run, profile) whole,
        # so the kinds stay right (a day's calls keep the opens and clicks that came days later).
        if run_id is not None:
            return events.filter(pl.col("run_id") == run_id)
        if day is not None:
            ids = frames.day_runs(self._runs(campaign_id), day).get_column("run_id")
            return events.filter(pl.col("run_id").is_in(ids.implode()))
        return events

    def _figures(
        self, snap: EventsSnapshot, campaign_id: int, run_id: int | None, since: datetime | None,
        day: date | None,
    ) -> dict[str, Any]:
        events = self._events(snap, campaign_id, run_id, since, day)
        summary = with_extra_rates(stats.summary(events, by=()))
        figures = summary.row(0, named=True)
        every = "1h" if since is not None or day is not None else "1d"  # one day's calls: hour by hour
        return {
            "summary": summary,
            "figures": figures,
            "every": every,
            "funnel": frames.funnel(figures),
            "timeline": frames.timeline(events, every, since, self.clock()),
            "exclusions": stats.exclusions(events, by=()),
            "bounces": stats.bounces(events, by=()),
        }

    def _run_figures(self, snap: EventsSnapshot, campaign_id: int, since: datetime | None) -> pl.DataFrame:
        """Every run's figures in the view: run_id, the day table's counts, the run table's rates."""
        events = self._events(snap, campaign_id, None, since)
        counts = dict.fromkeys([*DAY_COUNTS, *RUN_FIGURES, *DAY_RATES])
        return stats.summary(events, by=("run_id",)).select("run_id", *counts)

    def _attribute_frame(self) -> pl.DataFrame:
        """profile_id and every breakdown attribute (age band derived), once per profiles revision."""
        profiles = self.audiences.profiles()
        columns = [a for a in ATTRIBUTES if a in profiles.columns]
        return profiles.select("profile_id", *columns, frames.age_band(pl.col("age")).alias("age_band"))

    # ---- reading the store ---------------------------------------------------------------------

    def _since(self, last_24h: bool) -> datetime | None:
        return self.clock().replace(second=0, microsecond=0) - _WINDOW if last_24h else None

    def _campaigns(self) -> pl.DataFrame:
        """campaign_id, name, status, channel, type of every campaign (current version); memo per commit."""
        return self.store.memo("analytics.campaigns", lambda: campaign_rows.list_frame(self.store.cursor()).select(
            pl.col("id").cast(pl.Int32).alias("campaign_id"), "name", "status", "channel", "type"))

    def _campaign(self, campaign_id: int) -> dict[str, Any]:
        found = self._campaigns().filter(pl.col("campaign_id") == campaign_id)
        if found.height == 0:
            raise NotFound(f"There is no campaign {campaign_id}.")
        row = found.row(0, named=True)
        return {**row, "id": int(row["campaign_id"])}

    def _runs(self, campaign_id: int) -> pl.DataFrame:
        """The campaign's runs, newest first, for the run picker (memo per commit)."""
        return self.store.memo(f"analytics.runs.{campaign_id}", lambda: delivery_rows.runs_frame(
            self.store.cursor(), campaign_id).select(
            pl.col("id").cast(pl.Int32).alias("run_id"), "due_at", pl.col("status").cast(pl.String), "version",
        ).sort("due_at", descending=True))

    def _check_scope(self, meta: dict[str, Any], run_id: int | None, day: date | None) -> pl.DataFrame:
        """The campaign's runs, once the scope asked for is known to exist."""
        runs = self._runs(meta["id"])
        if run_id is not None and day is not None:
            raise InvalidInput({"day": "choose one run or one day, not both"})
        if run_id is not None and runs.filter(pl.col("run_id") == run_id).is_empty():
            raise NotFound(f"Campaign {meta['name']!r} has no run {run_id}.")
        if day is not None and frames.day_runs(runs, day).is_empty():
            noun = "call" if meta["type"] == "api_triggered" else "run"
            raise NotFound(f"Campaign {meta['name']!r} has no {noun} on {day:%Y-%m-%d} (UTC).")
        return runs

    def _profiles_revision(self) -> int:
        return self.store.memo("profiles_revision", lambda: audience_rows.profiles_revision(self.store.cursor()))

    def _authorise(self, actor: User) -> User:
        users = self.store.memo("users", lambda: {u.id: u for u in ws.users(self.store.cursor())})
        return roles.require_user(users.get(actor.id), actor, Action.VIEW_REPORTS)


def _as_day(day: date | None) -> date | None:
    """A UTC calendar day (a datetime counts as the day it falls on)."""
    return day.date() if isinstance(day, datetime) else day
