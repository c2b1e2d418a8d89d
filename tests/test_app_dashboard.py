"""Sign-in (OIDC and demo mode), the calendar and a campaign's own page, through AppTest."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.schedule_calendar import month_weeks, span
from core.store import Store
from core.workspace import Workspace

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "acme": {"client_id": "herald", "client_secret": "s", "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}}


def _app(**user: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update(AUTH)
    at.user = dict(user)
    return at


def test_demo_mode_is_labelled_when_no_provider_is_configured(app_db: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert any("Demo mode" in c.value for c in at.sidebar.caption)
    assert at.sidebar.selectbox(key="user_picker").value is not None


def test_with_a_provider_a_visitor_must_sign_in(app_db: Path) -> None:
    at = _app(is_logged_in=False)
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in with Acme"]
    assert [t.value for t in at.title] == ["Herald"]  # no campaign page renders before sign-in
    assert not at.sidebar.selectbox


def test_the_signed_in_email_maps_to_a_user_and_role(app_db: Path) -> None:
    at = _app(is_logged_in=True, email="Ari.Approver@herald.example", email_verified=True)
    at.run()
    assert not at.exception
    assert any("Ari Approver" in c.value and "Approver" in c.value for c in at.sidebar.caption)
    assert at.session_state["user"].name == "Ari Approver"
    assert [t.value for t in at.title] == ["Campaigns"]
    assert not any("Demo mode" in c.value for c in at.sidebar.caption)


def test_an_unknown_or_unverified_email_is_refused_with_a_reason(app_db: Path) -> None:
    at = _app(is_logged_in=True, email="stranger@elsewhere.example")
    at.run()
    assert [e.value for e in at.error] == ["stranger@elsewhere.example is not a Herald user. Ask an Administrator to add you."]
    assert at.session_state["user"] is None and [b.label for b in at.button] == ["Sign out"]
    at = _app(is_logged_in=True, email="mia.manager@herald.example", email_verified=False)
    at.run()
    assert "has not verified mia.manager@herald.example" in at.error[0].value


def test_calendar_lists_every_send_core_computes(app_db: Path) -> None:
    ws = Workspace(Store.shared(app_db))
    viewer = next(u for u in ws.users() if u.role and u.role.value == "viewer")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["signed_in_id"] = viewer.id
    at.run()
    at.switch_page("app_pages/calendar.py").run()
    assert not at.exception
    start, end = span([d for w in month_weeks(ws.clock().date()) for d in w])
    expected = Store.shared(app_db).cursor().execute(
        "SELECT count(*) FROM campaigns WHERE status IN ('scheduled', 'live')").fetchall()[0][0]
    sends = ws.campaigns.calendar(viewer, start, end)
    assert expected > 0 and sends.height > 0
    caption = next(c.value for c in at.caption if " sends of " in c.value)
    assert caption.startswith(f"{sends.height} sends of {sends['campaign_id'].n_unique()} campaigns")
    at.segmented_control(key="calendar_view").set_value("week").run()
    at.button(key="cal_next").click().run()
    week = next(c.value for c in at.caption if " sends of " in c.value)
    assert week != caption and not at.exception


def test_a_campaign_page_shows_history_and_refuses_a_bad_id(app_db: Path) -> None:
    cur = Store.shared(app_db).cursor()
    cid, name = cur.execute(
        "SELECT c.id, v.name FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
        "AND v.version = c.live_version WHERE c.status = 'live' ORDER BY c.id LIMIT 1").fetchall()[0]
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.query_params["id"] = str(cid)
    at.switch_page("app_pages/campaign.py").run()
    assert [h.value for h in at.subheader][0] == name
    assert [t.label for t in at.tabs] == ["History", "Versions", "Runs", "Set-up"]
    at.query_params["id"] = "abc"
    at.run()
    assert "“abc” is not a campaign number" in at.error[0].value
    at.query_params["id"] = "999999"
    at.run()
    assert "999999" in at.error[0].value
