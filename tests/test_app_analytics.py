"""The analytics pages through AppTest: every KPI tile and every chart's data on the page equal an
independent DuckDB SQL computation over the seeded workspace's delivery events."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from core.store import Store

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _sql(db: Path, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return Store.shared(db).cursor().execute(query, params or []).fetchall()


def _user(db: Path, role: str) -> int:
    return int(_sql(db, "SELECT min(id) FROM users WHERE role = ?", [role])[0][0])


def _page(db: Path, page: str, role: str = "approver", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["signed_in_id"] = _user(db, role)
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> dict[str, list[dict[str, Any]]]:
    """Each chart on the page by its title -> its rows, decoded from what the browser receives."""
    found = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        title = spec["title"]["text"]
        [dataset] = element.proto.datasets
        found[title] = pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return found


def _counts(db: Path, campaign_id: int, where: str = "TRUE") -> dict[str, int]:
    """The report's figures, written from the event table's definition (README, statistics)."""
    row = _sql(db, f"""
        SELECT count(*) FILTER (event IN ('excluded', 'sent', 'error')),
               count(*) FILTER (event = 'excluded'), count(*) FILTER (event = 'sent'),
               count(*) FILTER (event = 'delivered'),
               count(DISTINCT (run_id, profile_id)) FILTER (event = 'opened'),
               count(DISTINCT (run_id, profile_id)) FILTER (event = 'clicked'),
               count(*) FILTER (event = 'unsubscribed')
        FROM delivery_events WHERE campaign_id = ? AND {where}""", [campaign_id])[0]
    names = ("targeted", "excluded", "sent", "delivered", "unique_opens", "unique_clicks", "unsubscribes")
    return dict(zip(names, (int(v) for v in row), strict=True))


@pytest.fixture
def busiest(app_db: Path) -> int:
    return int(_sql(app_db, "SELECT campaign_id FROM delivery_events GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1")[0][0])


def test_report_tiles_and_charts_equal_sql(app_db: Path, busiest: int) -> None:
    at = _page(app_db, "app_pages/report.py", id=str(busiest))
    assert at.selectbox(key="report_campaign").value == busiest
    expected = _counts(app_db, busiest)
    tiles = {m.label: int(str(m.value).replace(",", "")) for m in at.metric}
    assert tiles == {"Targeted": expected["targeted"], "Excluded": expected["excluded"], "Sent": expected["sent"],
                     "Delivered": expected["delivered"], "Unique opens": expected["unique_opens"],
                     "Unique clicks": expected["unique_clicks"], "Unsubscribes": expected["unsubscribes"]}
    charts = _charts(at)
    funnel = {r["stage"]: r["count"] for r in charts["Delivery funnel"]}
    assert funnel == {k: expected[k] for k in ("targeted", "sent", "delivered", "unique_opens", "unique_clicks")}

    daily = _sql(app_db, """
        SELECT date_trunc('day', occurred_at) AS d, count(*) FILTER (event = 'delivered'),
               count(DISTINCT (run_id, profile_id)) FILTER (event = 'opened'),
               count(DISTINCT (run_id, profile_id)) FILTER (event = 'clicked')
        FROM delivery_events WHERE campaign_id = ? GROUP BY d HAVING count(*) FILTER (event IN ('delivered', 'opened', 'clicked')) > 0""",
        [busiest])
    drawn: dict[tuple[datetime, str], int] = {(r["bucket"], r["metric"]): r["count"] for r in charts["Performance over time"]}
    for day, delivered, opens, clicks in daily:
        assert drawn[(day, "Delivered")] == delivered
        assert drawn[(day, "Unique opens")] == opens
        assert drawn[(day, "Unique clicks")] == clicks
    assert {k for k, v in drawn.items() if v} <= {(d, m) for d, *_ in daily for m in ("Delivered", "Unique opens", "Unique clicks")}

    reasons = dict(_sql(app_db, "SELECT reason, count(*) FROM delivery_events WHERE campaign_id = ? AND event = 'excluded' "
                                "GROUP BY ALL", [busiest]))
    assert {r["reason"]: r["excluded"] for r in charts["Exclusion reasons"]} == reasons
    bounced = {(b, r): n for b, r, n in _sql(app_db, "SELECT bounce::VARCHAR, reason, count(*) FROM delivery_events "
                                                      "WHERE campaign_id = ? AND event = 'bounced' GROUP BY ALL", [busiest])}
    assert {(r["bounce"], r["reason"]): r["bounced"] for r in charts["Bounces by reason"]} == bounced


def test_breakdown_chart_equals_sql(app_db: Path, busiest: int) -> None:
    at = _page(app_db, "app_pages/report.py", id=str(busiest))
    at.selectbox(key="report_attribute").set_value("loyalty_tier").run()
    [title] = [t for t in _charts(at) if t.endswith("by loyalty tier")]
    drawn = {r["value"]: (r["targeted"], r["delivered"], r["unique_click_rate"]) for r in _charts(at)[title]}
    rows = _sql(app_db, """
        SELECT coalesce(p.loyalty_tier::VARCHAR, 'Not known'), count(*) FILTER (e.event IN ('excluded', 'sent', 'error')),
               count(*) FILTER (e.event = 'delivered'),
               count(DISTINCT (e.run_id, e.profile_id)) FILTER (e.event = 'clicked')
        FROM delivery_events e LEFT JOIN profiles p USING (profile_id) WHERE e.campaign_id = ? GROUP BY ALL""", [busiest])
    assert set(drawn) == {r[0] for r in rows}
    for tier, targeted, delivered, clicks in rows:
        assert drawn[tier][:2] == (targeted, delivered)
        assert drawn[tier][2] == pytest.approx(clicks / delivered if delivered else None)


def test_last_24_hours_and_one_run(app_db: Path, busiest: int) -> None:
    at = _page(app_db, "app_pages/report.py", id=str(busiest))
    run = int(_sql(app_db, "SELECT max(run_id) FROM delivery_events WHERE campaign_id = ?", [busiest])[0][0])
    at.selectbox(key=f"report_run_{busiest}").set_value(run).run()
    tiles = {m.label: int(str(m.value).replace(",", "")) for m in at.metric}
    assert tiles["Targeted"] == _counts(app_db, busiest, f"run_id = {run}")["targeted"]
    at.segmented_control(key="report_window").set_value("24h").run()
    assert not at.exception
    assert any("last 24 hours" in c.value for c in at.caption)


def test_compare_table_equals_sql(app_db: Path) -> None:
    at = _page(app_db, "app_pages/compare.py")
    chosen = at.multiselect(key="compare_ids").value
    assert len(chosen) == 3
    table = at.dataframe[0].value
    for row, cid in zip(table.to_dict("records"), chosen, strict=True):
        expected = _counts(app_db, cid)
        assert {k: row[k] for k in expected} == expected
    rates = {(r["campaign"], r["rate"]): r["value"] for r in _charts(at)["Rates side by side"]}
    first = table.iloc[0]
    assert rates[(first["campaign"], "Delivery rate")] == pytest.approx(first["delivered"] / first["sent"])


def test_overview_equals_sql(app_db: Path) -> None:
    at = _page(app_db, "app_pages/overview.py", role="viewer")
    statuses = dict(_sql(app_db, "SELECT status::VARCHAR, count(*) FROM campaigns GROUP BY ALL"))
    drawn = {r["status"]: r["campaigns"] for r in _charts(at)["Campaigns by status"]}
    assert {k: v for k, v in drawn.items() if v} == statuses
    since = _sql(app_db, "SELECT current_date - 29")[0][0]
    sent = dict(_sql(app_db, "SELECT channel::VARCHAR, count(*) FROM delivery_events WHERE event = 'sent' "
                             "AND occurred_at >= ? GROUP BY ALL", [since]))
    tiles = {m.label.split(":")[0]: int(str(m.value).replace(",", "")) for m in at.metric}
    from core.labels import CHANNELS
    assert tiles == {CHANNELS[c]: n for c, n in sent.items()}


def test_a_manager_is_told_reports_are_not_theirs(app_db: Path) -> None:
    at = _page(app_db, "app_pages/report.py", role="manager")
    assert "may view reports" in at.warning[0].value
    assert not at.metric
