"""The campaign service end to end on an in-memory store: transitions, audit trail, refusals."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from core.campaigns import Campaigns
from core.enums import Action, Recurrence, Status
from core.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied, StaleRevision
from core.lifecycle import DraftState
from factories import T0, FakeClock, World, dump, make, spec, world  # noqa: F401  (world is a fixture)

H = timedelta(hours=1)


def trail(w: World, campaign_id: int) -> list[tuple]:
    """(action, from, to, version, actor, at, detail) for every audit entry."""
    return [
        (a.action, a.from_status, a.to_status, a.version, a.actor_name, a.at, a.detail)
        for a in w.svc.audit_trail(w.admin, campaign_id)
    ]


def test_create_makes_a_draft_version_one(world: World) -> None:
    c = world.svc.create(world.manager, spec(world, name="Spring sale"))
    assert (c.status, c.version, c.revision, c.live_version, c.draft_version) == (Status.DRAFT, 1, 1, None, 1)
    assert (c.name, c.created_by, c.created_at) == ("Spring sale", world.manager.id, T0)
    assert trail(world, c.id) == [("create", None, Status.DRAFT, 1, "Mia Manager", T0, None)]


@pytest.mark.parametrize(
    ("start", "recurrence"),
    [(None, Recurrence.NONE), (T0 - timedelta(days=2), Recurrence.DAILY)],
    ids=["send-on-activation", "recurring-start-passed"],
)
def test_approval_activates_to_live(world: World, start: datetime | None, recurrence: Recurrence) -> None:
    svc = world.svc
    c = svc.create(world.manager, spec(world, start=start, recurrence=recurrence))
    world.clock.tick(hours=1)
    c = svc.request_approval(world.manager, c.id, c.revision)
    assert (c.status, c.review_requested_by) == (Status.IN_REVIEW, world.manager.id)
    world.clock.tick(hours=1)
    c = svc.approve(world.approver, c.id, c.revision, "Ship it")
    assert (c.status, c.live_version, c.draft_version) == (Status.LIVE, 1, None)
    assert (c.activated_at, c.live_at, c.review_requested_by) == (T0 + 2 * H, T0 + 2 * H, None)
    assert trail(world, c.id) == [
        ("create", None, Status.DRAFT, 1, "Mia Manager", T0, None),
        ("request_approval", Status.DRAFT, Status.IN_REVIEW, 1, "Mia Manager", T0 + H, None),
        ("approve", Status.IN_REVIEW, Status.ACTIVATING, 1, "Ari Approver", T0 + 2 * H, "Ship it"),
        ("go_live", Status.ACTIVATING, Status.LIVE, 1, "Ari Approver", T0 + 2 * H, None),
    ]


def test_approval_with_a_future_start_schedules(world: World) -> None:
    c = make(world, Status.IN_REVIEW, start=T0 + timedelta(days=2))
    c = world.svc.approve(world.approver, c.id, c.revision)
    assert (c.status, c.live_version, c.live_at, c.activated_at) == (Status.SCHEDULED, 1, None, T0)
    assert world.audit(c.id)[-2:] == [
        ("approve", Status.IN_REVIEW, Status.ACTIVATING),
        ("schedule", Status.ACTIVATING, Status.SCHEDULED),
    ]


def test_reject_requires_a_comment(world: World) -> None:
    c = make(world, Status.IN_REVIEW)
    before = dump(world.store)
    with pytest.raises(InvalidInput) as refused:
        world.svc.reject(world.approver, c.id, c.revision, "   ")
    assert refused.value.problems == {"comment": "say why it is rejected, so the author knows what to fix"}
    assert dump(world.store) == before


def test_reject_returns_to_draft_with_the_comment(world: World) -> None:
    c = make(world, Status.IN_REVIEW)
    world.clock.tick(minutes=5)
    c = world.svc.reject(world.approver, c.id, c.revision, "  The subject is off-brand. ")
    assert (c.status, c.review_requested_by) == (Status.DRAFT, None)
    assert trail(world, c.id)[-1] == (
        "reject", Status.IN_REVIEW, Status.DRAFT, 1, "Ari Approver", T0 + timedelta(minutes=5),
        "The subject is off-brand.",
    )
    edited = world.svc.edit(world.requester, c.id, c.revision, spec(world, name="Fixed subject"))
    assert edited.name == "Fixed subject"


def test_cancel_review_returns_to_draft(world: World) -> None:
    c = make(world, Status.IN_REVIEW)
    c = world.svc.cancel_review(world.requester, c.id, c.revision)
    assert c.status is Status.DRAFT
    assert trail(world, c.id)[-1] == ("cancel_review", Status.IN_REVIEW, Status.DRAFT, 1, "Rex Requester", T0, None)


def test_activate_needs_approval_switched_off(world: World) -> None:
    c = make(world, Status.DRAFT)
    with pytest.raises(IllegalTransition, match="Approval is required in this workspace"):
        world.svc.activate(world.approver, c.id, c.revision)
    world.ws.set_approval_required(world.admin, False)
    assert world.svc.approval_required() is False
    c = world.svc.activate(world.approver, c.id, c.revision)
    assert c.status is Status.LIVE
    assert trail(world, c.id)[-2:] == [
        ("activate", Status.DRAFT, Status.ACTIVATING, 1, "Ari Approver", T0, None),
        ("go_live", Status.ACTIVATING, Status.LIVE, 1, "Ari Approver", T0, None),
    ]


def test_four_eyes_the_requester_cannot_approve(world: World) -> None:
    c = world.svc.create(world.approver, spec(world))
    c = world.svc.request_approval(world.approver, c.id, c.revision)
    before = dump(world.store)
    with pytest.raises(PermissionDenied) as refused:
        world.svc.approve(world.approver, c.id, c.revision)
    assert str(refused.value) == (
        "You requested this approval yourself; another Approver or Administrator must approve it."
    )
    assert dump(world.store) == before
    assert world.svc.approve(world.admin, c.id, c.revision).status is Status.LIVE


def test_stop_records_the_reason(world: World) -> None:
    c = make(world, Status.LIVE)
    world.clock.tick(hours=5)
    c = world.svc.stop(world.approver, c.id, c.revision, " Wrong discount code ")
    assert (c.status, c.ended_at) == (Status.STOPPED, T0 + 5 * H)
    assert trail(world, c.id)[-1] == (
        "stop", Status.LIVE, Status.STOPPED, 1, "Ari Approver", T0 + 5 * H, "Wrong discount code",
    )


@pytest.mark.parametrize("status", [Status.IN_REVIEW, Status.SCHEDULED, Status.LIVE, Status.STOPPED,
                                    Status.COMPLETED, Status.FAILED, Status.ACTIVATING])
def test_archive_from_any_status_but_draft(world: World, status: Status) -> None:
    c = make(world, status)
    archived = world.svc.archive(world.admin, c.id, c.revision)
    assert archived.status is Status.ARCHIVED
    assert archived.spec == c.spec
    assert world.audit(c.id)[-1] == ("archive", status, Status.ARCHIVED)


def test_delete_removes_a_draft_but_keeps_its_audit(world: World) -> None:
    keep = make(world, Status.DRAFT)
    c = world.svc.create(world.manager, spec(world, name="Typo campaign"))
    c = world.svc.edit(world.manager, c.id, c.revision, spec(world, name="Typo campaign"))
    world.clock.tick(hours=1)
    assert world.svc.delete(world.admin, c.id, c.revision) is None
    with pytest.raises(NotFound, match=f"There is no campaign #{c.id}; it may have been deleted."):
        world.svc.get(world.admin, c.id)
    assert world.svc.versions(world.admin, c.id).is_empty()
    assert world.svc.list_frame(world.admin)["id"].to_list() == [keep.id]
    cur = world.store.cursor()
    assert cur.execute("SELECT count(*) FROM campaign_versions WHERE campaign_id = ?", [c.id]).fetchall() == [(0,)]
    assert trail(world, c.id)[-1] == ("delete", Status.DRAFT, None, 1, "Ada Admin", T0 + H, "Typo campaign")
    assert [a for a, _, _ in world.audit(c.id)] == ["create", "edit", "delete"]


def test_duplicate_makes_numbered_copies_and_leaves_the_source(world: World) -> None:
    source = make(world, Status.STOPPED, name="Price promo")
    versions = world.svc.versions(world.admin, source.id)
    first = world.svc.duplicate(world.manager, source.id)
    second = world.svc.duplicate(world.manager, source.id)
    assert (first.name, second.name) == ("Price promo (copy)", "Price promo (copy 2)")
    for copy in (first, second):
        assert (copy.status, copy.version, copy.live_version) == (Status.DRAFT, 1, None)
        assert copy.duplicated_from == source.id
        assert copy.spec.model_dump(exclude={"name"}) == source.spec.model_dump(exclude={"name"})
    assert world.fresh(source.id) == source
    assert world.svc.versions(world.admin, source.id).equals(versions)
    assert trail(world, first.id) == [
        ("duplicate", None, Status.DRAFT, 1, "Mia Manager", T0, f"copy of #{source.id} Price promo")
    ]


def test_duplicate_takes_the_live_version_not_the_open_draft(world: World) -> None:
    c = make(world, Status.LIVE, name="Weekly deals")
    c = world.svc.modify(world.manager, c.id, c.revision)
    world.svc.edit(world.manager, c.id, c.revision, spec(world, name="Weekly deals v2"))
    copy = world.svc.duplicate(world.manager, c.id)
    assert copy.name == "Weekly deals (copy)"


# (status, open draft, action) the lifecycle refuses; the service must refuse them too, writing nothing.
ILLEGAL = [
    (Status.DRAFT, None, Action.ARCHIVE),
    (Status.DRAFT, None, Action.STOP),
    (Status.DRAFT, None, Action.MODIFY),
    (Status.DRAFT, None, Action.APPROVE),
    (Status.DRAFT, None, Action.DISCARD_DRAFT),
    (Status.IN_REVIEW, None, Action.EDIT),
    (Status.IN_REVIEW, None, Action.DELETE),
    (Status.IN_REVIEW, None, Action.REQUEST_APPROVAL),
    (Status.LIVE, None, Action.DELETE),
    (Status.LIVE, None, Action.EDIT),
    (Status.LIVE, None, Action.APPROVE),
    (Status.LIVE, None, Action.REQUEST_APPROVAL),
    (Status.LIVE, DraftState.EDITING, Action.MODIFY),
    (Status.SCHEDULED, DraftState.IN_REVIEW, Action.EDIT),
    (Status.SCHEDULED, DraftState.IN_REVIEW, Action.DISCARD_DRAFT),
    (Status.ACTIVATING, None, Action.STOP),
    (Status.STOPPED, None, Action.EDIT),
    (Status.STOPPED, None, Action.MODIFY),
    (Status.STOPPED, None, Action.STOP),
    (Status.COMPLETED, None, Action.STOP),
    (Status.COMPLETED, None, Action.MODIFY),
    (Status.FAILED, None, Action.APPROVE),
    (Status.ARCHIVED, None, Action.ARCHIVE),
    (Status.ARCHIVED, None, Action.DELETE),
]


def _attempt(w: World, action: Action, campaign_id: int, revision: int) -> object:
    svc, admin = w.svc, w.admin
    match action:
        case Action.EDIT:
            return svc.edit(admin, campaign_id, revision, spec(w))
        case Action.REJECT:
            return svc.reject(admin, campaign_id, revision, "No")
        case Action.STOP:
            return svc.stop(admin, campaign_id, revision, "No")
        case Action.APPROVE:
            return svc.approve(admin, campaign_id, revision)
    return getattr(svc, action.value)(admin, campaign_id, revision)


@pytest.mark.parametrize(("status", "draft", "action"), ILLEGAL)
def test_illegal_actions_are_refused_and_write_nothing(
    world: World, status: Status, draft: DraftState | None, action: Action
) -> None:
    world.approval_off()  # so that activate is not refused for that reason alone
    c = make(world, status, draft)
    before = dump(world.store)
    with pytest.raises(IllegalTransition) as refused:
        _attempt(world, action, c.id, c.revision)
    assert str(refused.value).startswith(f"Cannot {action.label} ")
    assert f" {status.label} campaign" in str(refused.value)
    assert dump(world.store) == before


def test_stopped_campaign_cannot_be_activated_again(world: World) -> None:
    world.approval_off()
    c = make(world, Status.STOPPED)
    with pytest.raises(IllegalTransition, match="A stopped campaign can never be activated again; duplicate it"):
        world.svc.activate(world.approver, c.id, c.revision)


def test_unknown_campaign_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="There is no campaign #404"):
        world.svc.stop(world.admin, 404, 1)


# ---- stale revisions --------------------------------------------------------------------------


def test_stale_edit_names_who_changed_it_and_writes_nothing(world: World) -> None:
    c = world.svc.create(world.requester, spec(world, name="Autumn sale"))
    world.clock.tick(minutes=30)
    world.svc.edit(world.manager, c.id, c.revision, spec(world, name="Autumn sale"))
    before = dump(world.store)
    with pytest.raises(StaleRevision) as refused:
        world.svc.edit(world.requester, c.id, c.revision, spec(world, name="Autumn sale!"))
    assert str(refused.value) == (
        "'Autumn sale' was changed by Mia Manager at 2026-01-05 09:30 UTC after you opened it "
        "(revision 2, yours was 1). Nothing was saved: reload it and try again."
    )
    assert dump(world.store) == before


def test_stale_after_the_scheduler_moved_it(world: World) -> None:
    c = make(world, Status.SCHEDULED, start=T0 + timedelta(days=1))
    world.svc.advance(T0 + timedelta(days=1))
    with pytest.raises(StaleRevision, match=r"was changed by the scheduler at 2026-01-06 09:00 UTC"):
        world.svc.stop(world.approver, c.id, c.revision)
    assert world.fresh(c.id).status is Status.LIVE


@pytest.mark.parametrize("late_action", ["request_approval", "delete", "edit"])
def test_two_sessions_racing_the_second_is_refused(world: World, late_action: str) -> None:
    mine = Campaigns(world.store, FakeClock(T0 + timedelta(minutes=1)))
    theirs = Campaigns(world.store, FakeClock(T0 + timedelta(minutes=2)))
    c = mine.create(world.manager, spec(world, name="Launch"))
    opened_by_them = theirs.get(world.admin, c.id)
    mine.edit(world.manager, c.id, c.revision, spec(world, name="Launch day"))
    before = dump(world.store)
    with pytest.raises(StaleRevision, match=re.escape("'Launch day' was changed by Mia Manager at 2026-01-05 09:01")):
        if late_action == "edit":
            theirs.edit(world.admin, c.id, opened_by_them.revision, spec(world, name="Launch night"))
        else:
            getattr(theirs, late_action)(world.admin, c.id, opened_by_them.revision)
    assert dump(world.store) == before
    assert world.fresh(c.id).name == "Launch day"


def test_an_uncommitted_change_elsewhere_makes_the_action_stale(world: World) -> None:
    c = make(world, Status.LIVE)
    elsewhere = world.store.cursor()
    elsewhere.begin()
    elsewhere.execute("UPDATE campaigns SET revision = revision + 1 WHERE id = ? RETURNING id", [c.id]).fetchall()
    busy = "^Someone else changed the same data at the same moment; nothing was saved"
    with pytest.raises(StaleRevision, match=busy):
        world.svc.stop(world.approver, c.id, c.revision)
    elsewhere.commit()
    c = world.fresh(c.id)
    assert (c.status, c.revision) == (Status.LIVE, 5)
    assert world.audit(c.id)[-1] == ("go_live", Status.ACTIVATING, Status.LIVE)


def test_the_change_and_its_audit_entry_are_one_transaction(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(world, Status.LIVE)
    before = dump(world.store)

    def audit_log_down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("core.campaigns.rows.add_audit", audit_log_down)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        world.svc.stop(world.approver, c.id, c.revision, "Budget")
    with pytest.raises(RuntimeError):
        world.svc.modify(world.manager, c.id, c.revision)
    assert dump(world.store) == before
