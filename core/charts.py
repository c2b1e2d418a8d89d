"""Altair charts for the analytics pages and the exported report: pure functions frame -> chart.

Why pure: the page shows them and `core.export` turns the very same charts into PNGs, so what a
stakeholder gets is what the analyst saw. Every chart has a title, labelled axes and tooltips;
codes (reason, channel, stage) are shown in words (core.labels). Written for Altair 6 (Vega-Lite 6):
no deprecated selection or `add_selection` API. Empty frames give an empty, still titled chart.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from core import labels
from core.labels import label

WIDTH = 560
HEIGHT = 260
SERIES_COLOURS = {"Delivered": "#c7d2e0", "Unique opens": "#2f6fb3", "Unique clicks": "#e07b24"}
BOUNCE_COLOURS = {"Hard": "#c0392b", "Soft": "#f0a35e", "Not recorded": "#999999"}
CHANNEL_COLOURS = {"Email": "#2f6fb3", "SMS": "#3aa57a", "Push": "#e07b24", "In-app": "#8e6bb8", "Webhook": "#7a8793"}


def _labelled(frame: pl.DataFrame, column: str, to: str = "label") -> pl.DataFrame:
    """A column of codes plus their words, for axes and legends."""
    words = [label(v) for v in frame.get_column(column).cast(pl.String).to_list()]
    return frame.with_columns(pl.Series(to, words, dtype=pl.String))


def _channel_colour() -> alt.Color:
    """The same colour for a channel on every chart."""
    return alt.Color("channel_label:N", title="Channel",
                     scale=alt.Scale(domain=list(CHANNEL_COLOURS), range=list(CHANNEL_COLOURS.values())))


def _title(text: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or "", anchor="start")


def funnel(frame: pl.DataFrame, title: str = "Delivery funnel") -> alt.Chart:
    """Horizontal bars targeted -> clicked (report.funnel), labelled with the share of targeted."""
    order = frame.get_column("label").to_list()
    shares = [labels.pct(v) for v in frame.get_column("of_targeted").to_list()]
    base = alt.Chart(frame.with_columns(pl.Series("share_text", shares, dtype=pl.String))).encode(
        y=alt.Y("label:N", sort=order, title=None),
        x=alt.X("count:Q", title="Recipients"),
        tooltip=[alt.Tooltip("label:N", title="Stage"), alt.Tooltip("count:Q", title="Recipients", format=","),
                 alt.Tooltip("of_targeted:Q", title="Of targeted", format=".1%"),
                 alt.Tooltip("of_previous:Q", title="Of previous stage", format=".1%")],
    )
    bars = base.mark_bar(color="#2f6fb3")
    text = base.mark_text(align="left", dx=4, color="#333").encode(text="share_text:N")
    return (bars + text).properties(title=_title(title, "Unique opens and clicks; share of targeted"),
                                    width=WIDTH, height=HEIGHT)


def timeline(frame: pl.DataFrame, every: str = "1d", title: str = "Performance over time") -> alt.LayerChart:
    """Delivered as bars, unique opens and clicks as lines, per hour or day (report.timeline)."""
    step = "Hour (UTC)" if every == "1h" else "Day (UTC)"
    fmt = "%d %b %H:%M" if every == "1h" else "%d %b"
    long = frame.select("bucket", "delivered", "unique_opens", "unique_clicks").unpivot(
        index="bucket", variable_name="metric", value_name="count"
    ).with_columns(pl.col("metric").replace_strict(
        {"delivered": "Delivered", "unique_opens": "Unique opens", "unique_clicks": "Unique clicks"},
        return_dtype=pl.String,
    ))
    colour = alt.Color("metric:N", title=None, scale=alt.Scale(domain=list(SERIES_COLOURS),
                                                             range=list(SERIES_COLOURS.values())))
    base = alt.Chart(long).encode(
        x=alt.X("bucket:T", title=step, axis=alt.Axis(format=fmt)),
        y=alt.Y("count:Q", title="Recipients"),
        color=colour,
        tooltip=[alt.Tooltip("bucket:T", title=step, format=fmt),
                 alt.Tooltip("metric:N", title="Series"), alt.Tooltip("count:Q", title="Recipients", format=",")],
    )
    bars = base.transform_filter(alt.datum.metric == "Delivered").mark_bar(opacity=0.8)
    lines = base.transform_filter(alt.datum.metric != "Delivered").mark_line(point=True)
    return alt.layer(bars, lines).properties(
        title=_title(title, "Delivered messages; recipients who opened / clicked in each period"),
        width=WIDTH, height=HEIGHT,
    )


def exclusions(frame: pl.DataFrame, title: str = "Exclusion reasons") -> alt.Chart:
    """Excluded recipients per reason (report.exclusions), most frequent first."""
    data = _labelled(frame, "reason")
    return alt.Chart(data).mark_bar(color="#8e6bb8").encode(
        y=alt.Y("label:N", sort="-x", title=None),
        x=alt.X("excluded:Q", title="Excluded recipients"),
        tooltip=[alt.Tooltip("label:N", title="Reason"), alt.Tooltip("excluded:Q", title="Excluded", format=","),
                 alt.Tooltip("share:Q", title="Share of exclusions", format=".1%")],
    ).properties(title=_title(title), width=WIDTH, height=alt.Step(24))


def bounces(frame: pl.DataFrame, title: str = "Bounces by reason") -> alt.Chart:
    """Bounces per reason, coloured hard / soft (report.bounces)."""
    data = _labelled(frame, "bounce", "kind")
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("reason:N", sort="-x", title=None),
        x=alt.X("bounced:Q", title="Bounced messages"),
        color=alt.Color("kind:N", title="Bounce", scale=alt.Scale(domain=list(BOUNCE_COLOURS),
                                                                  range=list(BOUNCE_COLOURS.values()))),
        tooltip=[alt.Tooltip("kind:N", title="Bounce"), alt.Tooltip("reason:N", title="Reason"),
                 alt.Tooltip("bounced:Q", title="Bounced", format=","),
                 alt.Tooltip("share:Q", title="Share of bounces", format=".1%")],
    ).properties(title=_title(title), width=WIDTH, height=alt.Step(24))


def breakdown(
    frame: pl.DataFrame, attribute: str, rate: str = "unique_click_rate", limit: int = 20,
    title: str | None = None,
) -> alt.Chart:
    """`rate` per attribute value (Analytics.breakdown), the `limit` values with most targeted."""
    data = frame.sort("targeted", descending=True).head(limit).with_columns(
        pl.col(attribute).cast(pl.String).fill_null("Not known").alias("value"))
    name = label(attribute)
    return alt.Chart(data).mark_bar(color="#2f6fb3").encode(
        y=alt.Y("value:N", sort="-x", title=name),
        x=alt.X(f"{rate}:Q", title=label(rate), axis=alt.Axis(format=".0%")),
        tooltip=[alt.Tooltip("value:N", title=name), alt.Tooltip("targeted:Q", title="Targeted", format=","),
                 alt.Tooltip("delivered:Q", title="Delivered", format=","),
                 alt.Tooltip(f"{rate}:Q", title=label(rate), format=".1%")],
    ).properties(title=_title(title or f"{label(rate)} by {name.lower()}"), width=WIDTH, height=alt.Step(22))


def compare(
    frame: pl.DataFrame, metric: str = "unique_opens", aligned: bool = True, every: str = "1d",
    title: str | None = None,
) -> alt.Chart:
    """Overlaid timelines of several campaigns (Analytics.compare timeline), one colour each; aligned
    puts every campaign's first period at 0 so campaigns sent on different dates overlay."""
    unit = "hours" if every == "1h" else "days"
    x = (alt.X("since_start:Q", title=f"{unit.capitalize()} since the campaign's first send")
         if aligned else alt.X("bucket:T", title="Hour (UTC)" if every == "1h" else "Day (UTC)"))
    return alt.Chart(frame).mark_line(point=True).encode(
        x=x,
        y=alt.Y(f"{metric}:Q", title=label(metric)),
        color=alt.Color("campaign:N", title="Campaign"),
        tooltip=[alt.Tooltip("campaign:N", title="Campaign"), alt.Tooltip("bucket:T", title="Period"),
                 alt.Tooltip(f"{metric}:Q", title=label(metric), format=",")],
    ).properties(title=_title(title or f"{label(metric)} over time"), width=WIDTH, height=HEIGHT)


