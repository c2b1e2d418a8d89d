"""The demo workspace (core/demo.py): complete enough to demo, and identical for the same anchor."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from core.demo import seed
from core.enums import CampaignType, Channel, Role, Status
from core.errors import HeraldError
from core.models import User
from core.store import Store
from core.workspace import Workspace

ANCHOR = datetime(2026, 11, 23, 9, 0)
PROFILES = 2_000


@dataclass
class Seeded:
    path: Path
    store: Store
    ws: Workspace
    admin: User
    frame: pl.DataFrame


def _open(path: Path) -> Seeded:
    store = Store(path)
    ws = Workspace(store, clock=lambda: ANCHOR)
    admin = next(u for u in ws.users() if u.role is Role.ADMINISTRATOR)
    return Seeded(path, store, ws, admin, ws.campaigns.list_frame(admin))


@dataclass
class Twins:
    a: Seeded
    b: Seeded
    untouched: Path  # a copy of b's file taken before anything opened it


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twins]:
    """Two demo workspaces seeded independently from the same anchor."""
    paths = [tmp_path_factory.mktemp(name) / "herald.duckdb" for name in ("a", "b")]
    for path in paths:
        seed(path, profiles=PROFILES, anchor=ANCHOR)
    untouched = paths[1].with_name("untouched.duckdb")
    shutil.copy(paths[1], untouched)
    twins = Twins(_open(paths[0]), _open(paths[1]), untouched)
    yield twins
    twins.a.store.close()
    twins.b.store.close()


def test_enough_campaigns_in_every_status(twins: Twins) -> None:
    frame = twins.a.frame
    assert frame.height >= 40
    assert set(frame["status"]) == {s.value for s in Status}
    assert set(frame["type"]) == {t.value for t in CampaignType}
    assert frame["open_draft"].any()
    assert set(frame.filter("open_draft")["draft_state"]) == {"editing", "in_review"}


def test_audiences_users_and_channel_configurations(twins: Twins) -> None:
    ws = twins.a.ws
    admin = next(u for u in ws.users() if u.role is not None and u.role.value == "administrator")
    audiences = ws.audiences.list(admin)
    assert len(audiences) >= 8
    assert all(a.size and a.size > 0 and a.computed_at is not None for a in audiences)
    assert {u.role for u in ws.users()} == set(Role)
    assert {c.channel for c in ws.channel_configs()} == set(Channel)
    assert ws.profile_count() == PROFILES


def test_histories_are_genuine(twins: Twins) -> None:
    s = twins.a
    failed = s.frame.filter(pl.col("status") == "failed")["id"].to_list()
    assert failed and all(s.ws.campaigns.get(s.admin, i).failure_reason for i in failed)
    for campaign_id in s.frame["id"]:
        trail = s.ws.campaigns.audit_trail(s.admin, campaign_id)
        assert trail[0].action in ("create", "duplicate")
        assert trail[-1].to_status == s.frame.filter(pl.col("id") == campaign_id)["status"].item()


def test_nothing_is_overdue_at_the_anchor(twins: Twins) -> None:
    """The seed ran the scheduler at the anchor: only the activation still in progress is left."""
    s = _open(twins.untouched)
    activating = s.frame.filter(pl.col("status") == "activating")["id"].to_list()
    moved = s.ws.campaigns.advance(ANCHOR)
    assert [(t.campaign_id, t.from_status) for t in moved] == [(i, Status.ACTIVATING) for i in activating]
    s.store.close()


def test_the_same_anchor_gives_the_same_workspace(twins: Twins) -> None:
    a, b = twins.a, twins.b
    assert a.frame.equals(b.frame)

    def table(s: Seeded, name: str) -> pl.DataFrame:
        return s.store.cursor().sql(f"SELECT * FROM {name} ORDER BY ALL").pl()

    for name in ("profiles", "audit_log", "campaign_versions", "audiences", "channel_configs", "users"):
        assert table(a, name).equals(table(b, name)), name


def test_seeding_an_existing_file_is_refused(twins: Twins) -> None:
    path = twins.a.path
    size = path.stat().st_size
    with pytest.raises(HeraldError, match="already exists; delete it"):
        seed(path, profiles=10, anchor=ANCHOR)
    assert path.stat().st_size == size
    assert twins.a.ws.campaigns.list_frame(twins.a.admin).equals(twins.a.frame)
