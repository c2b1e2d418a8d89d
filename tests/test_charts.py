"""Charts (core/charts.py): valid Vega-Lite 6 specs without deprecated Altair API, titled and labelled,
with tooltips, drawing exactly the analytics frames' figures (in words, not codes); empty frames too."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import pytest

from core import charts
from core.labels import label
from analytics_data import Shop, open_copy


@pytest.fixture(scope="module")
def shop(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    s = open_copy(seeded_db, tmp_path_factory.mktemp("charts"))
    yield s
    s.store.close()


def busiest(shop: Shop) -> int:
    rows = shop.campaigns_with_events()
    return max(rows, key=lambda r: (r["channel"] == "email", r["events"]))["campaign_id"]


def strict_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """to_dict() validates against Altair's Vega-Lite schema; any deprecation warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = chart.to_dict()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    return spec


def values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    datasets = spec["datasets"]
    assert len(datasets) == 1
    return next(iter(datasets.values()))


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("layer", [spec])


def tooltip_titles(spec: dict[str, Any]) -> set[str]:
    return {t["title"] for layer in layers(spec) for t in layer["encoding"]["tooltip"]}


def test_funnel_chart_draws_the_report_funnel(shop: Shop) -> None:
    report = shop.ws.analytics.report(shop.admin, busiest(shop))
    spec = strict_spec(charts.funnel(report.funnel))
    assert spec["title"]["text"] == "Delivery funnel"
    rows = values(spec)
    assert [r["label"] for r in rows] == ["Targeted", "Sent", "Delivered", "Opened", "Clicked"]
    assert [r["count"] for r in rows] == report.funnel["count"].to_list()
    assert rows[0]["share_text"] == "100.0%"
    bar = layers(spec)[0]
    assert bar["encoding"]["x"]["title"] == "Recipients" and bar["encoding"]["y"]["sort"][0] == "Targeted"
    assert {"Stage", "Recipients", "Of targeted"} <= tooltip_titles(spec)


@pytest.mark.parametrize("last_24h", [False, True])
def test_timeline_chart_layers_delivered_bars_and_engagement_lines(shop: Shop, last_24h: bool) -> None:
    report = shop.ws.analytics.report(shop.admin, busiest(shop), last_24h=last_24h)
    spec = strict_spec(charts.timeline(report.timeline, report.every))
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["bar", "line"]
    rows = values(spec)
    assert len(rows) == 3 * report.timeline.height
    delivered = {r["bucket"]: r["count"] for r in rows if r["metric"] == "Delivered"}
    opens = {r["bucket"]: r["count"] for r in rows if r["metric"] == "Unique opens"}
    assert sum(delivered.values()) == report.timeline["delivered"].sum()
    assert sum(opens.values()) == report.timeline["unique_opens"].sum()
    x = spec["layer"][0]["encoding"]["x"]
    assert x["title"] == ("Hour (UTC)" if last_24h else "Day (UTC)") and x["type"] == "temporal"
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["Delivered", "Unique opens", "Unique clicks"]


def test_reason_charts_use_words_and_colour_bounce_kinds(shop: Shop) -> None:
    report = shop.ws.analytics.report(shop.admin, busiest(shop))
    assert report.exclusions.height and report.bounces.height
    spec = strict_spec(charts.exclusions(report.exclusions))
    words = {r["label"]: r["excluded"] for r in values(spec)}
    codes = dict(zip(report.exclusions["reason"], report.exclusions["excluded"]))
    assert words == {label(code): n for code, n in codes.items()}
    assert "frequency_cap" not in words and ("Frequency cap" in words or "Suppressed" in words)
    spec = strict_spec(charts.bounces(report.bounces))
    assert {r["kind"] for r in values(spec)} <= {"Hard", "Soft"}
    assert sum(r["bounced"] for r in values(spec)) == report.figures["bounced"]
    assert spec["encoding"]["color"]["scale"]["domain"][:2] == ["Hard", "Soft"]
    assert {"Reason", "Bounced", "Share of bounces"} <= tooltip_titles(spec)


