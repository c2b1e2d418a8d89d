"""Pydantic models that guard every boundary: what a person may type, and what the store gives back."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    BaseModel,
    PlainSerializer,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from core.enums import (
    PROVIDER_CHANNELS,
    CampaignType,
    Channel,
    Provider,
    Purpose,
    Recurrence,
    Role,
    Status,
)
from core.errors import InvalidInput

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9]{3,15}$")
SMS_MAX_CHARS = 1600
PUSH_MAX_CHARS = 1000


M = TypeVar("M", bound=BaseModel)


def _utc_text(moment: datetime) -> str:
    """A naive UTC time (what core keeps) as RFC 3339 text with its zone: 2026-11-23T09:00:00Z."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


# A naive UTC datetime that JSON shows with its "Z", as OpenAPI's date-time format wants (the REST API).
UtcTime = Annotated[datetime, PlainSerializer(_utc_text, return_type=str, when_used="json")]


def parse(model: type[M], data: Any) -> M:
    """Validate `data` as `model`, turning pydantic's errors into one InvalidInput naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def invalid_input(exc: ValidationError) -> InvalidInput:
    problems: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        if message.startswith(_SUB):
            sub, _, message = message[len(_SUB) :].partition(_SUB)
            loc.append(sub)
        field = ".".join(loc) or "input"
        problems.setdefault(field, message)
    return InvalidInput(problems)


_SUB = "\u241f"  # marks "this problem is about sub-field X" inside a validator's message


def sub_field(field: str, message: str) -> ValueError:
    """A cross-field problem reported against the precise sub-field (e.g. content.subject)."""
    return ValueError(f"{_SUB}{field}{_SUB}{message}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Content(Strict):
    """What the recipient gets. `subject` is the email subject or the push title."""

    subject: str | None = Field(default=None, max_length=250)
    body: str = Field(min_length=1, max_length=100_000)

    @field_validator("subject")
    @classmethod
    def _blank_subject_is_none(cls, value: str | None) -> str | None:
        return value or None


class Schedule(Strict):
    """When a campaign sends. Times are wall-clock times in `timezone`; None start means 'on activation'."""

    timezone: str = "UTC"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurrence: Recurrence = Recurrence.NONE

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in _timezones():
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _wall_clock(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value.replace(second=0, microsecond=0) if value else None
        zone = ZoneInfo(info.data.get("timezone", "UTC"))
        return value.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)

    @field_validator("ends_at")
    @classmethod
    def _end_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("starts_at")
        if value is not None and start is not None and value <= start:
            raise ValueError(f"end ({value:%Y-%m-%d %H:%M}) must be after start ({start:%Y-%m-%d %H:%M})")
        return value

    @property
    def recurring(self) -> bool:
        return self.recurrence is not Recurrence.NONE

    def start_utc(self) -> datetime | None:
        return to_utc(self.starts_at, self.timezone)

    def end_utc(self) -> datetime | None:
        return to_utc(self.ends_at, self.timezone)


def to_utc(wall: datetime | None, timezone: str) -> datetime | None:
    """Naive wall-clock time in `timezone` -> naive UTC, the one form the store keeps."""
    if wall is None:
        return None
    return wall.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None)


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
        _TZ_CACHE.add("UTC")
    return _TZ_CACHE


class CampaignSpec(Strict):
    """Everything a person edits in one campaign version. Partial specs are fine for a Draft."""

    name: Name
    description: str = Field(default="", max_length=2000)
    tags: tuple[str, ...] = ()
    type: CampaignType = CampaignType.SCHEDULED
    purpose: Purpose = Purpose.MARKETING
    channel: Channel = Channel.EMAIL
    channel_config_id: int | None = None
    audience_id: int | None = None
    content: Content | None = None
    schedule: Schedule | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _normalise_tags(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = value.split(",")
        tags: list[str] = []
        for raw in value or ():
            tag = str(raw).strip().lower()
            if not tag:
                continue
            if len(tag) > 40:
                raise ValueError(f"tag {tag[:20]!r}… is longer than 40 characters")
            if tag not in tags:
                tags.append(tag)
        if len(tags) > 20:
            raise ValueError("at most 20 tags")
        return tuple(tags)

    @field_validator("content")
    @classmethod
    def _content_fits_channel(cls, value: Content | None, info: ValidationInfo) -> Content | None:
        channel = info.data.get("channel")
        if value is None or channel is None:
            return value
        if channel is Channel.EMAIL and not value.subject:
            raise sub_field("subject", "an email needs a subject")
        if channel is Channel.PUSH and not value.subject:
            raise sub_field("subject", "a push notification needs a title")
        if channel is Channel.SMS and len(value.body) > SMS_MAX_CHARS:
            raise sub_field("body", f"an SMS body is at most {SMS_MAX_CHARS} characters (this one has {len(value.body)})")
        if channel is Channel.PUSH and len(value.body) > PUSH_MAX_CHARS:
            raise sub_field("body", f"a push body is at most {PUSH_MAX_CHARS} characters (this one has {len(value.body)})")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_fits_type(cls, value: Schedule | None, info: ValidationInfo) -> Schedule | None:
        if value is not None and info.data.get("type") is CampaignType.API_TRIGGERED and value.recurring:
            raise sub_field("recurrence", "an API-triggered campaign sends when called; it cannot recur")
        return value


class Campaign(Strict):
    """A campaign as the store holds it, with the spec of the version in effect and any open draft."""

    id: int
    status: Status
    revision: int
    spec: CampaignSpec
    version: int
    live_version: int | None
    draft_version: int | None
    draft_spec: CampaignSpec | None = None
    draft_in_review: bool = False
    review_requested_by: int | None = None
    created_at: datetime
    created_by: int
    updated_at: datetime
    updated_by: int | None
    activated_at: datetime | None = None
    live_at: datetime | None = None
    ended_at: datetime | None = None
    failure_reason: str | None = None
    duplicated_from: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def has_open_draft(self) -> bool:
        """A Live/Scheduled campaign with a new version not yet activated."""
        return self.status in (Status.LIVE, Status.SCHEDULED) and self.draft_version is not None

    @property
    def editable_spec(self) -> CampaignSpec:
        return self.draft_spec if self.draft_spec is not None else self.spec


class ChannelConfig(Strict):
    """A per-channel preset a campaign sends through (sender, provider, throttle, tracking)."""

    id: int | None = None
    name: Name
    channel: Channel
    provider: Provider = Provider.SANDBOX
    sender_name: str = Field(default="", max_length=120)
    sender_address: str = Field(min_length=1, max_length=254)
    reply_to: str | None = None
    throttle_per_second: int = Field(default=100, ge=1, le=100_000)
    tracking: bool = True
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)  # the provider's (host, port, url...); no secrets

    @field_validator("provider")
    @classmethod
    def _provider_carries_channel(cls, value: Provider, info: ValidationInfo) -> Provider:
        channel = info.data.get("channel")
        if channel is not None and channel not in PROVIDER_CHANNELS[value]:
            raise ValueError(f"the {value.value} provider cannot deliver {channel.label}")
        return value

    @field_validator("sender_address")
    @classmethod
    def _address_fits_channel(cls, value: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if channel is Channel.EMAIL and not EMAIL_RE.match(value):
            raise ValueError(f"{value!r} is not an email address")
        if channel is Channel.SMS and not PHONE_RE.match(value) and not value.isalnum():
            raise ValueError(f"{value!r} is neither a phone number nor an alphanumeric sender id")
        return value

    @field_validator("reply_to")
    @classmethod
    def _reply_to_is_email(cls, value: str | None) -> str | None:
        if value and not EMAIL_RE.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value or None


class Audience(Strict):
    id: int | None = None
    name: Name
    description: str = Field(default="", max_length=2000)
    kind: str = Field(default="rules", pattern="^(rules|upload)$")
    definition: dict[str, Any] = Field(default_factory=dict)
    size: int | None = None
    computed_at: datetime | None = None


class User(Strict):
    id: int
    name: str
    email: str
    role: Role | None


class AuditEntry(Strict):
    id: int
    campaign_id: int
    version: int | None
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    from_status: Status | None
    to_status: Status | None
    detail: str | None
