"""The Audiences page through AppTest on the seeded workspace, every number checked against SQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.store import Store

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")

# The demo audiences, written again by hand in SQL ({now} is when their sizes were computed).
DEMO_SQL = {
    "All subscribers": "email_opt_in",
    "Loyalty gold & platinum": "loyalty_tier IN ('gold', 'platinum')",
    "North America": "country IN ('US', 'CA')",
    "Europe — DACH & France": "country IN ('DE', 'FR')",
    "Lapsed buyers (180 days)": "last_purchase_at < ?::TIMESTAMP - INTERVAL 180 DAY",
    "New sign-ups (30 days)": "signup_at >= ?::TIMESTAMP - INTERVAL 30 DAY",
    "High value (LTV ≥ 1,000)": "lifetime_value >= 1000",
    "Young adults 18–24": "age BETWEEN 18 AND 24",
    "SMS opted-in": "sms_opt_in",
    "App users": "push_opt_in",
}


US, NA = "country = 'US'", "country IN ('US', 'CA')"


def _count(db: Path, where: str, now: datetime | None = None) -> int:
    params = [now] if "?" in where else []
    return int(Store.shared(db).cursor().execute(f"SELECT count(*) FROM profiles WHERE {where}", params).fetchall()[0][0])


@pytest.fixture
def page(app_db: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/audiences.py").run()
    assert not at.exception, at.exception
    return at


def test_sizes_and_email_reach_equal_sql(page: AppTest, app_db: Path) -> None:
    table = page.dataframe[0].value
    assert set(table["Audience"]) == set(DEMO_SQL)
    for _, row in table.iterrows():
        now = row["Computed (UTC)"].to_pydatetime()
        where = DEMO_SQL[row["Audience"]]
        assert row["Size"] == _count(app_db, where, now), row["Audience"]
        email = f"({where}) AND NOT suppressed AND email IS NOT NULL AND email_opt_in"
        assert row["Reach · Email"] == _count(app_db, email, now), row["Audience"]


def test_builder_estimates_live_and_matches_sql(page: AppTest, app_db: Path) -> None:
    metric = {m.label: m.value for m in page.metric}
    assert metric["Estimated size"] == f"{_count(app_db, US):,}"
    values = next(m for m in page.multiselect if m.label == "Values")
    values.set_value(["US", "CA"]).run()
    metric = {m.label: m.value for m in page.metric}
    assert metric["Estimated size"] == f"{_count(app_db, NA):,}"
    reach = f"{NA} AND NOT suppressed AND phone IS NOT NULL AND sms_opt_in"
    assert metric["Reachable by SMS"] == f"{_count(app_db, reach):,}"


def test_builder_explains_an_unfinished_condition(page: AppTest) -> None:
    values = next(m for m in page.multiselect if m.label == "Values")
    values.set_value([]).run()
    assert any("condition 1 › value" in w.value and "at least one value" in w.value for w in page.warning)
    assert not [m for m in page.metric if m.label == "Estimated size"]


def test_overlap_tab_lists_shared_profiles(page: AppTest, app_db: Path) -> None:
    frames = [d.value for d in page.dataframe if "Shared profiles" in d.value.columns]
    assert frames, "the overlap table is on the page"
    overlap = frames[0]
    na_eu = overlap[(overlap["Audience"] == "North America") & (overlap["Other"] == "Europe — DACH & France")]
    assert int(na_eu["Shared profiles"].iloc[0]) == 0
    row = overlap[(overlap["Audience"] == "All subscribers") & (overlap["Other"] == "North America")]
    assert int(row["Shared profiles"].iloc[0]) == _count(app_db, "email_opt_in AND country IN ('US', 'CA')")
