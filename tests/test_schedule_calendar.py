"""The calendar: every send of Scheduled and Live campaigns in a week or month, recurring included."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.enums import CampaignType, Channel, Recurrence, Status
from core.errors import PermissionDenied
from core.schedule_calendar import month_weeks, shift, span, week_of
from factories import T0, World, make, world  # noqa: F401 (world is a fixture)

import pytest


def test_week_and_month_grids() -> None:
    assert week_of(date(2026, 11, 25)) == [date(2026, 11, 23) + timedelta(days=i) for i in range(7)]
    weeks = month_weeks(date(2026, 11, 23))
    assert weeks[0][0] == date(2026, 10, 26) and weeks[-1][-1] == date(2026, 12, 6) and len(weeks) == 6
    assert len(month_weeks(date(2027, 2, 1))) == 4  # February 2027 starts on a Monday and has 28 days
    assert span(week_of(date(2026, 11, 23))) == (datetime(2026, 11, 23), datetime(2026, 11, 30))
    assert shift(date(2026, 1, 31), "month", 1) == date(2026, 2, 28)
    assert shift(date(2026, 1, 15), "month", -1) == date(2025, 12, 15)
    assert shift(date(2026, 12, 15), "month", 1) == date(2027, 1, 15)
    assert shift(date(2026, 11, 23), "week", -2) == date(2026, 11, 9)


def test_sends_in_a_month_include_future_recurrences(world: World) -> None:
    weekly = make(world, Status.SCHEDULED, start=T0 + timedelta(days=2, hours=1), recurrence=Recurrence.WEEKLY)
    once = make(world, Status.SCHEDULED, start=T0 + timedelta(days=10))
    live_daily = make(world, Status.LIVE, recurrence=Recurrence.DAILY,
                      end=T0 + timedelta(days=3, hours=23))  # goes live now, sends at 09:00 daily until the end
    make(world, Status.DRAFT, start=T0 + timedelta(days=1))
    make(world, Status.LIVE, type=CampaignType.API_TRIGGERED, audience_id=None, channel=Channel.WEBHOOK)
    start, end = span([d for week in month_weeks(T0.date()) for d in week])
    sends = world.svc.calendar(world.viewer, start, end)
    got = {(r["campaign_id"], r["at"]) for r in sends.to_dicts()}
    first_weekly = T0 + timedelta(days=2, hours=1)
    expected = {(weekly.id, first_weekly + timedelta(weeks=n)) for n in range(6) if first_weekly + timedelta(weeks=n) < end}
    expected |= {(once.id, T0 + timedelta(days=10))}
    expected |= {(live_daily.id, T0 + timedelta(days=n)) for n in range(4)}
    assert got == expected
    assert sends["at"].is_sorted()
    assert set(sends["status"]) == {"scheduled", "live"}


def test_a_week_window_keeps_only_its_sends(world: World) -> None:
    daily = make(world, Status.SCHEDULED, start=T0 + timedelta(days=1), recurrence=Recurrence.DAILY)
    start, end = span(week_of((T0 + timedelta(days=7)).date()))  # the following Monday to Sunday
    sends = world.svc.calendar(world.manager, start, end)
    assert sends["at"].to_list() == [start + timedelta(days=n, hours=9) for n in range(7)]
    assert set(sends["campaign_id"]) == {daily.id}


def test_someone_without_a_role_cannot_read_the_calendar(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.svc.calendar(world.nobody, T0, T0 + timedelta(days=7))
