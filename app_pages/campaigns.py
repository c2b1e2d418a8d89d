"""Campaign list: status at a glance, filters, and the selected campaign's details and actions."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from core.enums import DEFAULT_LIST_STATUSES, CampaignType, Channel, Status
from core.errors import HeraldError
from core.listing import ListQuery, filter_campaigns, status_counts, tag_options
from ui.campaign_view import OPEN_DRAFT_MARK, details, flash
from ui.session import page_context



def main() -> None:
    user, ws = page_context()
    try:
        ws.campaigns.advance()  # due status changes (Scheduled -> Live, ...) show at once; idempotent
        frame = ws.campaigns.list_frame(user)
    except HeraldError as exc:
        st.error(str(exc))
        st.stop()

    st.title("Campaigns")
    counts = status_counts(frame)
    statuses = st.pills(
        "Status",
        options=list(Status),
        selection_mode="multi",
        default=list(DEFAULT_LIST_STATUSES),
        format_func=lambda s: f"{s.label} · {counts[s]}",
        key="status_filter",
        help="Starts at Draft, Scheduled and Live. Clear every status to see all campaigns.",
    )
    query = _filters(frame, tuple(statuses or ()))
    if query is None:
        return
    shown = filter_campaigns(frame, query)
    scope = ", ".join(s.label for s in query.statuses) if query.statuses else "every status"
    st.caption(f"Showing **{shown.height}** of {frame.height} campaigns · {scope}")

    event = st.dataframe(
        _display(shown),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="campaign_table",
        column_order=("Name", "Status", "Type", "Channel", "Audience", "Tags", "Start (UTC)", "End (UTC)",
                      "Modified", "Modified by", "Created"),
        column_config={
            "Name": st.column_config.TextColumn(width="medium"),
            "Status": st.column_config.TextColumn(width="medium"),
            "Type": st.column_config.TextColumn(width="small"),
            "Channel": st.column_config.TextColumn(width="small"),
            "Tags": st.column_config.ListColumn(),
            "Start (UTC)": st.column_config.TextColumn(),
            "End (UTC)": st.column_config.TextColumn(),
            "Modified": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Modified by": st.column_config.TextColumn(),
            "Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
        },
        height=min(max(shown.height, 1), 16) * 35 + 40,
    )
    selected = event.selection.rows if event else []
    if selected:
        details(ws, user, int(shown["id"][selected[0]]), link=True)
    elif shown.height:
        st.caption("Select a row to see the campaign's details, versions, history and actions.")
    else:
        st.info("No campaign matches these filters. Clear the status filter to see every status.")


def _filters(frame: pl.DataFrame, statuses: tuple[Status, ...]) -> ListQuery | None:
    search, types, channels, tags, created = st.columns([3, 2, 2, 2, 2], vertical_alignment="bottom")
    text = search.text_input("Search by name", key="search", placeholder="e.g. sale", icon=":material/search:")
    chosen_types = types.multiselect("Type", list(CampaignType), format_func=lambda t: t.label, key="types")
    chosen_channels = channels.multiselect("Channel", list(Channel), format_func=lambda c: c.label, key="channels")
    chosen_tags = tags.multiselect("Tag", tag_options(frame), key="tags")
    period = created.date_input("Created between", value=(), key="created", format="YYYY-MM-DD")
    start, end = _range(period)
    try:
        return ListQuery(
            statuses=statuses,
            search=text or "",
            types=tuple(chosen_types),
            channels=tuple(chosen_channels),
            tags=tuple(chosen_tags),
            created_from=start,
            created_to=end,
        )
    except ValueError as exc:
        st.error(str(exc))
        return None


def _range(period: object) -> tuple[date | None, date | None]:
    values = list(period) if isinstance(period, (tuple, list)) else [period] if period else []
    start = values[0] if values else None
    end = values[1] if len(values) > 1 else start
    return start, end


def _display(shown: pl.DataFrame) -> pl.DataFrame:
    status_label = pl.col("status").replace_strict({s.value: s.label for s in Status})
    return shown.select(
        pl.col("id"),
        pl.col("name").alias("Name"),
        pl.when(pl.col("open_draft"))
        .then(pl.concat_str(status_label, pl.lit(f" {OPEN_DRAFT_MARK}")))
        .otherwise(status_label)
        .alias("Status"),
        pl.col("type").replace_strict({t.value: t.label for t in CampaignType}).alias("Type"),
        pl.col("channel").replace_strict({c.value: c.label for c in Channel}).alias("Channel"),
        pl.col("audience").fill_null("—").alias("Audience"),
        pl.col("tags").alias("Tags"),
        pl.when(pl.col("starts_at_utc").is_not_null())
        .then(pl.col("starts_at_utc").dt.strftime("%Y-%m-%d %H:%M"))
        .when(pl.col("recurrence").is_not_null())
        .then(pl.lit("on activation"))
        .otherwise(pl.lit("—"))
        .alias("Start (UTC)"),
        pl.col("ends_at_utc").dt.strftime("%Y-%m-%d %H:%M").fill_null("—").alias("End (UTC)"),
        pl.col("updated_at").alias("Modified"),
        pl.col("updated_by").alias("Modified by"),
        pl.col("created_at").alias("Created"),
    )


flash()
main()
