"""A campaign's Runs tab, bounded whatever the number of runs.

An API-triggered campaign records one run per API call: a busy password reset makes tens of
thousands in days. Its tab shows the calls per UTC day (calls, recipients, sent, excluded, errors)
and the newest calls one by one; a scheduled campaign shows its newest runs with their progress.
Every figure comes from `Delivery.runs_overview` (aggregated in DuckDB, role-checked in core)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from core import charts
from core.delivery import RunsOverview
from core.errors import HeraldError
from core.models import User
from core.workspace import Workspace

_WHEN = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
_WHEN_S = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
_TIME = st.column_config.DatetimeColumn(format="HH:mm:ss")
_COUNT = st.column_config.NumberColumn(format="localized")


def runs_tab(ws: Workspace, user: User, campaign_id: int) -> None:
    try:
        overview = ws.delivery.runs_overview(user, campaign_id)
    except HeraldError as exc:
        st.error(str(exc))
        return
    if overview.total == 0:
        st.caption("No call yet: every API call that triggers this campaign is recorded here, and counted "
                   "in its report." if overview.triggered else "No run yet: runs are created when a send is due.")
        return
    if overview.triggered:
        _calls(overview)
    else:
        _runs(overview)


def _calls(overview: RunsOverview) -> None:
    days = overview.days if overview.days is not None else pl.DataFrame()
    first = days.get_column("first_at").min() if overview.day_count == days.height else None
    since = f" since {first:%Y-%m-%d %H:%M} UTC" if first is not None else ""
    st.markdown(f"**{overview.total:,} API calls{since}, over {overview.day_count:,} "
                f"day{'s' if overview.day_count != 1 else ''}** · one run per call")
    per_day = days.select(
        pl.col("day").alias("Day (UTC)"), pl.col("runs").alias("Calls"), pl.col("targeted").alias("Recipients"),
        pl.col("sent").alias("Sent"), pl.col("excluded").alias("Excluded"), pl.col("errors").alias("Errors"),
        pl.col("first_at").alias("First call"), pl.col("last_at").alias("Last call"),
    )
    chart, table = st.columns([2, 3])
    chart.altair_chart(charts.calls_per_day(days), width="stretch", height=282)
    table.dataframe(
        per_day, hide_index=True, height=282,
        column_config={"Day (UTC)": st.column_config.DateColumn(format="YYYY-MM-DD"), "Calls": _COUNT,
                       "Recipients": _COUNT, "Sent": _COUNT, "Excluded": _COUNT, "Errors": _COUNT,
                       "First call": _TIME, "Last call": _TIME},
    )
    if overview.day_count > days.height:
        st.caption(f"The newest {days.height:,} of {overview.day_count:,} days.")
    st.markdown("**Latest calls**")
    recent = overview.recent
    failures = recent.get_column("failure_reason").is_not_null().any()
    calls = recent.select(
        pl.col("id").alias("Run"), pl.col("due_at").alias("Called at (UTC)"),
        pl.col("api_key").fill_null("—").alias("API key"), pl.col("targeted").alias("Recipients"),
        pl.col("sent").alias("Sent"), pl.col("excluded").alias("Excluded"), pl.col("errors").alias("Errors"),
        pl.col("status").alias("Status"), pl.col("version").alias("Version"),
        *([pl.col("failure_reason").fill_null("").alias("Failure")] if failures else []),
    )
    st.dataframe(calls, hide_index=True,
                 column_config={"Called at (UTC)": _WHEN_S, "Recipients": _COUNT, "Sent": _COUNT,
                                "Excluded": _COUNT, "Errors": _COUNT})
    st.caption(_listed(overview, "call") + " Recipients are those the call named that resolved to a profile; "
               "the campaign report shows any day's calls with their deliveries, opens and clicks.")


def _runs(overview: RunsOverview) -> None:
    st.dataframe(
        overview.recent.select(
            pl.col("id").alias("Run"), pl.col("version").alias("Version"), pl.col("due_at").alias("Due (UTC)"),
            pl.col("status").alias("Status"), pl.col("total").alias("Recipients"),
            pl.col("processed").alias("Processed"), pl.col("started_at").alias("Started"),
            pl.col("finished_at").alias("Finished"), pl.col("failure_reason").fill_null("").alias("Failure"),
        ),
        hide_index=True,
        column_config={"Due (UTC)": _WHEN, "Started": _WHEN, "Finished": _WHEN, "Recipients": _COUNT,
                       "Processed": _COUNT},
    )
    if overview.hidden:
        st.caption(_listed(overview, "run"))


def _listed(overview: RunsOverview, noun: str) -> str:
    shown = overview.recent.height
    if shown == overview.total:
        return f"All {overview.total:,} {noun}{'s' if overview.total != 1 else ''}, newest first."
    return f"The newest {shown:,} of {overview.total:,} {noun}s."
