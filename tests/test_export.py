"""Exports (core/export.py): PNG charts rendered offline by vl-convert, CSV tables that read back to
the same figures, and the one-file HTML campaign report a stakeholder opens without Herald."""

from __future__ import annotations

import base64
import dataclasses
import re
import struct
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import altair as alt
import polars as pl
import pytest

from core import charts, export
from core.analytics import CampaignReport
from core.labels import count, pct, points
from analytics_data import Shop, open_copy


@pytest.fixture(scope="module")
def shop(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    s = open_copy(seeded_db, tmp_path_factory.mktemp("export"))
    yield s
    s.store.close()


@pytest.fixture(scope="module")
def report(shop: Shop) -> CampaignReport:
    rows = shop.campaigns_with_events()
    email = max((r for r in rows if r["channel"] == "email"), key=lambda r: r["events"])
    return shop.ws.analytics.report(shop.admin, email["campaign_id"])


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk that follows the signature."""
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_png_is_a_png_of_the_chart(report: CampaignReport) -> None:
    chart = charts.funnel(report.funnel)
    png = export.chart_png(chart)
    assert png.startswith(export.PNG_SIGNATURE) and png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = png_size(png)
    assert width > 2 * charts.WIDTH and height > 2 * charts.HEIGHT  # scale 2 by default, plus title and axes
    small = export.chart_png(chart, scale=1.0)
    assert png_size(small)[0] * 2 == pytest.approx(width, abs=2)
    timeline = export.chart_png(charts.timeline(report.timeline, report.every))
    assert timeline.startswith(export.PNG_SIGNATURE) and timeline != png


def test_chart_png_never_fetches_anything() -> None:
    """Data must be inline: a chart pointing at a URL is refused instead of reaching the network."""
    chart = alt.Chart(alt.UrlData("https://example.invalid/data.csv")).mark_bar().encode(x="a:Q")
    with pytest.raises(ValueError, match="not allowed"):
        export.chart_png(chart)


def test_vega_lite_version_matches_altair() -> None:
    assert export.VL_VERSION is not None and alt.SCHEMA_VERSION.startswith(f"v{export.VL_VERSION}.")


def test_table_csv_reads_back_to_the_same_frame(report: CampaignReport) -> None:
    for frame in (report.funnel, report.exclusions, report.bounces, report.runs, report.timeline):
        data = export.table_csv(frame)
        assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
        back = pl.read_csv(data[3:], try_parse_dates=True)
        assert back.columns == frame.columns
        assert back.height == frame.height
        for name in frame.columns:
            got, want = back.get_column(name).to_list(), frame.get_column(name).to_list()
            if frame.schema[name] in (pl.Float64, pl.Float32):
                assert got == pytest.approx(want, rel=1e-12, nan_ok=False) if None not in want else got == want
            elif frame.schema[name] == pl.Datetime("us"):
                assert got == want
            else:
                assert [str(v) if v is not None else None for v in got] == [
                    str(v) if v is not None else None for v in want]


def test_table_csv_flattens_lists_and_formats_times() -> None:
    frame = pl.DataFrame({"campaign": ["Spring, sale", "Été «2026»"], "tags": [["a", "b"], []],
                          "at": [datetime(2026, 11, 23, 9, 5), None]})
    text = export.table_csv(frame, excel=False).decode("utf-8")
    # an empty list is an empty (quoted) text, a missing time an empty field
    assert text.splitlines() == ["campaign,tags,at", '"Spring, sale",a; b,2026-11-23 09:05:00', 'Été «2026»,"",']


def test_report_html_is_one_self_contained_file_with_the_kpis(shop: Shop, report: CampaignReport) -> None:
    breakdown = shop.ws.analytics.breakdown(shop.admin, report.campaign_id, attribute="loyalty_tier")
    charts_ = {"Delivery funnel": charts.funnel(report.funnel),
               "Performance over time": charts.timeline(report.timeline, report.every),
               "By loyalty tier": charts.breakdown(breakdown, "loyalty_tier")}
    page = export.report_html(report, charts_, {"By loyalty tier": breakdown}).decode("utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert f"<h1>{report.name}</h1>" in page
    for kpi in report.kpis:
        assert f'<div class="v">{count(kpi.value)}</div>' in page, kpi
        if kpi.rate_name:
            assert f"{kpi.rate_label}: {pct(kpi.rate)}" in page
            assert f"<td>{pct(kpi.median)}</td><td>{points(kpi.difference)}</td>" in page
    assert f"{report.figures['delivered']:,}" in page and pct(report.figures["unique_open_rate"]) in page
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == len(charts_)
    assert all(base64.b64decode(i).startswith(export.PNG_SIGNATURE) for i in images)
    for title in ("Funnel", "Exclusion reasons", "Bounces", "Runs", "By loyalty tier", "What stands out"):
        assert f"<h2>{title}</h2>" in page
    for row in breakdown.iter_rows(named=True):
        assert f"<td>{row['loyalty_tier']}</td><td>{row['targeted']:,}</td>" in page
    # Offline: nothing is loaded from anywhere (no links, scripts or external stylesheets).
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<script" not in page.lower()
    assert "<style>" in page


def test_report_html_escapes_names_and_shows_flags(report: CampaignReport) -> None:
    odd = dataclasses.replace(report, name="<b>Sale</b> & more", flags=("Bounce rate 9.0% is above <everything>.",))
    page = export.report_html(odd, {}).decode("utf-8")
    assert "<b>Sale</b>" not in page and "&lt;b&gt;Sale&lt;/b&gt; &amp; more" in page
    assert "<li>Bounce rate 9.0% is above &lt;everything&gt;.</li>" in page
    calm = dataclasses.replace(report, flags=())
    assert "No rate is unusual for this workspace." in export.report_html(calm, {}).decode("utf-8")


@pytest.mark.parametrize(("column", "value", "text"), [
    ("unique_open_rate", 0.23907, "23.9%"), ("share", 1.0, "100.0%"), ("delivered", 22888, "22,888"),
    ("run_id", 12345, "12345"), ("due_at", datetime(2026, 11, 23, 9, 0), "2026-11-23 09:00 UTC"),
    ("reason", "no_consent", "No consent"), ("channel", "in_app", "In-app"), ("delivery_rate", None, "–"),
])
def test_cells_read_as_a_person_expects(column: str, value: object, text: str) -> None:
    assert export.cell(column, value) == text
