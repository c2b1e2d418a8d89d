"""Calendar: every send of Scheduled and Live campaigns in a week or a month, recurring ones
included (core.schedule_calendar computes them from the scheduler's own slots)."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from core.enums import Channel, Status
from core.errors import HeraldError
from core.schedule_calendar import month_weeks, shift, span, week_of
from ui.session import page_context

_STATUS_COLOUR = {Status.SCHEDULED.value: "blue", Status.LIVE.value: "green"}
_MAX_PER_DAY = 6  # a month cell lists this many sends, then "+n more"


def main() -> None:
    user, ws = page_context()
    st.title("Calendar")
    today = ws.clock().date()
    anchor: date = st.session_state.setdefault("calendar_day", today)
    bar = st.container(horizontal=True, vertical_alignment="bottom")
    view = bar.segmented_control("View", ["week", "month"], default="month", required=True, key="calendar_view",
                                 format_func=str.capitalize)
    if bar.button("Previous", key="cal_prev"):
        anchor = st.session_state["calendar_day"] = shift(anchor, view, -1)
    if bar.button("Today", key="cal_today"):
        anchor = st.session_state["calendar_day"] = today
    if bar.button("Next", key="cal_next"):
        anchor = st.session_state["calendar_day"] = shift(anchor, view, 1)
    channels = bar.multiselect("Channel", list(Channel), format_func=lambda c: c.label, key="calendar_channels",
                               placeholder="All channels")
    weeks = month_weeks(anchor) if view == "month" else [week_of(anchor)]
    start, end = span([day for week in weeks for day in week])
    try:
        sends = ws.campaigns.calendar(user, start, end)
    except HeraldError as exc:
        st.error(str(exc))
        st.stop()
    if channels:
        sends = sends.filter(pl.col("channel").is_in([c.value for c in channels]))
    heading = f"{anchor:%B %Y}" if view == "month" else f"Week of {weeks[0][0]:%d %B %Y}"
    campaigns = sends["campaign_id"].n_unique()
    st.subheader(heading)
    st.caption(f"{sends.height} sends of {campaigns} campaigns · times in UTC · "
               ":blue[●] Scheduled :green[●] Live · select a send to open its campaign")
    by_day = sends.with_columns(pl.col("at").dt.date().alias("day")).partition_by("day", as_dict=True)
    if view == "week":
        _agenda(weeks[0], by_day, today)
        return
    header = st.columns(7)
    for col, name in zip(header, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True):
        col.markdown(f"**{name}**")
    for week in weeks:
        for col, day in zip(st.columns(7), week, strict=True):
            _day(col, day, by_day.get((day,)), anchor, today)


def _agenda(days: list[date], by_day: dict[tuple[object, ...], pl.DataFrame], today: date) -> None:
    """The week as an agenda, one row per day, so each send shows its full name, status and channel."""
    for day in days:
        sends = by_day.get((day,))
        with st.container(border=True):
            label, entries = st.columns([1, 5])
            label.markdown(f"**{day:%a %d %b}**" + (" :red-badge[today]" if day == today else ""))
            if sends is None:
                entries.caption("No send")
                continue
            for row in sends.iter_rows(named=True):
                _link(entries, row, with_details=True)


def _link(where: st.delta_generator.DeltaGenerator, row: dict[str, object], with_details: bool = False) -> None:
    status, channel = Status(str(row["status"])), Channel(str(row["channel"]))
    repeat = f"repeats {row['recurrence']}" if row["recurrence"] != "none" else "one send"
    label = f":{_STATUS_COLOUR.get(status.value, 'gray')}[●] {row['at']:%H:%M} {row['name']}"
    if with_details:
        label += f" · {status.label} · {channel.label} · {repeat}"
    where.page_link("app_pages/campaign.py", label=label, query_params={"id": row["campaign_id"]},
                    help=f"{row['name']} — {status.label}, {channel.label}, {repeat}")


def _day(col: st.delta_generator.DeltaGenerator, day: date, sends: pl.DataFrame | None, anchor: date,
         today: date) -> None:
    cell = col.container(border=True, height=170)
    label = f":red-background[{day.day} · today]" if day == today else f"{day.day}"
    cell.markdown(f":gray[{label}]" if day.month != anchor.month else f"**{label}**")
    if sends is None:
        return
    for row in sends.head(_MAX_PER_DAY).iter_rows(named=True):
        _link(cell, row)
    if sends.height > _MAX_PER_DAY:
        cell.caption(f"+{sends.height - _MAX_PER_DAY} more")


main()
