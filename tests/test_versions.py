"""New versions of Live and Scheduled campaigns: the open draft, its review, and its activation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.enums import CampaignType, Channel, Status
from core.errors import IllegalTransition, InvalidInput, PermissionDenied
from core.lifecycle import DraftState
from core.models import Campaign
from factories import T0, World, dump, make, spec, world  # noqa: F401  (world is a fixture)

RUNNING = [Status.LIVE, Status.SCHEDULED]


def list_row(w: World, campaign_id: int) -> dict:
    frame = w.svc.list_frame(w.admin)
    return frame.filter(frame["id"] == campaign_id).to_dicts()[0]


def new_version(w: World, status: Status, **spec_kw: object) -> tuple[Campaign, dict]:
    """A running campaign with an open draft edited to `spec_kw` (same name, new body)."""
    c = make(w, status)
    c = w.svc.modify(w.manager, c.id, c.revision)
    draft = spec(w, name=c.name, content={"subject": "New subject", "body": "New body"}, **spec_kw)
    return w.svc.edit(w.manager, c.id, c.revision, draft), draft


@pytest.mark.parametrize("status", RUNNING)
def test_modify_opens_a_draft_while_the_live_version_runs(world: World, status: Status) -> None:
    c = make(world, status)
    live_spec = c.spec
    world.clock.tick(hours=1)
    c = world.svc.modify(world.manager, c.id, c.revision)
    assert (c.status, c.has_open_draft, c.version, c.live_version, c.draft_version) == (status, True, 1, 1, 2)
    assert c.draft_spec == live_spec
    row = list_row(world, c.id)
    assert (row["status"], row["open_draft"], row["draft_state"], row["version"]) == (status.value, True, "editing", 1)
    assert world.audit(c.id)[-1] == ("modify", status, status)
    assert world.svc.audit_trail(world.admin, c.id)[-1].version == 2

    edited = spec(world, name="Renamed", content={"subject": "S", "body": "B"})
    c = world.svc.edit(world.manager, c.id, c.revision, edited)
    assert c.spec == live_spec  # what recipients get is unchanged
    assert (c.draft_spec.name, c.draft_spec.content.body) == ("Renamed", "B")
    assert list_row(world, c.id)["name"] == live_spec.name
    versions = world.svc.versions(world.admin, c.id)
    assert versions["version"].to_list() == [1, 2]
    assert versions["name"].to_list() == [live_spec.name, "Renamed"]
    assert versions["activated_at"].to_list()[1] is None


@pytest.mark.parametrize("draft", list(DraftState))
def test_modifying_again_points_to_the_open_draft(world: World, draft: DraftState) -> None:
    c = make(world, Status.LIVE, draft)
    before = dump(world.store)
    with pytest.raises(IllegalTransition, match="It already has an open draft version: edit that one."):
        world.svc.modify(world.manager, c.id, c.revision)
    assert dump(world.store) == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"channel": Channel.SMS}, "channel", "an activated campaign stays Email; duplicate it to change the channel"),
        (
            {"type": CampaignType.API_TRIGGERED},
            "type",
            "an activated campaign stays Scheduled; duplicate it to change the type",
        ),
    ],
)
def test_a_new_version_keeps_type_and_channel(world: World, change: dict, field: str, message: str) -> None:
    c = make(world, Status.LIVE, DraftState.EDITING)
    before = dump(world.store)
    with pytest.raises(InvalidInput) as refused:
        world.svc.edit(world.manager, c.id, c.revision, spec(world, name=c.name, **change))
    assert refused.value.problems == {field: message}
    assert dump(world.store) == before


APPROVED_AT = T0 + timedelta(hours=2)


@pytest.mark.parametrize(
    ("status", "start_in", "target", "live_at"),
    [
        (Status.LIVE, None, Status.LIVE, T0),  # went live at T0, and that still counts
        (Status.LIVE, timedelta(days=3), Status.SCHEDULED, T0),
        (Status.SCHEDULED, None, Status.LIVE, APPROVED_AT),  # goes live with the new version
        (Status.SCHEDULED, timedelta(days=30), Status.SCHEDULED, None),
    ],
)
def test_approved_version_replaces_the_live_one(
    world: World, status: Status, start_in: timedelta | None, target: Status, live_at: datetime | None
) -> None:
    c, draft = new_version(world, status, start=T0 + start_in if start_in else None)
    c = world.svc.request_approval(world.manager, c.id, c.revision)
    assert (c.status, c.draft_in_review, list_row(world, c.id)["draft_state"]) == (status, True, "in_review")
    with pytest.raises(IllegalTransition, match="whose new version is in review"):
        world.svc.edit(world.manager, c.id, c.revision, draft)

    world.clock.tick(hours=2)
    c = world.svc.approve(world.approver, c.id, c.revision, "Better copy")
    assert (c.status, c.version, c.live_version, c.draft_version, c.has_open_draft) == (target, 2, 2, None, False)
    assert c.live_at == live_at
    assert c.spec.content.body == "New body"
    row = list_row(world, c.id)
    assert (row["open_draft"], row["draft_state"], row["version"]) == (False, None, 2)
    versions = world.svc.versions(world.admin, c.id)
    assert versions["activated_at"].to_list() == [T0, APPROVED_AT]
    assert versions["activated_by"].to_list() == ["Ari Approver", "Ari Approver"]
    last = world.svc.audit_trail(world.admin, c.id)[-1]
    assert (last.action, last.from_status, last.to_status, last.version, last.detail) == (
        "approve", status, target, 2, "Better copy",
    )


def test_the_version_author_cannot_approve_it(world: World) -> None:
    c, _ = new_version(world, Status.LIVE)
    c = world.svc.request_approval(world.approver, c.id, c.revision)
    with pytest.raises(PermissionDenied, match="You requested this approval yourself"):
        world.svc.approve(world.approver, c.id, c.revision)
    assert world.svc.approve(world.admin, c.id, c.revision).live_version == 2


@pytest.mark.parametrize("how", ["reject", "cancel_review"])
def test_a_version_sent_back_is_editable_again(world: World, how: str) -> None:
    c = make(world, Status.SCHEDULED, DraftState.IN_REVIEW)
    if how == "reject":
        c = world.svc.reject(world.approver, c.id, c.revision, "Too long")
    else:
        c = world.svc.cancel_review(world.requester, c.id, c.revision)
    assert (c.status, c.has_open_draft, c.draft_in_review) == (Status.SCHEDULED, True, False)
    assert list_row(world, c.id)["draft_state"] == "editing"
    entry = world.svc.audit_trail(world.admin, c.id)[-1]
    assert (entry.action, entry.version, entry.detail) == (how, 2, "Too long" if how == "reject" else None)
    world.svc.edit(world.requester, c.id, c.revision, spec(world, name=c.name))


def test_discard_draft_keeps_the_live_version_and_the_record(world: World) -> None:
    c, _ = new_version(world, Status.LIVE)
    live_spec = c.spec
    c = world.svc.discard_draft(world.manager, c.id, c.revision)
    assert (c.status, c.has_open_draft, c.draft_version, c.spec) == (Status.LIVE, False, None, live_spec)
    assert list_row(world, c.id)["open_draft"] is False
    assert world.svc.versions(world.admin, c.id)["version"].to_list() == [1, 2]
    c = world.svc.modify(world.manager, c.id, c.revision)
    assert c.draft_version == 3


@pytest.mark.parametrize("draft", list(DraftState))
@pytest.mark.parametrize("action", ["stop", "archive"])
def test_stop_and_archive_drop_the_open_draft(world: World, action: str, draft: DraftState) -> None:
    c = make(world, Status.LIVE, draft)
    if action == "stop":
        c = world.svc.stop(world.approver, c.id, c.revision)
    else:
        c = world.svc.archive(world.admin, c.id, c.revision)
    assert (c.draft_version, c.has_open_draft, c.version) == (None, False, 1)
    row = list_row(world, c.id)
    assert (row["open_draft"], row["draft_state"]) == (False, None)
    assert world.svc.versions(world.admin, c.id)["version"].to_list() == [1, 2]


def test_activate_a_version_without_review_when_approval_is_off(world: World) -> None:
    world.approval_off()
    c, _ = new_version(world, Status.LIVE)
    c = world.svc.activate(world.approver, c.id, c.revision)
    assert (c.status, c.live_version, c.draft_version) == (Status.LIVE, 2, None)
    assert world.audit(c.id)[-1] == ("activate", Status.LIVE, Status.LIVE)


def test_every_version_is_kept(world: World) -> None:
    c = make(world, Status.LIVE, name="Digest")
    for n in (2, 3):
        c = world.svc.modify(world.manager, c.id, c.revision)
        c = world.svc.edit(world.manager, c.id, c.revision, spec(world, name=f"Digest v{n}"))
        c = world.svc.request_approval(world.manager, c.id, c.revision)
        world.clock.tick(hours=1)
        c = world.svc.approve(world.approver, c.id, c.revision)
    versions = world.svc.versions(world.admin, c.id)
    assert versions.select("version", "name").rows() == [(1, "Digest"), (2, "Digest v2"), (3, "Digest v3")]
    assert versions["activated_at"].null_count() == 0
    assert (c.live_version, c.name) == (3, "Digest v3")
