"""Test sends: rendered for a sample profile, to at most 10 checked addresses, through the real
provider, and never recorded as delivery events."""

from __future__ import annotations

import pytest

from core.enums import Channel
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.trial_send import MAX_ADDRESSES, parse_addresses
from factories import World, world  # noqa: F401 (world is a fixture)
from test_providers import HOST, Mailbox, smtp_server

PROFILE = {"profile_id": 7, "first_name": "Noor", "city": "Lisbon"}
CONTENT = {"subject": "Hi {{profile.first_name|there}}", "body": "News for {{profile.city}}."}


def _events(world: World) -> int:
    return int(world.store.cursor().execute("SELECT count(*) FROM delivery_events").fetchall()[0][0])


def test_addresses_are_split_deduplicated_and_checked_per_channel() -> None:
    assert parse_addresses("a@x.io, b@x.io;\na@x.io", Channel.EMAIL) == ["a@x.io", "b@x.io"]
    assert parse_addresses(["+14155550100"], Channel.SMS) == ["+14155550100"]
    assert parse_addresses("device-42", Channel.PUSH) == ["device-42"]
    with pytest.raises(InvalidInput, match="enter at least one address"):
        parse_addresses(" , ", Channel.EMAIL)
    with pytest.raises(InvalidInput, match="at most 10 addresses; 11 were given"):
        parse_addresses([f"u{i}@x.io" for i in range(MAX_ADDRESSES + 1)], Channel.EMAIL)
    with pytest.raises(InvalidInput, match="'not-an-address' is not an email address"):
        parse_addresses("ok@x.io, not-an-address", Channel.EMAIL)
    with pytest.raises(InvalidInput, match="'0155' is not an international phone number"):
        parse_addresses("0155", Channel.SMS)


def test_sandbox_test_send_accepts_and_records_nothing(world: World) -> None:
    config = world.configs[Channel.EMAIL]
    outcomes = world.ws.delivery.send_test(world.manager, config.id or 0, CONTENT, "me@herald.example", PROFILE)
    assert [(o.address, o.accepted) for o in outcomes] == [("me@herald.example", True)]
    assert "sandbox" in outcomes[0].detail
    assert _events(world) == 0


def test_refusals_change_nothing(world: World) -> None:
    config = world.configs[Channel.EMAIL].id or 0
    with pytest.raises(PermissionDenied):
        world.ws.delivery.send_test(world.viewer, config, CONTENT, "me@herald.example", PROFILE)
    with pytest.raises(NotFound):
        world.ws.delivery.send_test(world.manager, 999, CONTENT, "me@herald.example", PROFILE)
    with pytest.raises(InvalidInput, match="unknown profile attribute 'shoe'"):
        world.ws.delivery.send_test(world.manager, config, {"body": "{{profile.shoe}}"}, "me@herald.example", PROFILE)
    world.ws.set_channel_config_enabled(world.admin, config, False)
    with pytest.raises(InvalidInput, match="is disabled"):
        world.ws.delivery.send_test(world.manager, config, CONTENT, "me@herald.example", PROFILE)
    assert _events(world) == 0


def test_smtp_test_send_arrives_rendered_and_marked(world: World) -> None:
    mailbox = Mailbox(refuse_rcpt={"gone@herald.example": "550 no such user"})
    with smtp_server(mailbox) as port:
        config = world.ws.add_channel_config(world.admin, {
            "name": "Relay", "channel": "email", "provider": "smtp", "sender_address": "news@herald.example",
            "throttle_per_second": 100, "settings": {"host": HOST, "port": port, "security": "none"},
        })
        outcomes = world.ws.delivery.send_test(world.manager, config.id or 0, CONTENT,
                                               "me@herald.example, gone@herald.example", PROFILE)
    assert [(o.address, o.accepted) for o in outcomes] == [("me@herald.example", True), ("gone@herald.example", False)]
    assert "550" in outcomes[1].detail
    assert mailbox.subjects() == ["[Test] Hi Noor"]
    assert mailbox.received[0].get_content().strip() == "News for Lisbon."
    assert _events(world) == 0


def test_outcomes_read_every_event_of_a_message_not_only_its_last() -> None:
    """Providers record a delivered message as sent then delivered (webhook, SMTP), a refused one
    as sent then bounced: the test send's answer must not depend on which event came last."""
    from datetime import datetime

    import polars as pl

    from core.trial_send import outcomes

    at = datetime(2026, 11, 23, 9)
    events = pl.DataFrame([
        (1, "sent", None), (1, "delivered", None),
        (2, "sent", None), (2, "bounced", "550 5.1.1 no such user"),
        (3, "error", "HTTP 400: bad number"),
    ], schema={"profile_id": pl.Int64, "event": pl.String, "reason": pl.String}, orient="row").with_columns(
        occurred_at=pl.lit(at))
    found = outcomes(["a@x.io", "b@x.io", "c@x.io", "d@x.io"], events)
    assert [(o.address, o.accepted) for o in found] == [("a@x.io", True), ("b@x.io", False), ("c@x.io", False),
                                                        ("d@x.io", False)]
    assert [o.detail for o in found] == ["accepted by the provider", "550 5.1.1 no such user", "HTTP 400: bad number",
                                         "no answer from the provider"]
