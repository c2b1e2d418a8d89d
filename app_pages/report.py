"""Campaign report: KPI tiles against the channel's median, the funnel, performance over time,
exclusion and bounce reasons, a breakdown by a profile attribute, and what stands out.
Every figure comes from core.analytics (which the tests check against SQL)."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from core import charts, export
from core.errors import HeraldError
from core.labels import ATTRIBUTES, CHANNELS, count, label, moment, pct, points
from core.models import User
from core.report_models import RUNS_LISTED, CampaignReport
from core.workspace import Workspace
from ui.analytics_view import chart, ready, table
from ui.analytics_view import last_24h as period
from ui.session import page_context

_WORSE_WHEN_HIGHER = {"excluded", "unsubscribes"}


def main() -> None:
    user, ws = page_context()
    st.title("Campaign report")
    if not ready(ws, user):
        st.stop()
    campaigns = ws.analytics.reportable(user)
    if campaigns.is_empty():
        st.info("No campaign has sent anything yet: reports appear after a campaign's first run.")
        st.stop()
    ids = campaigns["campaign_id"].to_list()
    names = dict(zip(ids, campaigns["name"].to_list(), strict=True))
    asked = st.query_params.get("id", "")
    if asked.isdigit() and int(asked) in names and st.session_state.get("report_link") != asked:
        st.session_state["report_link"] = asked  # a link (or the address bar) chose the campaign
        st.session_state["report_campaign"] = int(asked)
    picker, run_picker, window = st.columns([3, 2, 2], vertical_alignment="bottom")
    campaign_id = picker.selectbox("Campaign", ids, format_func=lambda i: f"{names[i]} (#{i})", key="report_campaign")
    st.query_params["id"] = st.session_state["report_link"] = str(campaign_id)
    last_24h = period(window, "report_window")
    try:
        report = ws.analytics.report(user, campaign_id, None, last_24h)
        run_id, day = _scope(ws, user, report, run_picker)
        if run_id is not None or day is not None:
            report = ws.analytics.report(user, campaign_id, run_id, last_24h, day=day)
    except HeraldError as exc:
        st.error(str(exc))
        st.stop()
    _header(report)
    _tiles(report)
    _flags(report)
    figures = _charts(report)
    left, right = st.columns(2)
    chart(left, figures["Delivery funnel"], "Delivery funnel", "funnel")
    chart(right, figures["Performance over time"], "Performance over time", "timeline")
    left, right = st.columns(2)
    chart(left, figures["Exclusion reasons"], "Exclusion reasons", "exclusions")
    chart(right, figures["Bounces by reason"], "Bounces by reason", "bounces")
    breakdown = _breakdown(ws, user, report)
    with st.expander("Tables"):
        for title, frame in _tables(report).items():
            st.markdown(f"**{title}**")
            table(st, frame, title, title.split(" (")[0].lower().replace(" ", "-"),
                  column_config={"day": st.column_config.DateColumn(format="YYYY-MM-DD")})
    st.download_button(
        "Download the whole report (HTML)", type="primary", key="report_html", on_click="ignore",
        data=lambda: export.report_html(report, {**figures, **breakdown[0]}, breakdown[1]),
        file_name=f"herald-report-{report.campaign_id}{'-run-' + str(report.run_id) if report.run_id else ''}"
                  f"{f'-{report.day:%Y-%m-%d}' if report.day else ''}.html",
        mime="text/html", help="One file with the tiles, flags, every chart and every table; opens in any browser.",
    )


def _scope(ws: Workspace, user: User, report: CampaignReport,
           where: st.delta_generator.DeltaGenerator) -> tuple[int | None, date | None]:
    """What the report covers: (run, day). An API-triggered campaign records one run per call, tens of
    thousands of them: its picker offers all calls or the calls of one day (UTC), as does a scheduled
    campaign with more than RUNS_LISTED runs; a scheduled campaign with fewer offers each run."""
    days = ws.analytics.run_days(user, report.campaign_id)
    total = int(days.get_column("runs").sum())
    noun = "calls" if report.triggered else "runs"
    if report.triggered or total > RUNS_LISTED:
        per_day = dict(zip(days.get_column("day").to_list(), days.get_column("runs").to_list(), strict=True))
        day = where.selectbox(
            noun.capitalize(), [None, *per_day], key=f"report_day_{report.campaign_id}",
            format_func=lambda d: f"All {total:,} {noun}" if d is None else
            f"{d:%Y-%m-%d} · {per_day[d]:,} {noun if per_day[d] != 1 else noun[:-1]}",
            help=f"Every {noun[:-1]}, or the {noun} {'made' if report.triggered else 'due'} on one day (UTC): "
                 "their figures include the opens and clicks that came later.", disabled=len(per_day) < 2)
        return None, day
    due = dict(zip(report.runs["run_id"].to_list(), report.runs["due_at"].to_list(), strict=True))
    run_id = where.selectbox("Run", [None, *due], key=f"report_run_{report.campaign_id}",
                             format_func=lambda r: f"All {total:,} runs" if r is None else
                             f"Run {r} · {due[r]:%Y-%m-%d %H:%M}", disabled=len(due) < 2)
    return run_id, None


def _header(report: CampaignReport) -> None:
    view = f"last 24 hours (since {moment(report.since)})" if report.last_24h else "all time"
    scope = report.scope
    channel = CHANNELS.get(report.channel, report.channel)
    st.caption(f"{channel} · {label(report.status)} · {scope} · {view} · compared with the median of "
               f"{report.peers} other {channel.lower()} campaigns · figures as of {moment(report.generated_at)}")


def _tiles(report: CampaignReport) -> None:
    """Counts with their rate; the arrow is the rate's distance from the channel's median campaign."""
    row = st.container(horizontal=True, gap="small")
    for kpi in report.kpis:
        rate = f"{kpi.rate_label} {pct(kpi.rate)}" if kpi.rate_label else "All resolved recipients"
        median = f" · median {pct(kpi.median)}" if kpi.median is not None else ""
        with row.container(border=True, width=220):
            st.metric(
                kpi.label, count(kpi.value), delta=points(kpi.difference) if kpi.difference is not None else None,
                delta_color="inverse" if kpi.metric in _WORSE_WHEN_HIGHER else "normal",
                help=f"{rate}. Median of {kpi.peers} other campaigns of this channel: {pct(kpi.median)}; "
                     "the arrow shows the difference in percentage points.",
            )
            st.caption(rate + median)


def _flags(report: CampaignReport) -> None:
    if not report.flags:
        st.success("Nothing unusual: no rate is outside the range of comparable campaigns.")
    for flag in report.flags:
        st.warning(flag)


def _charts(report: CampaignReport) -> dict[str, object]:
    return {
        "Delivery funnel": charts.funnel(report.funnel),
        "Performance over time": charts.timeline(report.timeline, report.every),
        "Exclusion reasons": charts.exclusions(report.exclusions),
        "Bounces by reason": charts.bounces(report.bounces),
    }


def _breakdown(ws: Workspace, user: User, report: CampaignReport) -> tuple[dict[str, object], dict[str, pl.DataFrame]]:
    st.subheader("Breakdown by profile attribute")
    pick, rate_pick = st.columns([2, 2])
    attribute = pick.selectbox("Attribute", list(ATTRIBUTES), format_func=ATTRIBUTES.get, key="report_attribute")
    rate = rate_pick.selectbox("Rate", ["unique_click_rate", "unique_open_rate", "delivery_rate", "click_to_open_rate"],
                               format_func=label, key="report_rate")
    frame = ws.analytics.breakdown(user, report.campaign_id, report.run_id, attribute, report.last_24h, day=report.day)
    title = f"{label(rate)} by {ATTRIBUTES[attribute].lower()}"
    figure = charts.breakdown(frame, attribute, rate=rate)
    left, right = st.columns([3, 2])
    chart(left, figure, title, "breakdown")
    table(right, frame, f"Breakdown by {ATTRIBUTES[attribute].lower()}", "breakdown")
    return {title: figure}, {f"Breakdown by {ATTRIBUTES[attribute].lower()}": frame}


def _tables(report: CampaignReport) -> dict[str, pl.DataFrame]:
    kpis = pl.DataFrame({
        "Metric": [k.label for k in report.kpis], "Value": [k.value for k in report.kpis],
        "Rate": [k.rate_label or "" for k in report.kpis], "Rate value": [k.rate for k in report.kpis],
        "Channel median": [k.median for k in report.kpis], "Difference": [k.difference for k in report.kpis],
    })
    return {"Key figures": kpis, "Funnel": report.funnel, "Timeline": report.timeline,
            "Exclusion reasons": report.exclusions, "Bounces": report.bounces, **report.run_tables()}


main()
