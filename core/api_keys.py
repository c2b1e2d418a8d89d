"""API keys: how programs call Herald's REST API, each acting with the role an Administrator gave it.

A key reads `hk_<prefix>_<secret>`: 12 hex characters that name it (shown in lists, safe to log)
and 43 URL-safe characters of randomness (256 bits). The plain key is returned once, when it is
created; the store keeps its SHA-256 (a fast hash is right for a random 256-bit secret: there is
nothing to guess) and the prefix. Authentication looks the prefix up and compares hashes in
constant time (`hmac.compare_digest`), also for unknown prefixes, so timing tells nothing.

Only Administrators create, list and revoke keys (`Action.MANAGE_API_KEYS`, checked here). A
revoked key is refused from the next request on: the keys are memoised per store and reloaded
after every committed change that is not a delivery write (see `Store.memo(past_deliveries=True)`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from core import roles
from core.clock import Clock, utc_now
from core.enums import Action, Role
from core.errors import InvalidInput, NotFound, Unauthenticated
from core.models import Name, Strict, User, parse
from core.store import Store
from core.store import api_rows as rows
from core.store import workspace_rows as ws

PREFIX_CHARS = 12
KEY_RE = re.compile(r"^hk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_MEMO = "api_keys.active"
_DUMMY_HASH = hashlib.sha256(b"herald: no such key").hexdigest()


class ApiKey(Strict):
    """A key as lists and the API see it: never its secret or hash."""

    id: int
    name: Name
    role: Role
    prefix: str
    created_at: datetime
    created_by: int
    created_by_name: str | None = None
    revoked_at: datetime | None = None
    revoked_by: int | None = None

    @property
    def label(self) -> str:
        """How refusals name it: API key “Orders service” (hk_1a2b3c…)."""
        return f"API key “{self.name}” (hk_{self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class NewKey(Strict):
    name: Name
    role: Role = Field(description="the role the key acts with")


@dataclass(frozen=True)
class _Active:
    key: ApiKey
    key_hash: str


def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def create(self, actor: User, name: str, role: Role | str) -> tuple[ApiKey, str]:
        """A new key and its plain text, which is shown this once and never stored."""
        new = parse(NewKey, {"name": name, "role": role})
        with self.store.transaction() as cur:
            admin = self._require(cur, actor)
            if any(k["name"].lower() == new.name.lower() and k["revoked_at"] is None for k in rows.keys(cur)):
                raise InvalidInput({"name": f"an active key is already named {new.name!r}"})
            prefix = secrets.token_hex(PREFIX_CHARS // 2)
            while rows.prefix_taken(cur, prefix):  # 2^48 prefixes: practically never loops
                prefix = secrets.token_hex(PREFIX_CHARS // 2)
            plain = f"hk_{prefix}_{secrets.token_urlsafe(32)}"
            key_id = rows.insert_key(cur, new.name, new.role.value, prefix, hash_key(plain), self.clock(), admin.id)
            found = rows.key(cur, key_id)
        assert found is not None
        return ApiKey.model_validate(found), plain

    def list(self, actor: User) -> list[ApiKey]:
        """Every key, newest first, revoked ones included (they say when and by whom)."""
        cur = self.store.cursor()
        self._require(cur, actor)
        return [ApiKey.model_validate(k) for k in rows.keys(cur)]

    def revoke(self, actor: User, key_id: int) -> ApiKey:
        """Refuse the key from now on; revoking a revoked key changes nothing."""
        with self.store.transaction() as cur:
            admin = self._require(cur, actor)
            found = rows.key(cur, key_id)
            if found is None:
                raise NotFound(f"There is no API key {key_id}.")
            if found["revoked_at"] is None:
                rows.revoke_key(cur, key_id, self.clock(), admin.id)
                found = rows.key(cur, key_id)
        assert found is not None
        return ApiKey.model_validate(found)

    def authenticate(self, plain: str | None) -> ApiKey:
        """The active key `plain` is, or Unauthenticated (missing, malformed, unknown or revoked)."""
        if not plain:
            raise Unauthenticated("Send your API key as 'Authorization: Bearer <key>'.")
        match = KEY_RE.match(plain)
        active = self._active()
        found = active.get(match.group(1)) if match else None
        expected = found.key_hash if found else _DUMMY_HASH
        if not hmac.compare_digest(hash_key(plain), expected) or found is None:
            raise Unauthenticated("This API key is not valid: it is unknown, mistyped or revoked.")
        return found.key

    def _active(self) -> dict[str, _Active]:
        def load() -> dict[str, _Active]:
            found = rows.active_key_hashes(self.store.cursor())
            return {
                k["prefix"]: _Active(ApiKey.model_validate({c: v for c, v in k.items() if c != "key_hash"}),
                                     k["key_hash"])
                for k in found
            }

        return self.store.memo(_MEMO, load, past_deliveries=True)

    def _require(self, cur: Any, actor: User) -> User:
        return roles.require_user(ws.user(cur, actor.id), actor, Action.MANAGE_API_KEYS)
