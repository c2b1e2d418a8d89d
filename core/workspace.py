"""The workspace a dashboard session works in: the store, the campaign service, and the things
campaigns refer to (users, channel configurations, audiences, settings), each guarded by role."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from core import roles
from core.analytics import Analytics
from core.api_keys import ApiKeys
from core.api_reads import ApiReads
from core.audiences import Audiences
from core.campaigns import Campaigns
from core.delivery import Delivery, FrequencyCap, frequency_cap, provider_settings
from core.clock import Clock, utc_now
from core.enums import Action, Channel, Role
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import ChannelConfig, User, parse
from core.store import Store, profile_rows
from core.store import workspace_rows as ws
from core.store.audience_rows import bump_profiles_revision
from core.triggers import Triggers

DEFAULT_DB = Path("data") / "herald.duckdb"
_SHARED: dict[str, Workspace] = {}
_SHARED_LOCK = threading.Lock()


def database_path() -> Path:
    """Where the workspace lives: HERALD_DB, else data/herald.duckdb."""
    return Path(os.environ.get("HERALD_DB") or DEFAULT_DB)


class Workspace:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock
        self.campaigns = Campaigns(store, clock)
        self.audiences = Audiences(store, clock)
        self.delivery = Delivery(store, self.audiences, clock)
        self.analytics = Analytics(store, self.audiences, clock)
        self.api_keys = ApiKeys(store, clock)
        self.triggers = Triggers(store, self.audiences, self.delivery, clock)
        self.api = ApiReads(store, self.analytics)

    @classmethod
    def open(cls, path: str | Path | None = None) -> Workspace:
        """A workspace on the process-wide store of `path` (default: database_path())."""
        return cls(Store.shared(path or database_path()))

    @classmethod
    def shared(cls, path: str | Path | None = None) -> Workspace:
        """The one workspace per database file and process, for callers outside any dashboard session
        (the REST API's routes): what they cache (profiles, keys, campaigns) is then shared. Looked up
        by the path as given first, so a hot caller does not resolve the path on every call."""
        given = str(path or database_path())
        found = _SHARED.get(given)
        if found is not None and not found.store.closed:
            return found
        store = Store.shared(given)
        with _SHARED_LOCK:
            found = _SHARED.get(given)
            if found is None or found.store is not store:
                found = _SHARED[given] = cls(store)
            return found

    # ---- users ---------------------------------------------------------------------------

    def users(self) -> list[User]:
        """Everyone who can sign in; the demo sign-in lists them, so no role is needed to read it."""
        return ws.users(self.store.cursor())

    def user_by_email(self, email: str) -> User | None:
        return ws.user_by_email(self.store.cursor(), email)

    def user_for_identity(self, claims: Mapping[str, Any]) -> User:
        """The Herald user an identity provider's sign-in maps to: by e-mail, case-insensitively.

        An e-mail the provider says is unverified is refused, since anyone could claim it. The
        user's role (None included) then decides everything they may do, as in demo mode."""
        email = str(claims.get("email") or "").strip()
        if not email:
            raise PermissionDenied("The sign-in provider did not share an e-mail address, so Herald cannot tell "
                                   "who you are. Ask your administrator to add the 'email' scope.")
        if claims.get("email_verified") is False:
            raise PermissionDenied(f"The sign-in provider has not verified {email}; verify it there and sign in again.")
        user = self.user_by_email(email)
        if user is None:
            raise PermissionDenied(f"{email} is not a Herald user. Ask an Administrator to add you.")
        return user

    def add_user(self, actor: User | None, name: str, email: str, role: Role | None) -> User:
        """Administrators add users; `actor=None` only while the workspace has no user at all."""
        problems: dict[str, str] = {}
        if not name.strip():
            problems["name"] = "a user needs a name"
        if "@" not in email:
            problems["email"] = f"{email!r} is not an email address"
        with self.store.transaction() as cur:
            if actor is None:
                if ws.users(cur):
                    raise PermissionDenied("Only an Administrator may add users to a workspace that has users.")
            else:
                self._require(cur, actor, Action.MANAGE_USERS)
            if ws.user_by_email(cur, email) is not None:
                problems["email"] = f"{email} is already a user"
            if problems:
                raise InvalidInput(problems)
            return ws.insert_user(cur, name.strip(), email.strip(), role, self.clock())

    def set_user_role(self, actor: User, user_id: int, role: Role | None) -> User:
        """Administrators grant or withdraw roles; the change counts at the user's next action."""
        with self.store.transaction() as cur:
            admin = self._require(cur, actor, Action.MANAGE_USERS)
            target = ws.user(cur, user_id)
            if target is None:
                raise NotFound(f"There is no user {user_id}.")
            if target.id == admin.id and role is not Role.ADMINISTRATOR:
                others = [u for u in ws.users(cur) if u.role is Role.ADMINISTRATOR and u.id != admin.id]
                if not others:
                    raise InvalidInput({"role": "you are the last Administrator; make someone else one first"})
            ws.set_user_role(cur, user_id, role)
            return target.model_copy(update={"role": role})

    # ---- channel configurations -------------------------------------------------------------

    def channel_configs(self) -> list[ChannelConfig]:
        return ws.channel_configs(self.store.cursor())

    def add_channel_config(self, actor: User, config: ChannelConfig | Mapping[str, Any]) -> ChannelConfig:
        config = config if isinstance(config, ChannelConfig) else parse(ChannelConfig, dict(config))
        provider_settings(config)  # refuse settings the provider could not use, before saving
        with self.store.transaction() as cur:
            self._require(cur, actor, Action.MANAGE_CHANNELS)
            if any(c.name.lower() == config.name.lower() for c in ws.channel_configs(cur)):
                raise InvalidInput({"name": f"a channel configuration named {config.name!r} already exists"})
            return ws.insert_channel_config(cur, config, self.clock())

    def set_channel_config_enabled(self, actor: User, config_id: int, enabled: bool) -> None:
        with self.store.transaction() as cur:
            self._require(cur, actor, Action.MANAGE_CHANNELS)
            if ws.channel_config(cur, config_id) is None:
                raise NotFound(f"There is no channel configuration {config_id}.")
            ws.set_channel_config_enabled(cur, config_id, enabled, self.clock())

    # ---- profiles -----------------------------------------------------------------------------

    def replace_profiles(self, actor: User, frame: pl.DataFrame) -> int:
        """Administrators replace the whole profile table in one transaction (all or nothing)."""
        with self.store.transaction() as cur:
            self._require(cur, actor, Action.IMPORT_PROFILES)
            count = profile_rows.replace_profiles(cur, frame)
            bump_profiles_revision(cur)
            return count

    def profile_count(self) -> int:
        return profile_rows.profile_count(self.store.cursor())

    # ---- settings ------------------------------------------------------------------------------

    def set_approval_required(self, actor: User, required: bool) -> None:
        with self.store.transaction() as cur:
            self._require(cur, actor, Action.MANAGE_SETTINGS)
            ws.put_setting(cur, "approval_required", bool(required))

    def set_frequency_cap(self, actor: User, channel: Channel, messages: int | None, days: int = 7) -> None:
        """At most `messages` per profile per `days` on `channel`, across campaigns (None: no cap)."""
        if messages is not None and not (1 <= messages <= 1000 and 1 <= days <= 365):
            raise InvalidInput({"frequency_cap": "choose 1 to 1,000 messages per 1 to 365 days"})
        with self.store.transaction() as cur:
            self._require(cur, actor, Action.MANAGE_CHANNELS)
            caps = dict(ws.setting(cur, "frequency_caps", {}) or {})
            if messages is None:
                caps.pop(channel.value, None)
            else:
                caps[channel.value] = {"messages": messages, "days": days}
            ws.put_setting(cur, "frequency_caps", caps)

    def frequency_caps(self) -> dict[Channel, FrequencyCap | None]:
        """Each channel's cap (None: uncapped), for the settings page."""
        return {channel: frequency_cap(self.store, channel) for channel in Channel}

    def _require(self, cur: Any, actor: User, action: Action) -> User:
        return roles.require_user(ws.user(cur, actor.id), actor, action)