def test_breakdown_chart_keeps_the_biggest_values(shop: Shop) -> None:
    frame = shop.ws.analytics.breakdown(shop.admin, busiest(shop), attribute="city")
    assert frame.height > 5
    spec = strict_spec(charts.breakdown(frame, "city", rate="unique_open_rate", limit=5))
    rows = values(spec)
    biggest = frame.sort("targeted", descending=True).head(5)
    assert [r["value"] for r in rows] == biggest["city"].cast(pl.String).to_list()
    assert spec["title"]["text"] == "Unique open rate by city"
    assert spec["encoding"]["x"]["axis"]["format"] == ".0%"
    age = shop.ws.analytics.breakdown(shop.admin, busiest(shop), attribute="age_band")
    assert {r["value"] for r in values(strict_spec(charts.breakdown(age, "age_band")))} <= {
        "Under 18", "18–24", "25–34", "35–44", "45–54", "55–64", "65+", "Not known"}


def test_compare_charts_overlay_campaigns(shop: Shop) -> None:
    ids = [r["campaign_id"] for r in shop.campaigns_with_events()][:3]
    metrics, timeline = shop.ws.analytics.compare(shop.admin, ids)
    aligned = strict_spec(charts.compare(timeline, "delivered"))
    assert aligned["encoding"]["x"]["field"] == "since_start"
    assert aligned["encoding"]["color"]["field"] == "campaign"
    assert {r["campaign"] for r in values(aligned)} == set(metrics["campaign"])
    dated = strict_spec(charts.compare(timeline, "delivered", aligned=False))
    assert dated["encoding"]["x"]["field"] == "bucket"
    rates = strict_spec(charts.compare_rates(metrics))
    rows = values(rates)
    assert len(rows) == 5 * len(ids)
    got = {(r["campaign"], r["rate"]): r["value"] for r in rows}
    for row in metrics.iter_rows(named=True):
        assert got[(row["campaign"], "Click-through rate")] == row["unique_click_rate"]
    assert rates["encoding"]["xOffset"]["field"] == "campaign"


def test_overview_charts(shop: Shop) -> None:
    overview = shop.ws.analytics.overview(shop.admin)
    spec = strict_spec(charts.status_counts(overview.by_status))
    assert [r["campaigns"] for r in values(spec)] == overview.by_status["campaigns"].to_list()
    spec = strict_spec(charts.daily_by_channel(overview.daily, "delivered"))
    assert sum(r["delivered"] for r in values(spec)) == overview.daily["delivered"].sum()
    assert {r["channel_label"] for r in values(spec)} <= {"Email", "SMS", "Push", "In-app", "Webhook"}
    spec = strict_spec(charts.top_campaigns(overview.top))
    assert [r["campaign"] for r in values(spec)] == overview.top["campaign"].to_list()
    assert spec["encoding"]["color"]["scale"]["domain"] == list(charts.CHANNEL_COLOURS)


EMPTY_CASES: list[tuple[str, Callable[[Any], alt.TopLevelMixin]]] = [
    ("funnel", lambda r: charts.funnel(r.funnel)),
    ("timeline", lambda r: charts.timeline(r.timeline, r.every)),
    ("exclusions", lambda r: charts.exclusions(r.exclusions)),
    ("bounces", lambda r: charts.bounces(r.bounces)),
]


@pytest.mark.parametrize(("name", "build"), EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_charts_of_a_campaign_without_events(shop: Shop, name: str, build: Callable[[Any], alt.TopLevelMixin]) -> None:
    draft = [r for r in shop.ws.campaigns.list_frame(shop.admin).to_dicts() if r["status"] == "draft"][0]
    report = shop.ws.analytics.report(shop.admin, draft["id"])
    assert report.figures["targeted"] == 0
    spec = strict_spec(build(report))
    assert spec["title"]["text"]