def compare_rates(
    metrics: pl.DataFrame, rates: Sequence[str] = ("delivery_rate", "unique_open_rate", "unique_click_rate",
                                                   "bounce_rate", "unsubscribe_rate"),
    title: str = "Rates side by side",
) -> alt.Chart:
    """Grouped bars: each rate for each compared campaign (Analytics.compare metrics)."""
    long = metrics.select("campaign", *rates).unpivot(index="campaign", variable_name="rate", value_name="value")
    long = long.with_columns(pl.col("rate").replace_strict({r: label(r) for r in rates}, return_dtype=pl.String))
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("rate:N", title=None, sort=[label(r) for r in rates], axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("campaign:N"),
        y=alt.Y("value:Q", title="Rate", axis=alt.Axis(format=".0%")),
        color=alt.Color("campaign:N", title="Campaign"),
        tooltip=[alt.Tooltip("campaign:N", title="Campaign"), alt.Tooltip("rate:N", title="Rate"),
                 alt.Tooltip("value:Q", title="Value", format=".2%")],
    ).properties(title=_title(title), width=WIDTH, height=HEIGHT)


def status_counts(frame: pl.DataFrame, title: str = "Campaigns by status") -> alt.Chart:
    """Campaigns per status (Overview.by_status), in lifecycle order."""
    return alt.Chart(frame).mark_bar(color="#2f6fb3").encode(
        x=alt.X("label:N", sort=frame.get_column("label").to_list(), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("campaigns:Q", title="Campaigns", axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("label:N", title="Status"), alt.Tooltip("campaigns:Q", title="Campaigns")],
    ).properties(title=_title(title), width=WIDTH, height=HEIGHT)


def daily_by_channel(frame: pl.DataFrame, metric: str = "sent", title: str | None = None) -> alt.Chart:
    """Stacked daily `metric` per channel (Overview.daily)."""
    data = _labelled(frame, "channel", "channel_label")
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("day:T", title="Day (UTC)", axis=alt.Axis(format="%d %b")),
        y=alt.Y(f"{metric}:Q", title=label(metric), stack="zero"),
        color=_channel_colour(),
        tooltip=[alt.Tooltip("day:T", title="Day", format="%d %b %Y"), alt.Tooltip("channel_label:N", title="Channel"),
                 alt.Tooltip(f"{metric}:Q", title=label(metric), format=",")],
    ).properties(title=_title(title or f"{label(metric)} per day by channel"), width=WIDTH, height=HEIGHT)


