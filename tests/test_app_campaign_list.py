"""The campaign list page through Streamlit's AppTest, on a seeded workspace, checked against SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.enums import DEFAULT_LIST_STATUSES, CampaignType, Channel, Status
from core.store import Store

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _sql_counts(db: Path) -> dict[str, int]:
    """Independent of the page and of core.listing: a plain SQL count per status."""
    rows = Store.shared(db).cursor().execute(
        "SELECT status::VARCHAR, count(*) FROM campaigns GROUP BY ALL"
    ).fetchall()
    return {status: n for status, n in rows}


def _sql_names(db: Path, statuses: tuple[Status, ...] | None) -> set[str]:
    where = "" if statuses is None else "WHERE c.status::VARCHAR IN ({})".format(", ".join("?" for _ in statuses))
    rows = Store.shared(db).cursor().execute(
        "SELECT v.name FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
        f"AND v.version = coalesce(c.live_version, c.draft_version) {where}",
        [s.value for s in statuses] if statuses else [],
    ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def app(app_db: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_default_filter_shows_draft_scheduled_live(app: AppTest, app_db: Path) -> None:
    assert app.pills(key="status_filter").value == list(DEFAULT_LIST_STATUSES)
    table = app.dataframe[0].value
    assert set(table["Name"]) == _sql_names(app_db, DEFAULT_LIST_STATUSES)
    shown_statuses = {s.removesuffix(" · open draft") for s in table["Status"]}
    assert shown_statuses == {"Draft", "Scheduled", "Live"}
    counts = _sql_counts(app_db)
    expected = sum(counts.get(s.value, 0) for s in DEFAULT_LIST_STATUSES)
    assert len(table) == expected
    assert f"Showing **{expected}** of {sum(counts.values())} campaigns" in app.caption[0].value


def test_cleared_filter_shows_every_status(app: AppTest, app_db: Path) -> None:
    app.pills(key="status_filter").set_value([]).run()
    table = app.dataframe[0].value
    assert set(table["Name"]) == _sql_names(app_db, None)
    assert {s.removesuffix(" · open draft") for s in table["Status"]} == {s.label for s in Status if s.value in _sql_counts(app_db)}
    assert "every status" in app.caption[0].value


def test_status_counts_at_a_glance_match_sql(app: AppTest, app_db: Path) -> None:
    counts = _sql_counts(app_db)
    labels = [app.pills(key="status_filter").format_func(s) for s in Status]  # type: ignore[attr-defined]
    assert labels == [f"{s.label} · {counts.get(s.value, 0)}" for s in Status]


def test_open_draft_mark_next_to_status(app: AppTest, app_db: Path) -> None:
    marked = {
        r[0]
        for r in Store.shared(app_db).cursor().execute(
            "SELECT v.name FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
            "AND v.version = c.live_version WHERE c.status IN ('live', 'scheduled') AND c.draft_version IS NOT NULL"
        ).fetchall()
    }
    assert marked, "the demo workspace has campaigns with open draft versions"
    table = app.dataframe[0].value
    shown = set(table.loc[table["Status"].str.endswith("open draft"), "Name"])
    assert shown == marked


def test_search_type_channel_and_tag_filters(app: AppTest, app_db: Path) -> None:
    app.pills(key="status_filter").set_value([]).run()
    app.text_input(key="search").input("SALE").run()
    names = set(app.dataframe[0].value["Name"])
    assert names and all("sale" in n.lower() for n in names)
    assert names == {n for n in _sql_names(app_db, None) if "sale" in n.lower()}
    app.text_input(key="search").input("").run()
    app.multiselect(key="channels").set_value([Channel.SMS]).run()
    assert set(app.dataframe[0].value["Channel"]) == {"SMS"}
    app.multiselect(key="types").set_value([CampaignType.API_TRIGGERED]).run()
    assert set(app.dataframe[0].value["Type"]) == {"API-triggered"}
    app.multiselect(key="channels").set_value([]).run()
    app.multiselect(key="types").set_value([]).run()
    app.multiselect(key="tags").set_value(["vip"]).run()
    table = app.dataframe[0].value
    assert len(table) > 0 and all("vip" in list(tags) for tags in table["Tags"])


def test_no_match_explains_how_to_widen(app: AppTest) -> None:
    app.text_input(key="search").input("no campaign is called this").run()
    assert len(app.dataframe[0].value) == 0
    assert any("No campaign matches" in i.value for i in app.info)
