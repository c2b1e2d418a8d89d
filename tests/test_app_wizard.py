"""The creation wizard through AppTest: every step, going back without losing anything, each
validation message, and a campaign that really lands In review."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.store import Store

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def wizard(app_db: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/wizard.py").run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def _step(at: AppTest) -> int:
    return int(at.session_state["wizard"]["step"])


def _errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def test_each_step_validates_and_going_back_keeps_what_was_typed(wizard: AppTest) -> None:
    at = wizard
    _click(at, "Next")  # Type -> Properties
    assert _step(at) == 1
    _click(at, "Next")
    assert _step(at) == 1 and "Name: give the campaign a name" in _errors(at)
    at.text_input(key="w_name").input("Wizard spring teaser").run()
    at.text_input(key="w_tags").input("Spring, Launch").run()
    _click(at, "Next")  # -> Channel
    _click(at, "Back")
    _click(at, "Back")  # back to Type, then forward again
    _click(at, "Next")
    assert at.text_input(key="w_name").value == "Wizard spring teaser"
    assert at.text_input(key="w_tags").value == "spring, launch"
    _click(at, "Next")  # -> Channel
    _click(at, "Next")  # -> Audience
    assert _step(at) == 3
    assert any(m.label == "Audience size (now)" for m in at.metric)
    _click(at, "Next")  # -> Content
    _click(at, "Next")
    assert "Subject: an email needs a subject" in _errors(at)
    assert "Body: write the message" in _errors(at)
    at.text_input(key="w_subject").input("Hi {{profile.shoe_size}}").run()
    at.text_area(key="w_body").input("Hello {{profile.first_name|there}}").run()
    _click(at, "Next")
    assert "unknown profile attribute 'shoe_size'" in _errors(at)
    at.text_input(key="w_subject").input("Spring is here, {{profile.first_name|friend}}").run()
    previews = [t.value for t in at.text]
    assert len(previews) == 3 and all(p.startswith("Hello ") for p in previews)
    _click(at, "Next")  # -> Schedule
    assert _step(at) == 5
    _click(at, "Back")
    assert at.text_area(key="w_body").value == "Hello {{profile.first_name|there}}"


def _to_content(at: AppTest, name: str, subject: str, body: str) -> None:
    """From the type step to the content step (the default channel and audience), the content filled in."""
    _click(at, "Next")
    at.text_input(key="w_name").input(name).run()
    for _ in range(3):
        _click(at, "Next")
    at.text_input(key="w_subject").input(subject).run()
    at.text_area(key="w_body").input(body).run()


def test_a_campaign_made_in_the_wizard_lands_in_review(wizard: AppTest, app_db: Path) -> None:
    at = wizard
    _to_content(at, "Wizard winter digest", "Winter news", "Hello {{profile.first_name|there}} in {{profile.city}}")
    _click(at, "Next")  # -> Schedule
    at.segmented_control(key="w_mode").set_value("recurring").run()
    assert "Next sends (UTC)" in " ".join(m.value for m in at.markdown)
    _click(at, "Next")  # -> Review
    assert [s.value for s in at.success] == ["Ready: nothing blocks this campaign."]
    _click(at, "Request approval")
    row = Store.shared(app_db).cursor().execute(
        "SELECT c.status::VARCHAR, v.tags, json_extract_string(v.schedule, '$.recurrence') FROM campaigns c "
        "JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.draft_version "
        "WHERE v.name = 'Wizard winter digest'"
    ).fetchall()
    assert row == [("in_review", [], "weekly")]
    assert [t.value for t in at.title] == ["Campaigns"]


def test_save_draft_keeps_a_half_finished_campaign(wizard: AppTest, app_db: Path) -> None:
    at = wizard
    _click(at, "Next")
    at.text_input(key="w_name").input("Wizard half done").run()
    _click(at, "Save draft")
    saved = at.session_state["wizard"]["id"]
    status = Store.shared(app_db).cursor().execute(
        "SELECT status::VARCHAR FROM campaigns WHERE id = ?", [saved]).fetchall()
    assert status == [("draft",)]
    at.text_input(key="w_name").input("Wizard half done, renamed").run()
    _click(at, "Save draft")
    names = Store.shared(app_db).cursor().execute(
        "SELECT name FROM campaign_versions WHERE campaign_id = ?", [saved]).fetchall()
    assert names == [("Wizard half done, renamed",)]


def test_a_viewer_is_told_why_they_cannot_create(app_db: Path) -> None:
    viewer = Store.shared(app_db).cursor().execute("SELECT id FROM users WHERE role = 'viewer'").fetchall()[0][0]
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["signed_in_id"] = viewer  # what picking Vera in the sidebar stores
    at.run()
    at.switch_page("app_pages/wizard.py").run()
    assert any("Your role (Viewer) cannot create campaigns" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == "Next"]


def test_a_passed_start_is_listed_on_review_with_a_link_to_its_step(wizard: AppTest) -> None:
    at = wizard
    _to_content(at, "Wizard too late", "Late", "Hello")
    _click(at, "Next")  # -> Schedule
    at.segmented_control(key="w_mode").set_value("later").run()
    at.date_input(key="w_day").set_value(date(2020, 1, 1)).run()
    _click(at, "Next")  # -> Review
    assert "Before this campaign can go for approval or live:" in _errors(at)
    assert any("has passed" in m.value for m in at.markdown)
    _click(at, "Fix in Schedule")
    assert _step(at) == 5 and at.date_input(key="w_day").value == date(2020, 1, 1)


def test_test_send_reports_each_address(wizard: AppTest) -> None:
    at = wizard
    _to_content(at, "Wizard test send", "Hello {{profile.first_name|there}}", "Body")
    at.text_input(key="w_test_to").input("me@herald.example, nope").run()
    _click(at, "Send test")
    assert "'nope' is not an email address" in _errors(at)
    at.text_input(key="w_test_to").input("me@herald.example, you@herald.example").run()
    _click(at, "Send test")
    assert [s.value for s in at.success] == [
        "me@herald.example: accepted by the sandbox provider (nothing leaves Herald)",
        "you@herald.example: accepted by the sandbox provider (nothing leaves Herald)",
    ]


def test_api_triggered_skips_the_audience_and_recurring_schedules(wizard: AppTest) -> None:
    at = wizard
    at.radio(key="w_type").set_value("api_triggered").run()
    _click(at, "Next")
    at.text_input(key="w_name").input("Wizard order shipped").run()
    _click(at, "Next")
    _click(at, "Next")  # -> Audience
    assert any("no audience to choose" in i.value for i in at.info)
    _click(at, "Next")  # -> Content: context tokens are allowed here
    at.text_input(key="w_subject").input("Order {{context.order_id}}").run()
    at.text_area(key="w_body").input("Shipped, {{profile.first_name|there}}").run()
    _click(at, "Next")
    assert _step(at) == 5
    assert at.segmented_control(key="w_mode").options == ["On activation", "At a date and time"]


def test_a_draft_opened_from_its_page_resumes_prefilled(app_db: Path) -> None:
    cur = Store.shared(app_db).cursor()
    draft_id, name = cur.execute(
        "SELECT c.id, v.name FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
        "AND v.version = c.draft_version WHERE c.status = 'draft' ORDER BY c.id LIMIT 1").fetchall()[0]
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.query_params["id"] = str(draft_id)
    at.switch_page("app_pages/campaign.py").run()
    assert [h.value for h in at.subheader][0] == name
    _click(at, "Edit")
    assert [t.value for t in at.title] == [f"Edit draft #{draft_id}"]
    assert _step(at) == 1 and at.text_input(key="w_name").value == name


def test_a_step_that_changed_nothing_writes_no_history(wizard: AppTest, app_db: Path) -> None:
    at = wizard
    _click(at, "Next")
    at.text_input(key="w_name").input("Wizard quiet steps").run()
    for _ in range(3):
        _click(at, "Next")  # Properties, Channel and Audience each save once, then nothing changes
    _click(at, "Back")
    _click(at, "Next")
    saved = at.session_state["wizard"]["id"]
    actions = Store.shared(app_db).cursor().execute(
        "SELECT action FROM audit_log WHERE campaign_id = ? ORDER BY id", [saved]).fetchall()
    assert [a for (a,) in actions] == ["create", "edit", "edit"]
