"""Provider secrets: stored apart from channel configurations, written by Administrators only,
shown masked, never quoted in a repr or an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr

from core.enums import Channel, Provider, Role
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import ChannelConfig, User, parse
from core.providers.smtp import SmtpSettings
from core.providers.webhook import WebhookSettings
from core.secrets import MASK, PASSWORD, TOKEN, Secrets, channel_config_owner, mask
from core.store import Store
from core.store import workspace_rows as ws

T0 = datetime(2026, 3, 2, 8, 0)
PASSWORD_VALUE = "Sup3r-secret-relay-pass-3f9a"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Setup:
    store: Store
    clock: Clock
    secrets: Secrets
    users: dict[Role | None, User]
    smtp_config: ChannelConfig
    owner: str

    def rows(self) -> list[tuple]:
        return self.store.cursor().execute("SELECT owner, name, value, updated_at FROM secrets ORDER BY ALL").fetchall()


@pytest.fixture
def setup() -> Iterator[Setup]:
    store = Store(":memory:")
    clock = Clock()
    with store.transaction() as cur:
        users = {
            role: ws.insert_user(cur, f"User {role or 'none'}", f"{role or 'none'}@herald.example", role, T0)
            for role in (*Role, None)
        }
        config = ws.insert_channel_config(
            cur,
            ChannelConfig(name="Email · relay", channel=Channel.EMAIL, provider=Provider.SMTP,
                          sender_name="Herald", sender_address="news@herald.example"),
            T0,
        )
        settings = SmtpSettings(host="smtp.herald.example", username="herald", from_address="news@herald.example")
        cur.execute("UPDATE channel_configs SET settings = ? WHERE id = ?", [settings.model_dump_json(), config.id])
    assert config.id is not None
    yield Setup(store, clock, Secrets(store, clock), users, config, channel_config_owner(config.id))
    store.close()


def test_mask_shows_the_last_four_only_of_long_values() -> None:
    assert mask("sk_live_abcdef123f9a") == "••••••3f9a"
    assert mask("x" * 11) == MASK == "••••••"  # short: nothing at all
    assert mask("abcdefgh3f9a") == "••••••3f9a"  # 12 characters: the threshold
    assert mask("hunter2") == "••••••"


def test_administrator_puts_gets_and_replaces_a_secret(setup: Setup) -> None:
    admin = setup.users[Role.ADMINISTRATOR]
    assert setup.secrets.get(setup.owner, PASSWORD) is None and setup.secrets.masked(setup.owner, PASSWORD) is None
    setup.secrets.put(admin, setup.owner, PASSWORD, PASSWORD_VALUE)
    secret = setup.secrets.get(setup.owner, PASSWORD)
    assert isinstance(secret, SecretStr) and secret.get_secret_value() == PASSWORD_VALUE
    assert PASSWORD_VALUE not in repr(secret) and PASSWORD_VALUE not in str(secret) and PASSWORD_VALUE not in f"{secret}"
    assert setup.secrets.masked(setup.owner, PASSWORD) == "••••••3f9a"
    setup.clock.now += timedelta(hours=1)
    setup.secrets.put(admin, setup.owner, PASSWORD, SecretStr("short-pw"))
    assert setup.secrets.masked(setup.owner, PASSWORD) == MASK
    assert setup.rows() == [(setup.owner, PASSWORD, "short-pw", T0 + timedelta(hours=1))]
    assert setup.secrets.names(setup.owner) == [PASSWORD]


def test_masked_never_shows_the_whole_value(setup: Setup) -> None:
    admin = setup.users[Role.ADMINISTRATOR]
    for value in ("a", "abcd", "abcdefghijk", "abcdefghijkl", PASSWORD_VALUE, "€" * 40):
        setup.secrets.put(admin, setup.owner, TOKEN, value)
        shown = setup.secrets.masked(setup.owner, TOKEN)
        assert shown == MASK + (value[-4:] if len(value) >= 12 else "")
        assert value not in shown


@pytest.mark.parametrize("role", [Role.MANAGER, Role.APPROVER, Role.VIEWER, None])
def test_only_an_administrator_may_put_or_delete(setup: Setup, role: Role | None) -> None:
    actor = setup.users[role]
    with pytest.raises(PermissionDenied) as refused:
        setup.secrets.put(actor, setup.owner, PASSWORD, PASSWORD_VALUE)
    assert PASSWORD_VALUE not in str(refused.value)
    assert setup.rows() == []  # nothing written
    setup.secrets.put(setup.users[Role.ADMINISTRATOR], setup.owner, PASSWORD, PASSWORD_VALUE)
    with pytest.raises(PermissionDenied):
        setup.secrets.delete(actor, setup.owner, PASSWORD)
    assert setup.secrets.masked(setup.owner, PASSWORD) == "••••••3f9a"  # still there


def test_manager_refusal_names_the_role_that_may(setup: Setup) -> None:
    with pytest.raises(PermissionDenied, match="Only Administrator may manage channel configurations; you are Manager"):
        setup.secrets.put(setup.users[Role.MANAGER], setup.owner, PASSWORD, PASSWORD_VALUE)


def test_the_role_is_read_from_the_users_table_not_the_session(setup: Setup) -> None:
    stale = setup.users[Role.ADMINISTRATOR]
    with setup.store.transaction() as cur:
        ws.set_user_role(cur, stale.id, Role.MANAGER)
    with pytest.raises(PermissionDenied):
        setup.secrets.put(stale, setup.owner, PASSWORD, PASSWORD_VALUE)
    stranger = User(id=999, name="Eve", email="eve@evil.example", role=Role.ADMINISTRATOR)
    with pytest.raises(PermissionDenied, match="Eve is not a user"):
        setup.secrets.put(stranger, setup.owner, PASSWORD, PASSWORD_VALUE)
    assert setup.rows() == []


def test_delete(setup: Setup) -> None:
    admin = setup.users[Role.ADMINISTRATOR]
    setup.secrets.put(admin, setup.owner, PASSWORD, PASSWORD_VALUE)
    assert setup.secrets.delete(admin, setup.owner, PASSWORD) is True
    assert setup.secrets.delete(admin, setup.owner, PASSWORD) is False
    assert setup.secrets.get(setup.owner, PASSWORD) is None and setup.rows() == []


def test_secrets_are_stored_apart_from_the_channel_configuration(setup: Setup) -> None:
    setup.secrets.put(setup.users[Role.ADMINISTRATOR], setup.owner, PASSWORD, PASSWORD_VALUE)
    cur = setup.store.cursor()
    config_rows = cur.execute("SELECT * FROM channel_configs").fetchall()
    assert config_rows and all(PASSWORD_VALUE not in str(row) for row in config_rows)
    settings = json.loads(cur.execute("SELECT settings FROM channel_configs WHERE id = ?",
                                      [setup.smtp_config.id]).fetchall()[0][0])
    assert "password" not in settings and settings["username"] == "herald"
    assert [r[2] for r in setup.rows()] == [PASSWORD_VALUE]
    # the settings models cannot carry a secret even if a form sends one
    with pytest.raises(InvalidInput) as refused:
        parse(SmtpSettings, {**settings, "password": PASSWORD_VALUE})
    assert PASSWORD_VALUE not in str(refused.value)
    with pytest.raises(InvalidInput):
        parse(WebhookSettings, {"url": "https://gw.example/h", "headers": {"Authorization": "Bearer x"}})


@pytest.mark.parametrize(
    ("owner", "name", "value", "field"),
    [
        ("channel_config:1", "password", "", "value"),
        ("channel_config:1", "password", "line one\nline two-secret", "value"),
        ("channel_config:1", "password", "x" * 5000, "value"),
        ("not an owner", "password", "a-secret-value", "owner"),
        ("channel_config:1", "Pass Word", "a-secret-value", "name"),
    ],
)
def test_bad_input_is_refused_without_quoting_the_value(
    setup: Setup, owner: str, name: str, value: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        setup.secrets.put(setup.users[Role.ADMINISTRATOR], owner, name, value)
    assert field in refused.value.problems
    if value:
        assert value not in str(refused.value) and value[:12] not in str(refused.value)
    assert setup.rows() == []


def test_unknown_channel_configuration_is_refused(setup: Setup) -> None:
    with pytest.raises(NotFound, match="no channel configuration 42"):
        setup.secrets.put(setup.users[Role.ADMINISTRATOR], channel_config_owner(42), TOKEN, PASSWORD_VALUE)
    assert setup.rows() == []


def test_repr_of_the_service_holds_no_value(setup: Setup) -> None:
    setup.secrets.put(setup.users[Role.ADMINISTRATOR], setup.owner, PASSWORD, PASSWORD_VALUE)
    assert PASSWORD_VALUE not in repr(setup.secrets)
    assert PASSWORD_VALUE not in repr(setup.secrets.get(setup.owner, PASSWORD))
