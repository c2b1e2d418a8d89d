"""Exports for people outside Herald: tables as CSV, charts as PNG, a campaign report as one HTML file.

Why vl-convert: it renders Vega-Lite in-process (its own JavaScript engine, Vega and fonts), so
charts become PNGs without a browser or a network; `allowed_base_urls=[]` refuses any fetch, and
Altair inlines the data, so an export never reaches outside. Why HTML for the report: one file a
stakeholder opens offline in any browser, charts embedded as base64 PNG, styles inline.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc

from core.labels import CHANNELS, count, label, moment, pct, points
from core.report_models import CampaignReport

Chart = alt.TopLevelMixin
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RATE_COLUMNS = ("share", "of_targeted", "of_previous")


def _vega_lite_version() -> str | None:
    """The Vega-Lite release Altair writes for (e.g. 'v6.4.1' -> '6.4'), if vl-convert bundles it."""
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vlc.get_vegalite_versions() else None


VL_VERSION = _vega_lite_version()


def chart_png(chart: Chart, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (scale 2: sharp on screens and in slides); works offline."""
    return bytes(vlc.vegalite_to_png(chart.to_dict(), vl_version=VL_VERSION, scale=scale, allowed_base_urls=[]))


def table_csv(frame: pl.DataFrame, excel: bool = True) -> bytes:
    """The frame as UTF-8 CSV; with a byte-order mark by default so Excel reads "São Paulo" and
    "18–24" right (other readers skip it). Lists become "a; b"; times print as 2026-11-23 09:00:00."""
    flat = frame.with_columns(
        pl.col(name).cast(pl.List(pl.String)).list.join("; ")
        for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)
    )
    text = flat.write_csv(datetime_format="%Y-%m-%d %H:%M:%S", include_bom=excel)
    return text.encode("utf-8")


def cell(column: str, value: Any) -> str:
    """One table cell as a reader wants it: rates as percentages, counts with separators."""
    if value is None:
        return "–"
    if isinstance(value, float) and (column.endswith("_rate") or column in _RATE_COLUMNS):
        return pct(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return count(value) if not column.endswith("_id") else str(value)
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, datetime):
        return moment(value)
    return label(str(value)) if column in ("reason", "bounce", "channel", "stage") and value else str(value)


def table_html(frame: pl.DataFrame) -> str:
    """An HTML table with escaped, formatted cells and worded headers."""
    head = "".join(f"<th>{html.escape(label(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(c, v))}</td>" for c, v in zip(frame.columns, row)) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _figure(title: str, chart: Chart, scale: float = 2.0) -> str:
    """The chart as an inline PNG, drawn at its natural size (rendered at `scale` for sharpness)."""
    png = chart_png(chart, scale=scale)
    width = int.from_bytes(png[16:20], "big") / scale  # from the PNG header (IHDR)
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img alt='{html.escape(title)}' width='{width:.0f}' src='data:image/png;base64,{data}'></figure>"


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;margin:2rem auto;
max-width:1100px;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d9dee5;padding-bottom:.3rem}
.meta{color:#52606d}.tiles{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.tile{border:1px solid #d9dee5;border-radius:8px;padding:.7rem 1rem;min-width:140px}
.tile .v{font-size:1.5rem;font-weight:600}.tile .r{color:#52606d;font-size:.9rem}
.flags li{color:#8a2a0c;margin:.3rem 0}table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d9dee5;padding:.3rem .6rem;text-align:left}th{background:#f3f5f8}
td{font-variant-numeric:tabular-nums}figure{margin:1rem 0}img{max-width:100%}
"""


def report_html(
    report: CampaignReport, charts: Mapping[str, Chart], tables: Mapping[str, pl.DataFrame] | None = None,
) -> bytes:
    """The report as one self-contained HTML file: header, flags, KPI tiles and table, every chart
    (PNG, base64) and every table (the report's funnel, reasons and run tables, plus `tables`)."""
    e = html.escape
    view = f"last 24 hours (since {moment(report.since)})" if report.last_24h else "all time"
    scope = report.scope
    channel = CHANNELS.get(report.channel, report.channel)
    tiles = "".join(
        f'<div class="tile"><div>{e(k.label)}</div><div class="v">{e(count(k.value))}</div>'
        f'<div class="r">{e(k.rate_label + " " + pct(k.rate)) if k.rate_label else "&nbsp;"}</div></div>'
        for k in report.kpis
    )
    kpi_rows = pl.DataFrame(
        {
            "Metric": [k.label for k in report.kpis],
            "Value": [count(k.value) for k in report.kpis],
            "Rate": [f"{k.rate_label}: {pct(k.rate)}" if k.rate_label else "–" for k in report.kpis],
            f"Median of {channel.lower()} campaigns": [pct(k.median) for k in report.kpis],
            "Difference": [points(k.difference) for k in report.kpis],
        }
    )
    flags = (
        "<ul class='flags'>" + "".join(f"<li>{e(f)}</li>" for f in report.flags) + "</ul>"
        if report.flags else "<p>No rate is unusual for this workspace.</p>"
    )
    figures = "".join(_figure(title, chart) for title, chart in charts.items())
    all_tables = {"Funnel": report.funnel, "Exclusion reasons": report.exclusions, "Bounces": report.bounces,
                  **report.run_tables(), **(tables or {})}
    sections = "".join(f"<h2>{e(title)}</h2>{table_html(frame)}" for title, frame in all_tables.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(report.name)} · campaign report</title>
<style>{_CSS}</style></head><body>
<h1>{e(report.name)}</h1>
<p class="meta">{e(channel)} campaign · {e(label(report.status))} · {e(scope)} · {e(view)} ·
generated {e(moment(report.generated_at))} by Herald ·
compared with {report.peers} other {e(channel.lower())} campaigns</p>
<div class="tiles">{tiles}</div>
<h2>What stands out</h2>{flags}
<h2>Key figures</h2>{table_html(kpi_rows)}
<h2>Charts</h2>{figures}
{sections}
</body></html>
"""
    return page.encode("utf-8")
