"""core.wizard: what the wizard page asks core — prerequisites, per-step checks, next sends, ETA."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.enums import Recurrence, Role
from core.models import Schedule
from core.store import Store
from core.wizard import STEP_FIELDS, STEPS, check_step, duration_words, next_occurrences, prerequisites, send_duration, step_of
from core.workspace import Workspace
from factories import T0, World, spec, world  # noqa: F401 (world is a fixture)


def test_prerequisites_name_what_is_missing_and_where(world: World) -> None:
    assert prerequisites(world.ws, world.manager) == []
    [viewer] = prerequisites(world.ws, world.viewer)
    assert viewer.what == "Your role (Viewer) cannot create campaigns."
    [nobody] = prerequisites(world.ws, world.nobody)
    assert "no role" in nobody.what


def test_an_empty_workspace_needs_a_configuration_and_an_audience() -> None:
    ws = Workspace(Store(":memory:"), clock=lambda: T0)
    admin = ws.add_user(None, "Ada", "ada@herald.example", Role.ADMINISTRATOR)
    missing = prerequisites(ws, admin)
    assert [m.what for m in missing] == ["There is no enabled channel configuration.", "There is no audience yet."]
    assert [m.page for m in missing] == ["admin", "audiences"]


def test_each_step_judges_only_its_own_fields(world: World) -> None:
    blank = {"type": "scheduled", "purpose": "marketing", "channel": "email", "name": "", "tags": [],
             "content": {"subject": "", "body": ""}, "schedule": {"timezone": "UTC", "recurrence": "none"}}
    assert check_step("Type", blank) == {}
    assert check_step("Properties", blank) == {"name": "give the campaign a name"}
    assert check_step("Channel", blank) == {"channel_config_id": "choose a channel configuration"}
    assert check_step("Audience", blank) == {"audience_id": "choose an audience"}
    assert check_step("Audience", {**blank, "type": "api_triggered"}) == {}
    assert check_step("Content", blank) == {"content.body": "write the message",
                                           "content.subject": "an email needs a subject"}
    push = check_step("Content", {**blank, "channel": "push", "content": {"subject": "", "body": "x"}})
    assert push == {"content.subject": "a push notification needs a title"}
    assert check_step("Content", {**blank, "channel": "sms", "content": {"subject": "", "body": "Hi"}}) == {}
    bad_token = check_step("Content", {**blank, "content": {"subject": "Hi", "body": "{{profile.shoe}}"}})
    assert "unknown profile attribute 'shoe'" in bad_token["content.body"]
    context = {**blank, "content": {"subject": "Hi", "body": "{{context.order}}"}}
    assert "content.body" in check_step("Content", context)
    assert check_step("Content", {**context, "type": "api_triggered"}) == {}
    bad_zone = check_step("Schedule", {**blank, "schedule": {"timezone": "Mars/Olympus", "recurrence": "none"}})
    assert list(bad_zone) == ["schedule.timezone"]
    assert check_step("Properties", spec(world)) == {}


def test_problems_point_to_the_step_that_fixes_them() -> None:
    assert step_of("content.subject") == "Content"
    assert step_of("schedule.ends_at") == "Schedule"
    assert step_of("channel_config_id") == "Channel"
    assert step_of("something_else") == "Review"
    assert set(STEP_FIELDS) == set(STEPS) - {"Review"}


def test_next_occurrences() -> None:
    now = datetime(2026, 3, 25, 12, 0)
    assert next_occurrences(Schedule(timezone="UTC"), now) == [now]
    later = Schedule(timezone="Europe/Paris", starts_at=datetime(2026, 4, 1, 9, 0))
    assert next_occurrences(later, now) == [datetime(2026, 4, 1, 7, 0)]
    weekly = Schedule(timezone="Europe/Paris", starts_at=datetime(2026, 3, 18, 9, 0), recurrence=Recurrence.WEEKLY)
    # 09:00 in Paris is 08:00 UTC before the clocks change on 29 March and 07:00 after.
    assert next_occurrences(weekly, now, count=3) == [
        datetime(2026, 4, 1, 7, 0), datetime(2026, 4, 8, 7, 0), datetime(2026, 4, 15, 7, 0)]
    ending = Schedule(timezone="UTC", starts_at=datetime(2026, 3, 26, 9, 0), recurrence=Recurrence.DAILY,
                      ends_at=datetime(2026, 3, 28, 23, 59))
    assert next_occurrences(ending, now) == [datetime(2026, 3, 26, 9), datetime(2026, 3, 27, 9), datetime(2026, 3, 28, 9)]
    monthly = Schedule(timezone="UTC", starts_at=datetime(2026, 1, 31, 8, 0), recurrence=Recurrence.MONTHLY)
    assert next_occurrences(monthly, now, count=2) == [datetime(2026, 3, 31, 8), datetime(2026, 4, 30, 8)]
    over = Schedule(timezone="UTC", starts_at=datetime(2026, 1, 1, 8), recurrence=Recurrence.DAILY,
                    ends_at=datetime(2026, 2, 1))
    assert next_occurrences(over, now) == []


@pytest.mark.parametrize(("reachable", "rate", "seconds"), [(0, 10, 0), (1000, 10, 100), (5, 0, 5), (90_000, 50, 1800)])
def test_send_duration(reachable: int, rate: int, seconds: float) -> None:
    assert send_duration(reachable, rate) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("seconds", "words"), [(0.2, "under a second"), (4.05, "4 s"), (59, "59 s"), (61, "1 min"),
                                                (3600, "1 h"), (3900, "1 h 5 min"), (86400 * 2 + 7200, "2 days 2 h")])
def test_duration_words(seconds: float, words: str) -> None:
    assert duration_words(timedelta(seconds=seconds)) == words
