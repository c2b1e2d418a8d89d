"""Compare campaigns side by side: one metrics table and overlaid charts (core.analytics.compare)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from core import charts
from core.analytics import MAX_COMPARE
from core.errors import HeraldError
from core.labels import METRICS, RATES, label
from ui.analytics_view import chart, ready, table
from ui.analytics_view import last_24h as period
from ui.session import page_context

_SHOWN = ("campaign", "channel", "status", "targeted", "excluded", "sent", "delivered", "unique_opens", "unique_clicks",
          "unsubscribes", "delivery_rate", "unique_open_rate", "unique_click_rate", "bounce_rate", "unsubscribe_rate")


def main() -> None:
    user, ws = page_context()
    st.title("Compare campaigns")
    if not ready(ws, user):
        st.stop()
    campaigns = ws.analytics.reportable(user)
    ids = campaigns["campaign_id"].to_list()
    names = dict(zip(ids, campaigns["name"].to_list(), strict=True))
    pick, window = st.columns([4, 2], vertical_alignment="bottom")
    chosen = pick.multiselect(f"Campaigns (up to {MAX_COMPARE})", ids, default=ids[:3], max_selections=MAX_COMPARE,
                              format_func=lambda i: f"{names[i]} (#{i})", key="compare_ids")
    last_24h = period(window, "compare_window")
    if not chosen:
        st.info("Choose at least one campaign.")
        st.stop()
    try:
        metrics, timeline = ws.analytics.compare(user, chosen, last_24h)
    except HeraldError as exc:
        st.error(str(exc))
        st.stop()
    shown = metrics.select(_SHOWN).with_columns(pl.col("channel").map_elements(label, return_dtype=pl.String),
                                                pl.col("status").map_elements(label, return_dtype=pl.String))
    config = {c: st.column_config.NumberColumn(RATES[c], format="percent") for c in _SHOWN if c in RATES}
    config |= {c: st.column_config.NumberColumn(METRICS[c], format="localized") for c in _SHOWN if c in METRICS}
    config |= {"campaign": "Campaign", "channel": "Channel", "status": "Status"}
    table(st, shown, "Campaign comparison", "compare", column_config=config)
    chart(st, charts.compare_rates(metrics), "Rates side by side", "rates")
    metric = st.segmented_control("Over time", ["delivered", "unique_opens", "unique_clicks"], default="unique_opens",
                                  required=True, format_func=label, key="compare_metric")
    aligned = st.toggle("Align on each campaign's first send", value=True, key="compare_aligned")
    every = "1h" if last_24h else "1d"
    title = f"{label(metric)} over time"
    chart(st, charts.compare(timeline, metric, aligned=aligned, every=every), title, "compare-timeline")


main()
