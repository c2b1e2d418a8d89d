"""Provider secrets (SMTP password, webhook token): stored apart, written by Administrators only,
shown masked, read in full only by the providers at send time.

Why apart: channel configurations are listed, displayed, duplicated and exported; a password in
their settings JSON would travel with them. The `secrets` table is keyed by owner
("channel_config:3") and name ("password", "token") and read through `Secrets.get` alone, which
hands out a `SecretStr` so the value does not show up in a repr, a log line or a traceback.
The values sit in the DuckDB file as they are: protect the file (it holds the profiles anyway).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import SecretStr

from core import roles
from core.clock import Clock, utc_now
from core.enums import Action
from core.errors import InvalidInput, NotFound
from core.models import User
from core.store import Store
from core.store import secret_rows as rows
from core.store import workspace_rows as ws

MASK = "••••••"
SHOW_TAIL_FROM = 12  # only values at least this long show their last 4 characters
MAX_CHARS = 4096
_OWNER_RE = re.compile(r"^[a-z_]{1,40}:[A-Za-z0-9_\-]{1,80}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PASSWORD = "password"  # an SMTP configuration's secret
TOKEN = "token"  # a webhook configuration's secret


def channel_config_owner(config_id: int) -> str:
    """The owner key of a channel configuration's secrets."""
    return f"channel_config:{int(config_id)}"


def mask(value: str) -> str:
    """What a person may see of a secret: that it is set, and for long values the last 4
    characters to tell two apart. A short value shows nothing: 4 of 8 would halve it."""
    return MASK + value[-4:] if len(value) >= SHOW_TAIL_FROM else MASK


class Secrets:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def __repr__(self) -> str:
        return f"Secrets({self.store.path!r})"

    def put(self, actor: User, owner: str, name: str, value: str | SecretStr) -> None:
        """Set or replace a secret (Administrators only). Refusals never quote the value."""
        plain = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        problems = _check_key(owner, name)
        if not plain:
            problems["value"] = "a secret cannot be empty (delete it instead)"
        elif len(plain) > MAX_CHARS:
            problems["value"] = f"a secret is at most {MAX_CHARS} characters (this one has {len(plain)})"
        elif "\r" in plain or "\n" in plain:
            problems["value"] = "a secret must be one line"
        with self.store.transaction() as cur:
            self._require(cur, actor)
            if problems:
                raise InvalidInput(problems)
            _check_owner_exists(cur, owner)
            rows.put_secret(cur, owner, name, plain, self.clock())

    def get(self, owner: str, name: str) -> SecretStr | None:
        """The value, for a provider about to use it; no role check, so never wire it to the UI."""
        value = rows.secret(self.store.cursor(), owner, name)
        return SecretStr(value) if value is not None else None

    def masked(self, owner: str, name: str) -> str | None:
        """For display: None when not set, else the mask (never the whole value)."""
        value = rows.secret(self.store.cursor(), owner, name)
        return mask(value) if value is not None else None

    def names(self, owner: str) -> list[str]:
        """Which secrets `owner` has, without their values."""
        return rows.secret_names(self.store.cursor(), owner)

    def delete(self, actor: User, owner: str, name: str) -> bool:
        """Remove a secret (Administrators only); whether there was one."""
        with self.store.transaction() as cur:
            self._require(cur, actor)
            return rows.delete_secret(cur, owner, name)

    def _require(self, cur: Any, actor: User) -> User:
        """The role as the users table has it now, not as the session remembers it."""
        return roles.require_user(ws.user(cur, actor.id), actor, Action.MANAGE_CHANNELS)


def _check_key(owner: str, name: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not _OWNER_RE.match(owner):
        problems["owner"] = f"{owner[:60]!r} is not an owner key such as 'channel_config:3'"
    if not _NAME_RE.match(name):
        problems["name"] = f"{name[:60]!r} is not a secret name such as 'password' or 'token'"
    return problems


def _check_owner_exists(cur: Any, owner: str) -> None:
    kind, _, key = owner.partition(":")
    if kind == "channel_config" and (not key.isdigit() or ws.channel_config(cur, int(key)) is None):
        raise NotFound(f"There is no channel configuration {key}.")
