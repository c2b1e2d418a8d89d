"""The dashboard's API bits through AppTest, on a private copy of the seeded workspace: an
Administrator creates a key (shown once), sees it listed without its secret and revokes it; other
roles are refused by core; an API-triggered campaign's panel shows a ready-to-copy curl call."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from api.app import create_app
from api_support import ApiWorld, api_world  # noqa: F401 (fixture)
from core.api_keys import KEY_RE
from core.enums import Role
from core.store import Store
from ui.campaign_view import trigger_curl

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def keys_db(private_db: Path) -> Path:
    return private_db


def _sql(db: Path, query: str) -> list[tuple[Any, ...]]:
    return Store.shared(db).cursor().execute(query).fetchall()


def _as(db: Path, role: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["signed_in_id"] = _sql(db, f"SELECT min(id) FROM users WHERE role = '{role}'")[0][0]
    at.run()
    return at


def _admin_page(db: Path, role: str) -> AppTest:
    at = _as(db, role)
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def test_an_administrator_creates_sees_once_and_revokes_a_key(keys_db: Path) -> None:
    at = _admin_page(keys_db, "administrator")
    at.text_input(key="api_key_name").input("Order service")
    at.selectbox(key="api_key_role").set_value(at.selectbox(key="api_key_role").options[1])  # Manager
    _click(at, "Create key")
    shown = [c.value for c in at.code if KEY_RE.match(c.value or "")]
    assert len(shown) == 1, [c.value for c in at.code]
    plain = shown[0]
    assert any("shown" in s.value or "will not show" in s.value for s in at.success)
    [(key_id, name, role, key_hash)] = _sql(keys_db, "SELECT id, name, role::VARCHAR, key_hash FROM api_keys")
    assert (name, role) == ("Order service", "manager") and key_hash == hashlib.sha256(plain.encode()).hexdigest()
    table = at.dataframe[-1].value
    assert list(table["Name"]) == ["Order service"] and plain not in table.to_string()
    at.run()  # shown once: the next rerun no longer has it
    assert not [c.value for c in at.code if KEY_RE.match(c.value or "")]
    at.selectbox(key="api_key_pick").set_value(key_id).run()
    _click(at, "Revoke key")
    assert _sql(keys_db, f"SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = {key_id}") == [(True,)]
    assert "revoked" in at.dataframe[-1].value["Status"].iloc[0]


def test_bad_input_creates_nothing(keys_db: Path) -> None:
    at = _admin_page(keys_db, "administrator")
    _click(at, "Create key")  # no name
    assert any("Name" in e.value for e in at.error)
    assert _sql(keys_db, "SELECT count(*) FROM api_keys") == [(0,)]


@pytest.mark.parametrize("role", ["viewer", "manager", "approver"])
def test_other_roles_are_refused_by_core(keys_db: Path, role: str) -> None:
    at = _admin_page(keys_db, role)
    assert any("Only Administrator may manage API keys" in i.value for i in at.info)
    assert not [b for b in at.button if b.label in ("Create key", "Revoke key")]


def test_an_api_triggered_campaign_shows_a_curl_call(keys_db: Path) -> None:
    [(cid,)] = _sql(keys_db, "SELECT c.id FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
                             "AND v.version = c.live_version WHERE v.name = 'Password reset'")
    at = _as(keys_db, "manager")
    at.query_params["id"] = str(cid)
    at.switch_page("app_pages/campaign.py").run()
    assert not at.exception, at.exception
    [curl] = [c for c in at.code if (c.value or "").startswith("curl ")]
    assert curl.language == "bash"
    assert f"/api/v1/campaigns/{cid}/trigger" in curl.value and "Authorization: Bearer $HERALD_API_KEY" in curl.value
    assert '"address": "someone@example.com"' in curl.value and "Idempotency-Key" in curl.value
    [(other,)] = _sql(keys_db, "SELECT c.id FROM campaigns c JOIN campaign_versions v ON v.campaign_id = c.id "
                               "AND v.version = c.live_version WHERE v.name = 'Weekly deals digest'")
    at.query_params["id"] = str(other)
    at.switch_page("app_pages/campaign.py").run()
    assert not [c for c in at.code if (c.value or "").startswith("curl ")]  # scheduled: no trigger


def _shell_words(command: str) -> list[str]:
    """The arguments bash gives curl for `command` (quotes, line continuations, `$(date ...)` expanded)."""
    assert command.startswith("curl ")
    done = subprocess.run(["bash", "-c", "printf '%s\\0' " + command.removeprefix("curl ")],
                          capture_output=True, text=True, timeout=10, check=True)
    return done.stdout.split("\0")[:-1]


def test_the_curl_example_is_a_valid_call_once_the_shell_reads_it(api_world: ApiWorld) -> None:
    """With context keys (one a line) and without: the copied command, given a key, is accepted."""
    plain_content = {"subject": "Hi {{profile.first_name|there}}", "body": "Nothing from the caller."}
    with TestClient(create_app(api_world.ws)) as client:
        for campaign, keys in ((api_world.campaign, ["code", "order_id"]),
                               (api_world.api_campaign(content=plain_content), [])):
            command = trigger_curl(campaign, "http://testserver")
            assert all(len(line) <= 80 for line in command.splitlines()), command
            words = _shell_words(command.replace("$HERALD_API_KEY", api_world.keys[Role.MANAGER][1]))
            method, url, data = words[words.index("-X") + 1], words[2], words[words.index("-d") + 1]
            headers = dict(w.split(": ", 1) for i, w in enumerate(words) if i and words[i - 1] == "-H")
            assert json.loads(data) == {"recipients": [{"address": "someone@example.com"}],
                                        "context": {k: f"<{k}>" for k in keys}}
            assert headers["Idempotency-Key"].startswith(f"{campaign.id}-") and headers["Idempotency-Key"][-1].isdigit()
            answer = client.request(method, url, headers=headers, content=data.encode())
            assert answer.status_code == 200, answer.text
            [result] = answer.json()["results"]
            assert result["status"] == "rejected" and result["reason"] == "unknown_address"  # a placeholder
            assert answer.json()["missing_context"] == []
