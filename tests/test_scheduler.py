"""advance(now): the time-driven status changes, at their boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.campaigns import Transition
from core.enums import CampaignType, Recurrence, Status
from core.errors import IllegalTransition
from core.lifecycle import DraftState
from factories import T0, World, dump, make, spec, world  # noqa: F401  (world is a fixture)

SECOND, DAY = timedelta(seconds=1), timedelta(days=1)
API = CampaignType.API_TRIGGERED


def scheduler_trail(w: World, campaign_id: int) -> list[tuple]:
    return [
        (a.action, a.from_status, a.to_status, a.at)
        for a in w.svc.audit_trail(w.admin, campaign_id)
        if a.actor_name == "Herald scheduler"
    ]


def test_scheduled_goes_live_exactly_at_start(world: World) -> None:
    start = T0 + 2 * DAY
    c = make(world, Status.SCHEDULED, start=start)
    assert world.svc.advance(start - SECOND) == []
    assert world.fresh(c.id).status is Status.SCHEDULED
    assert world.svc.advance(start) == [Transition(c.id, Status.SCHEDULED, Status.LIVE, start)]
    c = world.fresh(c.id)
    assert (c.status, c.live_at, c.updated_by) == (Status.LIVE, start, None)
    assert scheduler_trail(world, c.id) == [("start", Status.SCHEDULED, Status.LIVE, start)]


def test_one_shot_completes_exactly_three_days_after_going_live(world: World) -> None:
    c = make(world, Status.LIVE)
    assert c.live_at == T0
    assert world.svc.advance(T0 + 3 * DAY - SECOND) == []
    assert world.svc.advance(T0 + 3 * DAY) == [Transition(c.id, Status.LIVE, Status.COMPLETED, T0 + 3 * DAY)]
    c = world.fresh(c.id)
    assert (c.status, c.ended_at) == (Status.COMPLETED, T0 + 3 * DAY)
    assert scheduler_trail(world, c.id) == [("complete", Status.LIVE, Status.COMPLETED, T0 + 3 * DAY)]


@pytest.mark.parametrize("type_", [CampaignType.SCHEDULED, API])
def test_a_campaign_with_an_end_completes_at_the_end(world: World, type_: CampaignType) -> None:
    start, end = T0 + DAY, T0 + 15 * DAY
    recurrence = Recurrence.DAILY if type_ is CampaignType.SCHEDULED else Recurrence.NONE
    c = make(world, Status.SCHEDULED, start=start, end=end, recurrence=recurrence, type=type_)
    assert [t.to_status for t in world.svc.advance(start)] == [Status.LIVE]
    assert world.svc.advance(start + 3 * DAY) == []  # not a one-shot: the 3-day rule does not apply
    assert world.svc.advance(end - SECOND) == []
    assert world.svc.advance(end) == [Transition(c.id, Status.LIVE, Status.COMPLETED, end)]


@pytest.mark.parametrize(
    "kw",
    [{"recurrence": Recurrence.WEEKLY, "start": T0 + DAY}, {"type": API, "audience_id": None}],
    ids=["recurring-without-end", "api-triggered-without-end"],
)
def test_without_an_end_it_stays_live_until_stopped(world: World, kw: dict) -> None:
    c = make(world, Status.LIVE if "start" not in kw else Status.SCHEDULED, **kw)
    world.svc.advance(T0 + DAY)
    assert world.fresh(c.id).status is Status.LIVE
    assert world.svc.advance(T0 + 3650 * DAY) == []
    assert world.fresh(c.id).status is Status.LIVE


def test_a_late_scheduler_does_both_steps_at_their_due_times(world: World) -> None:
    start = T0 + DAY
    c = make(world, Status.SCHEDULED, start=start)
    other = make(world, Status.LIVE)
    done = world.svc.advance(T0 + 30 * DAY)
    assert done == [
        Transition(c.id, Status.SCHEDULED, Status.LIVE, start),
        Transition(c.id, Status.LIVE, Status.COMPLETED, start + 3 * DAY),
        Transition(other.id, Status.LIVE, Status.COMPLETED, T0 + 3 * DAY),
    ]
    assert scheduler_trail(world, c.id) == [
        ("start", Status.SCHEDULED, Status.LIVE, start),
        ("complete", Status.LIVE, Status.COMPLETED, start + 3 * DAY),
    ]
    c = world.fresh(c.id)
    assert (c.status, c.live_at) == (Status.COMPLETED, start)
    assert c.ended_at == c.updated_at == start + 3 * DAY

    before = dump(world.store)
    assert world.svc.advance(T0 + 30 * DAY) == []
    assert world.svc.advance(T0 + 60 * DAY) == []
    assert dump(world.store) == before


def test_advance_without_a_time_uses_the_clock(world: World) -> None:
    c = make(world, Status.LIVE)
    world.clock.tick(days=3)
    assert world.svc.advance() == [Transition(c.id, Status.LIVE, Status.COMPLETED, T0 + 3 * DAY)]


@pytest.mark.parametrize(("start", "target"), [(None, Status.LIVE), (T0 + 5 * DAY, Status.SCHEDULED)])
def test_advance_finishes_a_deferred_activation(world: World, start: datetime | None, target: Status) -> None:
    c = make(world, Status.ACTIVATING, start=start)
    assert (c.status, c.live_version) == (Status.ACTIVATING, None)
    now = T0 + timedelta(minutes=2)
    assert world.svc.advance(now) == [Transition(c.id, Status.ACTIVATING, target, now)]
    c = world.fresh(c.id)
    assert (c.status, c.live_version, c.draft_version) == (target, 1, None)
    action = "go_live" if target is Status.LIVE else "schedule"
    assert scheduler_trail(world, c.id) == [(action, Status.ACTIVATING, target, now)]
    assert world.svc.versions(world.admin, c.id)["activated_at"].to_list() == [now]


def test_deferred_activation_fails_when_its_configuration_was_disabled(world: World) -> None:
    c = make(world, Status.ACTIVATING)
    world.ws.set_channel_config_enabled(world.admin, c.spec.channel_config_id or 0, False)
    now = T0 + timedelta(minutes=5)
    assert world.svc.advance(now) == [Transition(c.id, Status.ACTIVATING, Status.FAILED, now)]
    reason = "'Email · main' is disabled; an Administrator can enable it under Channel configurations"
    c = world.fresh(c.id)
    assert (c.status, c.failure_reason, c.live_version) == (Status.FAILED, reason, None)
    entry = world.svc.audit_trail(world.admin, c.id)[-1]
    assert (entry.action, entry.actor_name, entry.detail) == ("fail", "Herald scheduler", reason)
    assert world.svc.advance(now + 10 * DAY) == []


@pytest.mark.parametrize(
    ("wall", "utc"),
    [
        (datetime(2026, 1, 15, 9, 0), datetime(2026, 1, 15, 8, 0)),  # CET, UTC+1
        (datetime(2026, 7, 15, 9, 0), datetime(2026, 7, 15, 7, 0)),  # CEST, UTC+2
    ],
    ids=["winter", "summer"],
)
def test_paris_nine_o_clock_starts_at_the_right_utc_time(world: World, wall: datetime, utc: datetime) -> None:
    c = make(world, Status.SCHEDULED, start=wall, timezone="Europe/Paris")
    assert (c.spec.schedule.starts_at, c.spec.schedule.start_utc()) == (wall, utc)
    frame = world.svc.list_frame(world.admin)
    assert frame.filter(frame["id"] == c.id)["starts_at_utc"].to_list() == [utc]
    assert world.svc.advance(utc - SECOND) == []
    assert world.svc.advance(utc) == [Transition(c.id, Status.SCHEDULED, Status.LIVE, utc)]


@pytest.mark.parametrize("draft", list(DraftState))
def test_going_live_keeps_the_open_draft_as_it_was(world: World, draft: DraftState) -> None:
    start = T0 + DAY
    c = make(world, Status.SCHEDULED, draft, start=start)
    world.svc.advance(start)
    c = world.fresh(c.id)
    assert (c.status, c.has_open_draft, c.draft_in_review) == (Status.LIVE, True, draft is DraftState.IN_REVIEW)
    frame = world.svc.list_frame(world.admin)
    assert frame.filter(frame["id"] == c.id)["draft_state"].to_list() == [draft.value]
    if draft is DraftState.IN_REVIEW:  # still locked for review
        with pytest.raises(IllegalTransition):
            world.svc.edit(world.requester, c.id, c.revision, spec(world, name=c.name))


def test_a_campaign_busy_elsewhere_is_left_for_the_next_pass(world: World) -> None:
    start = T0 + DAY
    c = make(world, Status.SCHEDULED, start=start)
    elsewhere = world.store.cursor()
    elsewhere.begin()
    elsewhere.execute("UPDATE campaigns SET updated_at = updated_at WHERE id = ? RETURNING id", [c.id]).fetchall()
    assert world.svc.advance(start) == []  # no error: another writer holds it
    elsewhere.rollback()
    assert world.svc.advance(start) == [Transition(c.id, Status.SCHEDULED, Status.LIVE, start)]
