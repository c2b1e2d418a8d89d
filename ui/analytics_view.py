"""What the analytics pages share: the one-time event load with a progress bar, charts with a PNG
download, tables with a CSV download, and the role check's message."""

from __future__ import annotations

import re

import altair as alt
import polars as pl
import streamlit as st

from core import export
from core.errors import HeraldError
from core.models import User
from core.workspace import Workspace


def ready(ws: Workspace, user: User) -> bool:
    """Catch up on new events (loading them, with progress, the first time in a process); False,
    with the reason shown, when this user's role may not see reports."""
    try:
        if ws.analytics.loaded:
            ws.analytics.warm(user)
        else:
            bar = st.progress(0.0, text="Loading delivery events…")
            ws.analytics.warm(user, lambda done, text: bar.progress(min(max(done, 0.0), 1.0), text=text))
            bar.empty()
        return True
    except HeraldError as exc:
        st.warning(str(exc))
        return False


def last_24h(where: st.delta_generator.DeltaGenerator, key: str) -> bool:
    """The report's period toggle: all time, or activity in the last 24 hours."""
    choice = where.segmented_control("Period", ["all", "24h"], default="all", required=True, key=key,
                                     format_func={"all": "All time", "24h": "Last 24 hours"}.get)
    return choice == "24h"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "chart"


def chart(where: st.delta_generator.DeltaGenerator, figure: alt.TopLevelMixin, title: str, key: str) -> None:
    """The chart, and a PNG of exactly that chart (rendered only when asked for)."""
    where.altair_chart(figure, width="stretch")
    where.download_button("Download PNG", data=lambda: export.chart_png(figure), file_name=f"{_slug(title)}.png",
                          mime="image/png", key=f"png-{key}", on_click="ignore", type="tertiary")


def table(where: st.delta_generator.DeltaGenerator, frame: pl.DataFrame, title: str, key: str,
          **dataframe_args: object) -> None:
    """The table, and the same rows as a CSV file."""
    where.dataframe(frame, hide_index=True, **dataframe_args)
    where.download_button("Download CSV", data=lambda: export.table_csv(frame), file_name=f"{_slug(title)}.csv",
                          mime="text/csv", key=f"csv-{key}", on_click="ignore", type="tertiary")
