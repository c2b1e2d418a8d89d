"""Builders and fixtures shared by the core/ tests.

conftest.py belongs to the UI tests, so test files import what they need from here explicitly,
fixtures included (`from factories import world`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.campaigns import Campaigns
from core.enums import CampaignType, Channel, Recurrence, Role, Status
from core.lifecycle import DraftState
from core.models import Audience, Campaign, ChannelConfig, User
from core.store import Store
from core.store import workspace_rows as rows
from core.workspace import Workspace

T0 = datetime(2026, 1, 5, 9, 0)  # a winter Monday, naive UTC like everything in core/

# Every table a campaign action may write to: "nothing was written" means all of them are unchanged.
TABLES = ("campaigns", "campaign_versions", "audit_log", "settings", "channel_configs", "users", "audiences",
          "api_keys")

SENDERS: dict[Channel, str] = {
    Channel.EMAIL: "news@herald.example",
    Channel.SMS: "+15550100",
    Channel.PUSH: "com.herald.app",
    Channel.IN_APP: "herald-web",
    Channel.WEBHOOK: "order-events",
}
CONTENT: dict[Channel, dict[str, str]] = {
    Channel.EMAIL: {"subject": "Hello {{profile.first_name}}", "body": "Our news, {{profile.first_name}}."},
    Channel.SMS: {"body": "Herald news. Reply STOP to opt out."},
    Channel.PUSH: {"subject": "Herald", "body": "Tap to see what's new."},
    Channel.IN_APP: {"body": "Don't miss our news."},
    Channel.WEBHOOK: {"body": '{"event": "news"}'},
}


class FakeClock:
    """The injectable clock: tests move it by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class World:
    """An in-memory workspace with one user per role, a configuration per channel and an audience."""

    store: Store
    clock: FakeClock
    ws: Workspace
    svc: Campaigns
    admin: User
    viewer: User
    manager: User
    approver: User
    requester: User  # a second Manager who files the approval requests, so any role can review them
    nobody: User  # can sign in, but has no campaign role
    configs: dict[Channel, ChannelConfig]
    audience: Audience

    def user(self, role: Role | None) -> User:
        return {
            Role.VIEWER: self.viewer,
            Role.MANAGER: self.manager,
            Role.APPROVER: self.approver,
            Role.ADMINISTRATOR: self.admin,
            None: self.nobody,
        }[role]

    def fresh(self, campaign_id: int) -> Campaign:
        return self.svc.get(self.admin, campaign_id)

    def audit(self, campaign_id: int) -> list[tuple[str, Status | None, Status | None]]:
        """The audit trail as (action, from, to) triples, the shape most assertions need."""
        return [(a.action, a.from_status, a.to_status) for a in self.svc.audit_trail(self.admin, campaign_id)]

    def approval_off(self) -> None:
        self.ws.set_approval_required(self.admin, False)


_names = itertools.count(1)


def build_world(now: datetime = T0) -> World:
    """Users, configurations and the audience go straight in through the row functions, in one
    transaction: the role-checked Workspace methods that add them are tested on their own."""
    clock = FakeClock(now)
    store = Store(":memory:")
    ws = Workspace(store, clock)
    with store.transaction() as cur:

        def user(name: str, role: Role | None) -> User:
            return rows.insert_user(cur, name, f"{name.split()[0].lower()}@herald.example", role, now)

        admin, viewer, manager, approver, requester, nobody = (
            user("Ada Admin", Role.ADMINISTRATOR),
            user("Vera Viewer", Role.VIEWER),
            user("Mia Manager", Role.MANAGER),
            user("Ari Approver", Role.APPROVER),
            user("Rex Requester", Role.MANAGER),
            user("Nils Nobody", None),
        )
        configs = {
            channel: rows.insert_channel_config(
                cur,
                ChannelConfig(name=f"{channel.label} · main", channel=channel, sender_address=SENDERS[channel]),
                now,
            )
            for channel in Channel
        }
        audience = rows.insert_audience(cur, Audience(name="All subscribers", size=1000, definition={"match": "all", "rules": [{"attribute": "email_opt_in", "operator": "is_true"}]}), now, manager.id)
    return World(store, clock, ws, ws.campaigns, admin, viewer, manager, approver, requester, nobody, configs, audience)


