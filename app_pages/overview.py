"""Workspace overview: campaigns by status, sends and engagement over the last 30 days by channel,
and the top campaigns by click-through (core.analytics.overview)."""

from __future__ import annotations

import streamlit as st

from core import charts
from core.errors import HeraldError
from core.labels import count, label
from ui.analytics_view import chart, ready, table
from ui.session import page_context


def main() -> None:
    user, ws = page_context()
    st.title("Overview")
    if not ready(ws, user):
        st.stop()
    try:
        overview = ws.analytics.overview(user, days=30)
    except HeraldError as exc:
        st.error(str(exc))
        st.stop()
    st.caption(f"Last {overview.days} days, from {overview.since:%Y-%m-%d} (UTC) to today.")
    for column, row in zip(st.columns(overview.channels.height or 1), overview.channels.iter_rows(named=True),
                           strict=False):
        column.metric(f"{label(row['channel'])}: sent", count(row["sent"]), border=True,
                      help=f"{count(row['delivered'])} delivered, {count(row['opens'])} opens, "
                           f"{count(row['clicks'])} clicks in the last {overview.days} days")
    left, right = st.columns(2)
    chart(left, charts.status_counts(overview.by_status), "Campaigns by status", "status")
    chart(right, charts.top_campaigns(overview.top), "Top campaigns by click-through", "top")
    metric = st.segmented_control("Daily", ["sent", "delivered", "opens", "clicks"], default="sent", required=True,
                                  format_func=label, key="overview_metric")
    chart(st, charts.daily_by_channel(overview.daily, metric), f"Daily {metric} by channel", "daily")
    st.markdown(f"**Top campaigns by click-through** (at least {overview.min_delivered:,} delivered)")
    table(st, overview.top, "Top campaigns", "top", column_config={
        "unique_click_rate": st.column_config.NumberColumn("Click-through", format="percent"),
        "unique_open_rate": st.column_config.NumberColumn("Unique open rate", format="percent")})
    with st.expander("Daily figures by channel"):
        table(st, overview.daily, "Daily by channel", "daily")


main()