def top_campaigns(frame: pl.DataFrame, title: str = "Top campaigns by click-through") -> alt.Chart:
    """Unique click-through rate of the top campaigns (Overview.top), best first."""
    data = _labelled(frame, "channel", "channel_label")
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("campaign:N", sort="-x", title=None),
        x=alt.X("unique_click_rate:Q", title="Click-through rate", axis=alt.Axis(format=".0%")),
        color=_channel_colour(),
        tooltip=[alt.Tooltip("campaign:N", title="Campaign"), alt.Tooltip("channel_label:N", title="Channel"),
                 alt.Tooltip("delivered:Q", title="Delivered", format=","),
                 alt.Tooltip("unique_clicks:Q", title="Unique clicks", format=","),
                 alt.Tooltip("unique_click_rate:Q", title="Click-through rate", format=".2%")],
    ).properties(title=_title(title), width=WIDTH, height=alt.Step(22))


def calls_per_day(frame: pl.DataFrame, title: str = "API calls per day") -> alt.Chart:
    """An API-triggered campaign's calls per UTC day (RunsOverview.days: day, runs, targeted, sent,
    excluded, errors), one bar a day, what became of the recipients in the tooltip."""
    data = frame.select(pl.col("day").cast(pl.Datetime("us")), "runs", "targeted", "sent", "excluded", "errors")
    return alt.Chart(data).mark_bar(color="#2f6fb3").encode(
        x=alt.X("yearmonthdate(day):T", title="Day (UTC)", axis=alt.Axis(format="%d %b")),
        y=alt.Y("runs:Q", title="Calls"),
        tooltip=[alt.Tooltip("yearmonthdate(day):T", title="Day (UTC)", format="%a %d %b %Y"),
                 alt.Tooltip("runs:Q", title="Calls", format=","),
                 alt.Tooltip("targeted:Q", title="Recipients", format=","),
                 alt.Tooltip("sent:Q", title="Sent", format=","),
                 alt.Tooltip("excluded:Q", title="Excluded", format=","),
                 alt.Tooltip("errors:Q", title="Errors", format=",")],
    ).properties(title=_title(title, "Recipients, sent, excluded and errors in the tooltip"), height=200)
