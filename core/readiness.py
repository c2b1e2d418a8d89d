"""What blocks a campaign version from going for approval or live: every problem, by field."""

from __future__ import annotations

from datetime import datetime

from core.enums import CampaignType
from core.lifecycle import article
from core.models import Audience, CampaignSpec, ChannelConfig


def blocking_problems(
    spec: CampaignSpec, config: ChannelConfig | None, audience: Audience | None, now: datetime
) -> dict[str, str]:
    """Problems keyed by the field to fix. `config`/`audience` are what the spec's ids resolve to."""
    problems: dict[str, str] = {}
    if spec.channel_config_id is None:
        label = spec.channel.label
        problems["channel_config_id"] = f"choose {article(label)} {label} channel configuration"
    elif config is None:
        problems["channel_config_id"] = f"channel configuration {spec.channel_config_id} no longer exists"
    elif config.channel is not spec.channel:
        problems["channel_config_id"] = f"{config.name!r} is for {config.channel.label}, not {spec.channel.label}"
    elif not config.enabled:
        problems["channel_config_id"] = (
            f"{config.name!r} is disabled; an Administrator can enable it under Channel configurations"
        )
    if spec.type is CampaignType.SCHEDULED:
        if spec.audience_id is None:
            problems["audience_id"] = "choose an audience"
        elif audience is None:
            problems["audience_id"] = f"audience {spec.audience_id} no longer exists"
    if spec.content is None:
        problems["content"] = "write the message"
    schedule = spec.schedule
    if schedule is None:
        problems["schedule"] = "choose when to send"
        return problems
    start, end = schedule.start_utc(), schedule.end_utc()
    if start is not None and start < now and not schedule.recurring and spec.type is CampaignType.SCHEDULED:
        problems["schedule.starts_at"] = (
            f"the start time {schedule.starts_at:%Y-%m-%d %H:%M} ({schedule.timezone}) has passed; "
            "choose a later time or send on activation"
        )
    if end is not None and end <= now:
        problems["schedule.ends_at"] = f"the end {schedule.ends_at:%Y-%m-%d %H:%M} ({schedule.timezone}) has passed"
    return problems
