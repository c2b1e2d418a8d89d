"""What the creation wizard needs from core: prerequisites, per-step checks, the schedule's next
occurrences and the send's duration. The page only renders these; every rule lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from datetime import datetime, timedelta
from typing import Any

from core import roles, templates
from core.slots import send_times
from core.enums import Action, CampaignType
from core.errors import InvalidInput
from core.models import CampaignSpec, Schedule, User, parse
from core.workspace import Workspace

STEPS: tuple[str, ...] = ("Type", "Properties", "Channel", "Audience", "Content", "Schedule", "Review")
# Which spec fields each step edits: a problem with a field is shown on that step.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "Type": ("type", "purpose"),
    "Properties": ("name", "description", "tags"),
    "Channel": ("channel", "channel_config_id"),
    "Audience": ("audience_id",),
    "Content": ("content",),
    "Schedule": ("schedule",),
}


@dataclass(frozen=True)
class Missing:
    """A prerequisite that is missing, and where a person fixes it."""

    what: str
    where: str
    page: str | None = None  # the app page that fixes it, by name ("audiences")


def prerequisites(ws: Workspace, actor: User) -> list[Missing]:
    """Everything that stops this person from creating a campaign at all (empty: go ahead)."""
    user = next((u for u in ws.users() if u.id == actor.id), None)
    role = user.role if user else None
    missing = []
    if not roles.may(role, Action.CREATE):
        label = role.label if role else "no role"
        missing.append(Missing(f"Your role ({label}) cannot create campaigns.",
                               "Ask an Administrator for the Manager role."))
        return missing
    if not [c for c in ws.channel_configs() if c.enabled]:
        missing.append(Missing("There is no enabled channel configuration.",
                               "An Administrator creates one (sender, provider, throttle) for the channel.", "admin"))
    if not ws.audiences.list(actor):
        missing.append(Missing("There is no audience yet.", "Build one from rules or upload a list.",
                               "audiences"))
    return missing


def step_of(field: str) -> str:
    head = field.split(".")[0]
    return next((step for step, fields in STEP_FIELDS.items() if head in fields), "Review")


def check_step(step: str, data: Mapping[str, Any]) -> dict[str, str]:
    """Problems with the fields of `step` (the other steps' fields are not judged yet)."""
    fields = STEP_FIELDS.get(step, ())
    problems: dict[str, str] = {}
    try:
        parse(CampaignSpec, {k: v for k, v in data.items() if v is not None})
    except InvalidInput as exc:
        problems = {f: why for f, why in exc.problems.items() if f.split(".")[0] in fields}
    if step == "Properties" and not str(data.get("name") or "").strip():
        problems["name"] = "give the campaign a name"
    if step == "Channel" and data.get("channel_config_id") is None:
        problems.setdefault("channel_config_id", "choose a channel configuration")
    if step == "Audience" and data.get("type") != CampaignType.API_TRIGGERED.value and data.get("audience_id") is None:
        problems.setdefault("audience_id", "choose an audience")
    if step == "Content":
        content = data.get("content") or {}
        if not content.get("body"):
            problems["content.body"] = "write the message"
        if not content.get("subject") and data.get("channel") in ("email", "push"):
            noun = "an email needs a subject" if data.get("channel") == "email" else "a push notification needs a title"
            problems.setdefault("content.subject", noun)
        try:
            templates.validate_content(content.get("subject"), content.get("body") or "",
                                       allow_context=data.get("type") == CampaignType.API_TRIGGERED.value)
        except InvalidInput as exc:
            problems.update(exc.problems)
    return problems


def next_occurrences(schedule: Schedule, now: datetime, count: int = 5) -> list[datetime]:
    """The next sends (UTC) if activated `now`: one for a one-shot, none once the end has passed."""
    live_from = max(schedule.start_utc() or now, now)
    horizon = now + timedelta(days=366 * 2)
    return list(islice(send_times(schedule, live_from if not schedule.recurring else now, horizon, since=now), count))


def send_duration(reachable: int, per_second: int) -> timedelta:
    """How long handing `reachable` messages over takes at the channel's throttle."""
    return timedelta(seconds=reachable / max(1, per_second))


def duration_words(span: timedelta) -> str:
    """A send's duration as people say it: "under a second", "4 s", "12 min", "2 h 5 min", "3 days 4 h"."""
    seconds = span.total_seconds()
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"
