"""The calendar of Scheduled and Live campaigns: every send that falls in a week or a month,
recurring ones included, computed from the same slots the scheduler sends on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import polars as pl

from core.enums import CampaignType, Status
from core.models import Campaign
from core.slots import send_times

CALENDAR_STATUSES: tuple[Status, ...] = (Status.SCHEDULED, Status.LIVE)
SCHEMA = {"campaign_id": pl.Int64, "name": pl.String, "status": pl.String, "channel": pl.String,
          "recurrence": pl.String, "at": pl.Datetime("us")}


def live_from(campaign: Campaign) -> datetime | None:
    """When the campaign went (or will go) live: the first moment it can send."""
    if campaign.status is Status.LIVE:
        return campaign.live_at
    schedule = campaign.spec.schedule
    return schedule.start_utc() if schedule else None


def sends(campaigns: Iterable[Campaign], start: datetime, end: datetime) -> pl.DataFrame:
    """One row per send in [start, end) (UTC) of each Scheduled or Live scheduled campaign, by time.

    API-triggered campaigns send when called, so they have no place on a calendar."""
    rows: list[dict[str, object]] = []
    for campaign in campaigns:
        first = live_from(campaign)
        if campaign.status not in CALENDAR_STATUSES or campaign.spec.type is not CampaignType.SCHEDULED or first is None:
            continue
        schedule = campaign.spec.schedule
        recurrence = schedule.recurrence.value if schedule else "none"
        for at in send_times(schedule, first, end - timedelta(microseconds=1), since=start):
            rows.append({"campaign_id": campaign.id, "name": campaign.name, "status": campaign.status.value,
                         "channel": campaign.spec.channel.value, "recurrence": recurrence, "at": at})
    return pl.DataFrame(rows, schema=SCHEMA).sort("at", "campaign_id")


def week_of(day: date) -> list[date]:
    """Monday to Sunday of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def month_weeks(day: date) -> list[list[date]]:
    """The Monday-first weeks that cover the month of `day` (4 to 6 of them, edges spill over)."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    weeks, monday = [], first - timedelta(days=first.weekday())
    while monday < following:
        weeks.append(week_of(monday))
        monday += timedelta(days=7)
    return weeks


def span(days: list[date]) -> tuple[datetime, datetime]:
    """The UTC interval [first day 00:00, day after the last 00:00)."""
    return datetime.combine(days[0], time()), datetime.combine(days[-1] + timedelta(days=1), time())


def shift(day: date, view: str, steps: int) -> date:
    """The same place one week or one month earlier/later (month days clamp, 31 Jan -> 28 Feb)."""
    if view == "week":
        return day + timedelta(weeks=steps)
    month = day.month - 1 + steps
    year, month = day.year + month // 12, month % 12 + 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))
