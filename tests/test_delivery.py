"""Runs: recipients and exclusions equal the audience's reach, events are reproducible, an
interrupted run resumes without sending twice, the frequency cap holds, slots follow the schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

from core.delivery import FrequencyCap, frequency_cap, latest_slot
from core.enums import Channel, Role, Status
from core.errors import PermissionDenied
from core.models import Campaign
from core.profiles import generate_profiles
from core.store import Store
from core.workspace import Workspace

NOW = datetime(2026, 11, 23, 9, 0)
N = 5_000


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _workspace(clock: Clock) -> tuple[Workspace, Any]:
    ws = Workspace(Store(":memory:"), clock=clock)
    admin = ws.add_user(None, "Ada", "ada@herald.example", Role.ADMINISTRATOR)
    ws.set_approval_required(admin, False)
    ws.replace_profiles(admin, generate_profiles(N, seed=3, now=NOW))
    return ws, admin


def _campaign(ws: Workspace, admin: Any, schedule: dict[str, Any] | None = None, name: str = "News") -> Campaign:
    config = next((c for c in ws.channel_configs() if c.channel is Channel.EMAIL), None) or ws.add_channel_config(
        admin, {"name": "Email", "channel": "email", "sender_address": "news@herald.example", "throttle_per_second": 50}
    )
    audience = next(iter(ws.audiences.list(admin)), None) or ws.audiences.create_from_rule(
        admin, "Most", "", {"match": "all", "rules": [{"attribute": "age", "operator": "gte", "value": 25}]}
    )
    c = ws.campaigns.create(admin, {
        "name": name, "channel_config_id": config.id, "audience_id": audience.id,
        "content": {"subject": "Hi {{profile.first_name|there}}", "body": "News for {{profile.city}}."},
        "schedule": schedule or {"timezone": "UTC"},
    })
    return ws.campaigns.activate(admin, c.id, c.revision)


def _events(ws: Workspace) -> pl.DataFrame:
    return ws.store.cursor().sql(
        "SELECT run_id, profile_id, event::VARCHAR AS event, bounce::VARCHAR AS bounce, reason, occurred_at "
        "FROM delivery_events"
    ).pl().sort(pl.all())


def test_a_run_targets_the_audience_and_excludes_by_reach() -> None:
    clock = Clock()
    ws, admin = _workspace(clock)
    campaign = _campaign(ws, admin)
    [run_id] = ws.delivery.create_due_runs()
    progress = ws.delivery.execute(run_id)
    assert progress.status == "finished" and progress.processed == progress.total
    reach = next(r for r in ws.audiences.reach(admin, campaign.spec.audience_id or 0) if r.channel is Channel.EMAIL)
    sql = ws.store.cursor().execute(
        "SELECT count(*) FILTER (event IN ('excluded', 'sent', 'error')), count(*) FILTER (event = 'excluded'), "
        "count(*) FILTER (event = 'excluded' AND reason = 'no_consent'), "
        "count(*) FILTER (event IN ('sent', 'error')), count(DISTINCT profile_id) FILTER (event IN ('excluded', 'sent', 'error')) "
        "FROM delivery_events WHERE run_id = ?", [run_id]
    ).fetchall()[0]
    targeted, excluded, no_consent, handed, distinct = sql
    assert targeted == distinct == reach.size == progress.total  # one disposition per recipient
    assert excluded == reach.suppressed + reach.no_address + reach.no_consent
    assert no_consent == reach.no_consent and handed == reach.reachable
    followed = ws.store.cursor().execute(
        "SELECT count(*) FROM delivery_events d WHERE run_id = ? AND event IN ('delivered', 'bounced') AND NOT EXISTS "
        "(SELECT 1 FROM delivery_events s WHERE s.run_id = d.run_id AND s.profile_id = d.profile_id AND s.event = 'sent')",
        [run_id],
    ).fetchall()[0][0]
    assert followed == 0  # nothing is delivered or bounced that was not sent
    assert ws.delivery.create_due_runs() == []  # a one-shot campaign runs once


def test_an_interrupted_run_resumes_without_sending_twice() -> None:
    whole_clock, cut_clock = Clock(), Clock()
    whole, admin_w = _workspace(whole_clock)
    cut, admin_c = _workspace(cut_clock)
    _campaign(whole, admin_w)
    _campaign(cut, admin_c)
    [run_w] = whole.delivery.create_due_runs()
    [run_c] = cut.delivery.create_due_runs()
    whole.delivery.execute(run_w, batch_size=700)
    halfway = cut.delivery.execute(run_c, batch_size=700, stop_after_batches=2)
    assert halfway.status == "running" and 0 < halfway.processed < (halfway.total or 0)
    cut_clock.now += timedelta(minutes=5)  # the worker comes back later
    done = cut.delivery.execute(run_c, batch_size=700)
    assert done.status == "finished" and done.processed == done.total
    assert _events(cut).equals(_events(whole))


def test_frequency_cap_excludes_profiles_already_messaged() -> None:
    clock = Clock()
    ws, admin = _workspace(clock)
    ws.set_frequency_cap(admin, Channel.EMAIL, 1, days=7)
    assert frequency_cap(ws.store, Channel.EMAIL) == FrequencyCap(1, 7)
    manager = ws.add_user(admin, "Mia", "mia@herald.example", Role.MANAGER)
    with pytest.raises(PermissionDenied, match="Only Administrator"):
        ws.set_frequency_cap(manager, Channel.EMAIL, None)
    _campaign(ws, admin, name="First")
    [first] = ws.delivery.create_due_runs()
    ws.delivery.execute(first)
    clock.now += timedelta(days=1)
    _campaign(ws, admin, name="Second")
    [second] = ws.delivery.create_due_runs()
    ws.delivery.execute(second)
    capped, sent_first, sent_second = ws.store.cursor().execute(
        "SELECT count(*) FILTER (run_id = ? AND reason = 'frequency_cap'), "
        "count(*) FILTER (run_id = ? AND event = 'sent'), count(*) FILTER (run_id = ? AND event = 'sent') "
        "FROM delivery_events", [second, first, second]
    ).fetchall()[0]
    errors_first = ws.store.cursor().execute(
        "SELECT count(*) FROM delivery_events WHERE run_id = ? AND event = 'error'", [first]).fetchall()[0][0]
    both = ws.store.cursor().execute(
        "SELECT count(*) FROM delivery_events a JOIN delivery_events b USING (profile_id) "
        "WHERE a.run_id = ? AND b.run_id = ? AND a.event = 'sent' AND b.event = 'sent'", [first, second]
    ).fetchall()[0][0]
    assert capped == sent_first > 0
    assert both == 0 and sent_second == errors_first  # only those whose first message failed get one now


@pytest.mark.parametrize(
    ("recurrence", "start", "now", "expected"),
    [
        ("daily", datetime(2026, 11, 1, 9, 0), datetime(2026, 11, 5, 7, 59), datetime(2026, 11, 4, 8, 0)),
        ("daily", datetime(2026, 11, 1, 9, 0), datetime(2026, 11, 5, 8, 0), datetime(2026, 11, 5, 8, 0)),
        ("weekly", datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 20, 12, 0), datetime(2026, 11, 16, 8, 0)),
        ("monthly", datetime(2026, 1, 31, 9, 0), datetime(2026, 3, 1, 0, 0), datetime(2026, 2, 28, 8, 0)),
        ("daily", datetime(2026, 3, 27, 9, 0), datetime(2026, 3, 30, 12, 0), datetime(2026, 3, 30, 7, 0)),
    ],
)
def test_recurring_slots_follow_the_wall_clock(recurrence: str, start: datetime, now: datetime,
                                               expected: datetime) -> None:
    """09:00 Paris is 08:00 UTC in winter and 07:00 UTC after the switch to summer time."""
    clock = Clock()
    clock.now = start - timedelta(days=1)
    ws, admin = _workspace(clock)
    campaign = _campaign(ws, admin, {"timezone": "Europe/Paris", "starts_at": start.isoformat(),
                                     "recurrence": recurrence})
    assert campaign.status is Status.SCHEDULED
    ws.campaigns.advance(now)
    live = ws.campaigns.get(admin, campaign.id)
    assert live.status is Status.LIVE
    assert latest_slot(live, now) == expected


def test_a_past_slot_rolls_to_the_latest_not_every_missed_one() -> None:
    clock = Clock()
    clock.now = datetime(2026, 11, 1, 7, 0)
    ws, admin = _workspace(clock)
    _campaign(ws, admin, {"timezone": "UTC", "starts_at": "2026-11-01T08:00", "recurrence": "daily"})
    ws.campaigns.advance(datetime(2026, 11, 4, 12, 0))
    created = ws.delivery.create_due_runs(datetime(2026, 11, 4, 12, 0))
    due = ws.store.cursor().execute("SELECT due_at FROM runs WHERE id = ?", [created[0]]).fetchall()
    assert len(created) == 1 and due == [(datetime(2026, 11, 4, 8, 0),)]


def test_runs_are_listed_for_anyone_with_a_role() -> None:
    clock = Clock()
    ws, admin = _workspace(clock)
    campaign = _campaign(ws, admin)
    [run_id] = ws.delivery.create_due_runs()
    ws.delivery.execute(run_id)
    viewer = ws.add_user(admin, "Vera", "vera@herald.example", Role.VIEWER)
    runs = ws.delivery.runs(viewer, campaign.id)
    assert runs["id"].to_list() == [run_id] and runs["status"].to_list() == ["finished"]
    assert runs["processed"].to_list() == runs["total"].to_list()
    nobody = ws.add_user(admin, "Nia", "nia@herald.example", None)
    with pytest.raises(PermissionDenied):
        ws.delivery.runs(nobody, campaign.id)


def test_a_failed_run_fails_the_campaign_with_its_reason() -> None:
    clock = Clock()
    ws, admin = _workspace(clock)
    campaign = _campaign(ws, admin)
    [run_id] = ws.delivery.create_due_runs()
    with ws.store.transaction() as cur:  # the audience disappears between scheduling and sending
        cur.execute("DELETE FROM audiences")
    progress = ws.delivery.execute(run_id)
    assert progress.status == "failed"
    failed = ws.campaigns.get(admin, campaign.id)
    assert failed.status is Status.FAILED
    assert failed.failure_reason is not None and f"Run {run_id} failed" in failed.failure_reason
    trail = ws.campaigns.audit_trail(admin, campaign.id)
    assert (trail[-1].action, trail[-1].from_status, trail[-1].to_status) == ("fail", Status.LIVE, Status.FAILED)
