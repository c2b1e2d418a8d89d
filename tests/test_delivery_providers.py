"""Runs through real providers end to end: the rendered messages arrive at a local SMTP server and
a local webhook gateway, and their outcomes come back as the run's events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from core.enums import Role
from core.profiles import generate_profiles
from core.secrets import PASSWORD, TOKEN, Secrets, channel_config_owner
from core.store import Store
from core.workspace import Workspace
from test_providers import HOST, Mailbox, authenticator, gateway, smtp_server  # noqa: F401 (gateway is a fixture)

NOW = datetime(2026, 11, 23, 9, 0)


def _workspace() -> tuple[Workspace, Any]:
    ws = Workspace(Store(":memory:"), clock=lambda: NOW)
    admin = ws.add_user(None, "Ada", "ada@herald.example", Role.ADMINISTRATOR)
    ws.set_approval_required(admin, False)
    ws.replace_profiles(admin, generate_profiles(40, seed=5, now=NOW))
    return ws, admin


def _run(ws: Workspace, admin: Any, config_id: int, channel: str, content: dict[str, str]) -> int:
    audience = ws.audiences.create_from_rule(
        admin, f"First 40 {channel}", "", {"match": "all", "rules": [{"attribute": "profile_id", "operator": "lte", "value": 40}]}
    )
    c = ws.campaigns.create(admin, {"name": f"Real {channel}", "channel": channel, "channel_config_id": config_id,
                                    "audience_id": audience.id, "content": content, "schedule": {"timezone": "UTC"}})
    c = ws.campaigns.activate(admin, c.id, c.revision)
    [run_id] = ws.delivery.create_due_runs()
    return run_id


def _expected(ws: Workspace, address: str, consent: str) -> list[tuple[int, str, str]]:
    return ws.store.cursor().execute(
        f"SELECT profile_id, {address}, coalesce(first_name, 'there') FROM profiles WHERE profile_id <= 40 "
        f"AND NOT suppressed AND {address} IS NOT NULL AND {consent} ORDER BY profile_id"
    ).fetchall()


def test_an_email_run_through_smtp_with_login() -> None:
    ws, admin = _workspace()
    mailbox = Mailbox()
    with smtp_server(mailbox, authenticator=authenticator("herald", "s3cret-pass"), auth_require_tls=False) as port:
        config = ws.add_channel_config(admin, {
            "name": "Relay", "channel": "email", "provider": "smtp", "sender_name": "Herald",
            "sender_address": "news@herald.example", "throttle_per_second": 1000,
            "settings": {"host": HOST, "port": port, "security": "none", "username": "herald"},
        })
        Secrets(ws.store).put(admin, channel_config_owner(config.id or 0), PASSWORD, "s3cret-pass")
        run_id = _run(ws, admin, config.id or 0, "email",
                      {"subject": "Hello {{profile.first_name|there}}", "body": "Hi {{profile.first_name|there}}!"})
        progress = ws.delivery.execute(run_id)
    expected = _expected(ws, "email", "email_opt_in")
    assert progress.status == "finished" and expected
    assert sorted(mailbox.recipients()) == sorted(e[1] for e in expected)
    assert sorted(mailbox.subjects()) == sorted(f"Hello {e[2]}" for e in expected)
    sent = ws.store.cursor().execute(
        "SELECT count(*) FROM delivery_events WHERE run_id = ? AND event = 'sent'", [run_id]).fetchall()[0][0]
    assert sent == len(expected)
    assert "s3cret-pass" not in str(ws.channel_configs())  # the password lives apart


def test_wrong_smtp_password_becomes_error_events() -> None:
    ws, admin = _workspace()
    with smtp_server(Mailbox(), authenticator=authenticator("herald", "right"), auth_require_tls=False) as port:
        config = ws.add_channel_config(admin, {
            "name": "Relay", "channel": "email", "provider": "smtp", "sender_address": "news@herald.example",
            "throttle_per_second": 1000, "settings": {"host": HOST, "port": port, "security": "none", "username": "herald"},
        })
        Secrets(ws.store).put(admin, channel_config_owner(config.id or 0), PASSWORD, "wrong-password")
        run_id = _run(ws, admin, config.id or 0, "email", {"subject": "Hi", "body": "Hello"})
        ws.delivery.execute(run_id)
    reasons = ws.store.cursor().execute(
        "SELECT DISTINCT event::VARCHAR, reason FROM delivery_events WHERE run_id = ? AND event <> 'excluded'", [run_id]
    ).fetchall()
    assert len(reasons) == 1 and reasons[0][0] == "error" and "authentication failed" in reasons[0][1].lower()


def test_an_sms_run_through_the_webhook_gateway(gateway: Any) -> None:  # noqa: F811
    ws, admin = _workspace()
    config = ws.add_channel_config(admin, {
        "name": "SMS gateway", "channel": "sms", "provider": "webhook", "sender_address": "HERALD",
        "throttle_per_second": 1000, "settings": {"url": gateway.url, "timeout": 2},
    })
    Secrets(ws.store).put(admin, channel_config_owner(config.id or 0), TOKEN, "tok_live_5f1c2a9e7b3f9a")
    run_id = _run(ws, admin, config.id or 0, "sms", {"body": "Hi {{profile.first_name|there}}, 20% off today."})
    ws.delivery.execute(run_id)
    expected = _expected(ws, "phone", "sms_opt_in")
    assert expected
    assert sorted(r["json"]["to"] for r in gateway.requests) == sorted(e[1] for e in expected)
    assert {r["headers"]["Authorization"] for r in gateway.requests} == {"Bearer tok_live_5f1c2a9e7b3f9a"}
    delivered = ws.store.cursor().execute(
        "SELECT count(*) FROM delivery_events WHERE run_id = ? AND event = 'delivered'", [run_id]).fetchall()[0][0]
    assert delivered == len(expected)


def test_provider_settings_are_checked_when_saved() -> None:
    ws, admin = _workspace()
    with pytest.raises(Exception, match="host"):
        ws.add_channel_config(admin, {"name": "Bad", "channel": "email", "provider": "smtp",
                                      "sender_address": "news@herald.example", "settings": {"port": 25}})
    assert ws.channel_configs() == []