@pytest.fixture
def world() -> Iterator[World]:
    w = build_world()
    yield w
    w.store.close()


def spec(
    world: World,
    *,
    name: str | None = None,
    channel: Channel = Channel.EMAIL,
    type: CampaignType = CampaignType.SCHEDULED,
    start: datetime | None = None,
    end: datetime | None = None,
    recurrence: Recurrence = Recurrence.NONE,
    timezone: str = "UTC",
    **overrides: Any,
) -> dict[str, Any]:
    """A complete, ready-to-activate campaign spec (override any key to break it)."""
    schedule: dict[str, Any] = {"timezone": timezone, "recurrence": recurrence.value}
    if start is not None:
        schedule["starts_at"] = start
    if end is not None:
        schedule["ends_at"] = end
    return {
        "name": name or f"Campaign {next(_names)}",
        "description": "A test campaign.",
        "tags": ("news",),
        "type": type.value,
        "channel": channel.value,
        "channel_config_id": world.configs[channel].id,
        "audience_id": world.audience.id,
        "content": CONTENT[channel],
        "schedule": schedule,
        **overrides,
    }


def make(
    world: World,
    status: Status,
    draft: DraftState | None = None,
    *,
    start: datetime | None = None,
    **spec_kw: Any,
) -> Campaign:
    """A campaign brought to `status` (and open-draft state) by the real service actions.

    Approvals are requested by `world.requester` and granted by `world.approver`. Scheduled
    campaigns start a week from now unless `start` says otherwise; Live ones send on activation.
    """
    svc, admin = world.svc, world.admin
    if status is Status.SCHEDULED and start is None:
        start = world.clock.now + timedelta(days=7)
    if status is Status.FAILED:
        doomed = world.ws.add_channel_config(
            admin, {"name": f"Email · doomed {next(_names)}", "channel": "email", "sender_address": "x@herald.example"}
        )
        spec_kw["channel_config_id"] = doomed.id
    c = svc.create(world.requester, spec(world, start=start, **spec_kw))
    if status is Status.DRAFT:
        return c
    c = svc.request_approval(world.requester, c.id, c.revision)
    if status is Status.IN_REVIEW:
        return c
    defer = status in (Status.ACTIVATING, Status.FAILED)
    c = svc.approve(world.approver, c.id, c.revision, "Looks good.", defer=defer)
    if status is Status.ACTIVATING:
        return c
    if status is Status.FAILED:
        world.ws.set_channel_config_enabled(admin, spec_kw["channel_config_id"], False)
        svc.advance(world.clock())
        return world.fresh(c.id)
    if status is Status.COMPLETED:
        world.clock.tick(days=3)
        svc.advance()
        return world.fresh(c.id)
    if status is Status.STOPPED:
        return svc.stop(world.approver, c.id, c.revision, "Enough.")
    if status is Status.ARCHIVED:
        return svc.archive(admin, c.id, c.revision)
    assert c.status is status, f"wanted {status}, got {c.status}"
    if draft is not None:
        c = svc.modify(world.requester, c.id, c.revision)
        if draft is DraftState.IN_REVIEW:
            c = svc.request_approval(world.requester, c.id, c.revision)
    return c


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a campaign action writes, in a stable order."""
    cur = store.cursor()
    return {table: cur.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


def set_role(store: Store, user: User, role: Role | None) -> None:
    """Change a user's role behind the service's back, as another session (or an admin) would."""
    with store.transaction() as cur:
        cur.execute("UPDATE users SET role = ? WHERE id = ?", [role.value if role else None, user.id])
