"""Send times: when a schedule sends, in UTC. One generator serves the scheduler (what is due),
the wizard (the next sends) and the calendar (what falls in a week or month), so the three can
never disagree about a recurring campaign."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.enums import Recurrence
from core.models import Schedule, to_utc

# A slot a little before going live still counts: activation and the slot land in the same minute.
GRACE = timedelta(minutes=1)


def wall_time(utc: datetime, timezone: str) -> datetime:
    """The wall-clock time in `timezone` of a naive UTC moment."""
    return utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def wall_slots(start: datetime, recurrence: Recurrence) -> Iterator[datetime]:
    """Wall-clock slots from `start`: daily, weekly, or monthly on the same day (clamped)."""
    n = 0
    while True:
        if recurrence is Recurrence.DAILY:
            yield start + timedelta(days=n)
        elif recurrence is Recurrence.WEEKLY:
            yield start + timedelta(weeks=n)
        else:
            month = start.month - 1 + n
            year, month = start.year + month // 12, month % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            yield start.replace(year=year, month=month, day=day)
        n += 1


def send_times(schedule: Schedule | None, live_from: datetime, until: datetime,
               since: datetime | None = None) -> Iterator[datetime]:
    """Every send (UTC) of a campaign live from `live_from`, up to `until` and the schedule's end.

    A one-shot sends once, when it goes live. A recurring schedule sends on its wall-clock slots
    (from `starts_at`, or from the moment it went live) in its own time zone, so 09:00 stays 09:00
    across daylight-saving changes. `since` skips the earlier ones without changing the slots."""
    if live_from > until:
        return
    if schedule is None or not schedule.recurring:
        if since is None or live_from >= since:
            yield live_from
        return
    start = schedule.starts_at or wall_time(live_from, schedule.timezone)
    end = schedule.end_utc()
    for wall in wall_slots(start, schedule.recurrence):
        moment = to_utc(wall, schedule.timezone)
        assert moment is not None
        if moment > until or (end is not None and moment > end):
            return
        if moment >= live_from - GRACE and (since is None or moment >= since):
            yield moment
