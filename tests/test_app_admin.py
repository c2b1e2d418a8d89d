"""Administration through AppTest, on a private copy of the seeded workspace (it changes settings):
an Administrator adds a configuration, stores its password, adds a user, changes a role and the
settings; bad input and other roles change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.enums import Role
from core.store import Store

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def admin_db(private_db: Path) -> Path:
    return private_db


def _sql(db: Path, query: str) -> list[tuple[Any, ...]]:
    return Store.shared(db).cursor().execute(query).fetchall()


def _page(db: Path, role: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["signed_in_id"] = _sql(db, f"SELECT min(id) FROM users WHERE role = '{role}'")[0][0]
    at.run()
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception, at.exception
    return at


def _submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def test_an_administrator_adds_a_configuration_and_its_password(admin_db: Path) -> None:
    at = _page(admin_db, "administrator")
    before = _sql(admin_db, "SELECT count(*) FROM channel_configs")[0][0]
    at.text_input(key="cfg_name").input("Email · Relay")
    at.text_input(key="cfg_address").input("not-an-address")
    at.selectbox(key="cfg_provider").set_value("smtp")
    at.text_input(key="cfg_host").input("smtp.herald.example")
    _submit(at, "Add configuration")
    assert any("'not-an-address' is not an email address" in e.value for e in at.error)
    assert _sql(admin_db, "SELECT count(*) FROM channel_configs")[0][0] == before  # nothing written
    at.text_input(key="cfg_address").input("news@herald.example")
    _submit(at, "Add configuration")
    [(cid, provider, settings)] = _sql(admin_db, "SELECT id, provider::VARCHAR, settings FROM channel_configs "
                                                 "WHERE name = 'Email · Relay'")
    assert provider == "smtp" and "smtp.herald.example" in str(settings)
    at.selectbox(key="cfg_pick").set_value(cid).run()
    at.text_input(key="cfg_secret").input("s3cret-password-1234").run()
    _submit(at, "Store password")
    assert _sql(admin_db, f"SELECT value FROM secrets WHERE owner = 'channel_config:{cid}'") == [("s3cret-password-1234",)]
    table = at.dataframe[0].value
    assert table.loc[table["Id"] == cid, "Secret"].item() == "••••••1234"  # masked, never the value


def test_users_roles_and_settings(admin_db: Path) -> None:
    at = _page(admin_db, "administrator")
    at.text_input(key="user_name").input("Olga Analyst")
    at.text_input(key="user_email").input("olga@herald.example")
    at.selectbox(key="user_role").set_value(Role.VIEWER)
    _submit(at, "Add user")
    [(uid, role)] = _sql(admin_db, "SELECT id, role::VARCHAR FROM users WHERE email = 'olga@herald.example'")
    assert role == "viewer"
    at.selectbox(key="role_user").set_value(uid).run()
    at.selectbox(key=f"role_new_{uid}").set_value(Role.APPROVER).run()
    _submit(at, "Save role")
    assert _sql(admin_db, f"SELECT role::VARCHAR FROM users WHERE id = {uid}") == [("approver",)]
    _submit(at, "Stop requiring approval")
    assert _sql(admin_db, "SELECT value FROM settings WHERE key = 'approval_required'") == [("false",)]
    at.number_input(key="cap_messages_email").set_value(3).run()
    _submit(at, "Save cap")
    caps = json.loads(_sql(admin_db, "SELECT value FROM settings WHERE key = 'frequency_caps'")[0][0])
    assert caps["email"]["messages"] == 3


def test_a_manager_can_look_but_core_refuses_changes(admin_db: Path) -> None:
    at = _page(admin_db, "manager")
    assert "Only Administrators change these settings" in at.info[0].value
    before = _sql(admin_db, "SELECT count(*) FROM users")[0][0]
    at.text_input(key="user_name").input("Sneaky")
    at.text_input(key="user_email").input("sneaky@herald.example")
    _submit(at, "Add user")
    assert any("Administrator" in e.value for e in at.error)
    _submit(at, "Stop requiring approval")
    assert _sql(admin_db, "SELECT count(*) FROM users")[0][0] == before
    assert _sql(admin_db, "SELECT value FROM settings WHERE key = 'approval_required'") in ([("true",)], [])
