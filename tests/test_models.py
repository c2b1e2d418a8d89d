"""Input validation (core/models.py), name and reference checks, and readiness (NotReady)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.enums import Channel, Status
from core.errors import InvalidInput, NotReady
from core.models import Audience, CampaignSpec, ChannelConfig, parse
from core.readiness import blocking_problems
from factories import T0, World, dump, make, spec, world  # noqa: F401  (world is a fixture)

EMAIL = {"subject": "Hi", "body": "Hello"}


def problems(model: type, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as refused:
        parse(model, data)
    return refused.value.problems


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"schedule": {"starts_at": datetime(2026, 3, 2, 9), "ends_at": datetime(2026, 3, 1, 9)}},
            "schedule.ends_at",
            "end (2026-03-01 09:00) must be after start (2026-03-02 09:00)",
        ),
        (
            {"schedule": {"starts_at": datetime(2026, 3, 2, 9), "ends_at": datetime(2026, 3, 2, 9)}},
            "schedule.ends_at",
            "end (2026-03-02 09:00) must be after start (2026-03-02 09:00)",
        ),
        ({"content": {"body": "Hello"}}, "content.subject", "an email needs a subject"),
        ({"channel": "push", "content": {"body": "Hi"}}, "content.subject", "a push notification needs a title"),
        (
            {"channel": "sms", "content": {"body": "x" * 1601}},
            "content.body",
            "an SMS body is at most 1600 characters (this one has 1601)",
        ),
        (
            {"channel": "push", "content": {"subject": "T", "body": "x" * 1001}},
            "content.body",
            "a push body is at most 1000 characters (this one has 1001)",
        ),
        (
            {"schedule": {"timezone": "Europe/Atlantis"}},
            "schedule.timezone",
            "unknown time zone 'Europe/Atlantis'; use an IANA name such as 'Europe/Paris'",
        ),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"content": {"subject": "S", "body": "B", "font": "Arial"}}, "content.font", "Extra inputs are not permitted"),
        (
            {"type": "api_triggered", "schedule": {"recurrence": "daily"}},
            "schedule.recurrence",
            "an API-triggered campaign sends when called; it cannot recur",
        ),
        ({"tags": ["x" * 41]}, "tags", "tag 'xxxxxxxxxxxxxxxxxxxx'… is longer than 40 characters"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags", "at most 20 tags"),
        ({"name": "   "}, "name", "String should have at least 1 character"),
    ],
)
def test_spec_problems_name_the_field_and_rule(data: dict[str, Any], field: str, message: str) -> None:
    assert problems(CampaignSpec, {"name": "Promo", **data}) == {field: message}


def test_sms_body_at_the_limit_is_fine() -> None:
    sms = parse(CampaignSpec, {"name": "P", "channel": "sms", "content": {"body": "x" * 1600}})
    assert len(sms.content.body) == 1600


def test_several_problems_are_all_reported() -> None:
    found = problems(CampaignSpec, {"name": "", "channel": "fax", "schedule": {"timezone": "Nowhere"}})
    assert set(found) == {"name", "channel", "schedule.timezone"}


def test_tags_are_normalised() -> None:
    assert parse(CampaignSpec, {"name": "P", "tags": " Sale, VIP,sale ,, "}).tags == ("sale", "vip")
    assert parse(CampaignSpec, {"name": "P", "tags": ["Black-Friday", "black-friday "]}).tags == ("black-friday",)


@pytest.mark.parametrize(
    "starts_at",
    [datetime(2026, 3, 1, 9, 0, 42), datetime(2026, 3, 1, 8, 0, tzinfo=UTC)],
    ids=["wall-clock-with-seconds", "aware-utc"],
)
def test_schedule_times_are_wall_clock_minutes(starts_at: datetime) -> None:
    data = {"name": "P", "schedule": {"timezone": "Europe/Paris", "starts_at": starts_at}}
    schedule = parse(CampaignSpec, data).schedule
    assert (schedule.starts_at, schedule.start_utc()) == (datetime(2026, 3, 1, 9, 0), datetime(2026, 3, 1, 8, 0))


# ---- channel configurations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"channel": "sms", "provider": "smtp", "sender_address": "+15550100"}, "provider",
         "the smtp provider cannot deliver SMS"),
        ({"channel": "email", "provider": "webhook", "sender_address": "a@herald.example"}, "provider",
         "the webhook provider cannot deliver Email"),
        ({"channel": "email", "sender_address": "news at herald"}, "sender_address",
         "'news at herald' is not an email address"),
        ({"channel": "sms", "sender_address": "+1 555"}, "sender_address",
         "'+1 555' is neither a phone number nor an alphanumeric sender id"),
        ({"channel": "email", "sender_address": "a@herald.example", "reply_to": "care"}, "reply_to",
         "'care' is not an email address"),
        ({"channel": "email", "sender_address": "a@herald.example", "throttle_per_second": 0}, "throttle_per_second",
         "Input should be greater than or equal to 1"),
    ],
)
def test_channel_config_problems(data: dict[str, Any], field: str, message: str) -> None:
    assert problems(ChannelConfig, {"name": "Preset", **data}) == {field: message}


@pytest.mark.parametrize(
    ("channel", "provider", "sender"),
    [("email", "smtp", "news@herald.example"), ("sms", "webhook", "HERALD"), ("push", "sandbox", "com.app")],
)
def test_valid_channel_configs(channel: str, provider: str, sender: str) -> None:
    config = parse(ChannelConfig, {"name": "P", "channel": channel, "provider": provider, "sender_address": sender})
    assert (config.channel.value, config.provider.value, config.enabled) == (channel, provider, True)


def test_workspace_refuses_bad_and_duplicate_configs(world: World) -> None:
    before = dump(world.store)
    with pytest.raises(InvalidInput) as bad:
        world.ws.add_channel_config(world.admin, {"name": "X", "channel": "sms", "provider": "smtp",
                                                  "sender_address": "+15550100"})
    assert bad.value.problems == {"provider": "the smtp provider cannot deliver SMS"}
    with pytest.raises(InvalidInput) as taken:
        world.ws.add_channel_config(world.admin, {"name": "email · MAIN", "channel": "email",
                                                  "sender_address": "b@herald.example"})
    assert taken.value.problems == {"name": "a channel configuration named 'email · MAIN' already exists"}
    assert dump(world.store) == before


# ---- names and references, checked by the service ------------------------------------------------


def test_a_name_in_use_is_refused_on_create_and_edit(world: World) -> None:
    holder = world.svc.create(world.manager, spec(world, name="Spring sale"))
    other = world.svc.create(world.manager, spec(world, name="Autumn sale"))
    before = dump(world.store)
    message = (f"campaign #{holder.id} (Draft) is already named 'spring SALE'; "
               "names are unique among campaigns that are not archived")
    with pytest.raises(InvalidInput) as on_create:
        world.svc.create(world.manager, spec(world, name="spring SALE"))
    assert on_create.value.problems == {"name": message}
    with pytest.raises(InvalidInput) as on_edit:
        world.svc.edit(world.manager, other.id, other.revision, spec(world, name="spring SALE"))
    assert on_edit.value.problems == {"name": message}
    assert dump(world.store) == before
    # saving a campaign under its own name is fine
    world.svc.edit(world.manager, holder.id, holder.revision, spec(world, name="Spring sale"))


def test_a_name_is_free_again_once_its_holder_is_archived(world: World) -> None:
    holder = make(world, Status.LIVE, name="Black Friday")
    with pytest.raises(InvalidInput, match=r"\(Live\) is already named 'Black Friday'"):
        world.svc.create(world.manager, spec(world, name="Black Friday"))
    world.svc.archive(world.admin, holder.id, holder.revision)
    assert world.svc.create(world.manager, spec(world, name="Black Friday")).status is Status.DRAFT


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"channel_config_id": "sms"}, "channel_config_id", "'SMS · main' is for SMS; this campaign sends Email"),
        ({"channel_config_id": 99}, "channel_config_id", "there is no channel configuration 99"),
        ({"audience_id": 99}, "audience_id", "there is no audience 99"),
    ],
)
def test_references_must_exist_and_match_the_channel(
    world: World, overrides: dict[str, Any], field: str, message: str
) -> None:
    if overrides.get("channel_config_id") == "sms":
        overrides = {"channel_config_id": world.configs[Channel.SMS].id}
    before = dump(world.store)
    with pytest.raises(InvalidInput) as refused:
        world.svc.create(world.manager, spec(world, **overrides))
    assert refused.value.problems == {field: message}
    assert dump(world.store) == before


def test_invalid_spec_is_refused_before_anything_is_written(world: World) -> None:
    before = dump(world.store)
    with pytest.raises(InvalidInput) as refused:
        world.svc.create(world.manager, spec(world, content={"body": "no subject"}))
    assert refused.value.problems == {"content.subject": "an email needs a subject"}
    assert dump(world.store) == before


# ---- readiness ----------------------------------------------------------------------------------

CONFIG = ChannelConfig(id=1, name="Email · main", channel=Channel.EMAIL, sender_address="a@herald.example")
AUDIENCE = Audience(id=1, name="All")
NOW = datetime(2026, 1, 5, 9, 0)


def ready(**overrides: Any) -> CampaignSpec:
    return parse(CampaignSpec, {"name": "P", "channel_config_id": 1, "audience_id": 1, "content": EMAIL,
                                "schedule": {"timezone": "UTC"}, **overrides})


def test_a_complete_spec_has_no_blocking_problem() -> None:
    assert blocking_problems(ready(), CONFIG, AUDIENCE, NOW) == {}


def test_an_empty_draft_lists_everything_missing() -> None:
    found = blocking_problems(parse(CampaignSpec, {"name": "P"}), None, None, NOW)
    assert set(found) == {"channel_config_id", "audience_id", "content", "schedule"}
    assert "Email channel configuration" in found["channel_config_id"]
    assert (found["audience_id"], found["content"], found["schedule"]) == (
        "choose an audience", "write the message", "choose when to send",
    )


def test_missing_configuration_message_is_grammatical() -> None:
    found = blocking_problems(parse(CampaignSpec, {"name": "P"}), None, None, NOW)
    assert found["channel_config_id"] == "choose an Email channel configuration"


@pytest.mark.parametrize(
    ("spec_kw", "config", "field", "message"),
    [
        ({"schedule": {"starts_at": NOW - timedelta(hours=1)}}, CONFIG, "schedule.starts_at",
         "the start time 2026-01-05 08:00 (UTC) has passed; choose a later time or send on activation"),
        ({"schedule": {"starts_at": NOW - timedelta(days=9), "ends_at": NOW, "recurrence": "daily"}}, CONFIG,
         "schedule.ends_at", "the end 2026-01-05 09:00 (UTC) has passed"),
        ({}, None, "channel_config_id", "channel configuration 1 no longer exists"),
        ({}, CONFIG.model_copy(update={"enabled": False}), "channel_config_id",
         "'Email · main' is disabled; an Administrator can enable it under Channel configurations"),
        ({}, CONFIG.model_copy(update={"channel": Channel.SMS}), "channel_config_id",
         "'Email · main' is for SMS, not Email"),
    ],
)
def test_readiness_problems(spec_kw: dict[str, Any], config: ChannelConfig | None, field: str, message: str) -> None:
    assert blocking_problems(ready(**spec_kw), config, AUDIENCE, NOW) == {field: message}


def test_recurring_start_in_the_past_rolls_on_and_api_needs_no_audience() -> None:
    recurring = ready(schedule={"starts_at": NOW - timedelta(days=3), "recurrence": "weekly"})
    assert blocking_problems(recurring, CONFIG, AUDIENCE, NOW) == {}
    api = ready(type="api_triggered", audience_id=None)
    assert blocking_problems(api, CONFIG, None, NOW) == {}


def test_request_approval_lists_every_missing_thing_and_writes_nothing(world: World) -> None:
    c = world.svc.create(world.manager, {"name": "Half-finished", "schedule": {"starts_at": T0 - timedelta(days=1)}})
    before = dump(world.store)
    with pytest.raises(NotReady) as refused:
        world.svc.request_approval(world.manager, c.id, c.revision)
    assert set(refused.value.problems) == {"channel_config_id", "audience_id", "content", "schedule.starts_at"}
    message = str(refused.value)
    assert message.startswith("Cannot request approval yet: channel_config_id: ")
    assert "audience_id: choose an audience; content: write the message; schedule.starts_at: the start time" in message
    assert dump(world.store) == before


def test_activation_is_refused_while_not_ready(world: World) -> None:
    world.approval_off()
    c = world.svc.create(world.manager, spec(world, content=None))
    with pytest.raises(NotReady, match="^Cannot activate yet: content: write the message$"):
        world.svc.activate(world.approver, c.id, c.revision)
    assert world.fresh(c.id).status is Status.DRAFT
