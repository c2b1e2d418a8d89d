"""Test sends: the content as it will go out, to a handful of the team's own addresses, through the
campaign's real channel configuration. Nothing is recorded as a delivery event, so a test send never
shows in a campaign's statistics or counts against a frequency cap."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from core import templates
from core.enums import Channel
from core.errors import InvalidInput
from core.models import EMAIL_RE, Content, parse

MAX_ADDRESSES = 10
SUBJECT_PREFIX = "[Test] "
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_ADDRESS_NOUN = {Channel.EMAIL: "an email address", Channel.SMS: "an international phone number such as +14155550100"}


@dataclass(frozen=True)
class TrialOutcome:
    """What the provider said about one address."""

    address: str
    accepted: bool
    detail: str


def parse_addresses(text: str | Sequence[str], channel: Channel) -> list[str]:
    """1 to 10 distinct addresses for `channel` (comma, semicolon or newline separated), or why not."""
    items = re.split(r"[,;\n]", text) if isinstance(text, str) else list(text)
    addresses = list(dict.fromkeys(a.strip() for a in items if a and a.strip()))
    if not addresses:
        raise InvalidInput({"addresses": "enter at least one address to send the test to"})
    if len(addresses) > MAX_ADDRESSES:
        raise InvalidInput({"addresses": f"a test goes to at most {MAX_ADDRESSES} addresses; "
                                         f"{len(addresses)} were given"})
    pattern = {Channel.EMAIL: EMAIL_RE, Channel.SMS: E164}.get(channel)
    bad = [a for a in addresses if (pattern is not None and not pattern.match(a)) or len(a) > 254]
    if bad:
        noun = _ADDRESS_NOUN.get(channel, "a recipient id")
        raise InvalidInput({"addresses": ", ".join(repr(a) for a in bad) + f" is not {noun}"})
    return addresses


def messages(content: Content | Mapping[str, Any], profile: Mapping[str, Any], to: list[str],
             config_id: int) -> pl.DataFrame:
    """One message per address, rendered for `profile` by the real template code, marked as a test."""
    body = parse(Content, dict(content))
    templates.validate_content(body.subject, body.body, allow_context=False)
    subject = SUBJECT_PREFIX + templates.preview(body.subject, profile) if body.subject else None
    text = templates.preview(body.body, profile)
    return pl.DataFrame({
        "profile_id": pl.Series(range(1, len(to) + 1), dtype=pl.Int64),
        "to": to,
        "subject": pl.Series([subject] * len(to), dtype=pl.String),
        "body": [text] * len(to),
        "message_id": [f"test-{config_id}-{i}" for i in range(1, len(to) + 1)],
    })


def sandbox_outcomes(to: list[str]) -> list[TrialOutcome]:
    return [TrialOutcome(a, True, "accepted by the sandbox provider (nothing leaves Herald)") for a in to]


def outcomes(to: list[str], events: pl.DataFrame) -> list[TrialOutcome]:
    """The provider's events (keyed by the message's position) as one outcome per address."""
    sent: set[int] = set()
    refused: dict[int, str] = {}  # an error or a bounce, whatever else the message got
    for row in events.to_dicts():
        pid = int(row["profile_id"])
        if row["event"] == "sent":
            sent.add(pid)
        elif row["event"] in ("error", "bounced"):
            refused.setdefault(pid, str(row.get("reason") or row["event"]))
    found = []
    for i, address in enumerate(to, start=1):
        accepted = i in sent and i not in refused
        detail = "accepted by the provider" if accepted else refused.get(i, "no answer from the provider")
        found.append(TrialOutcome(address, accepted, detail))
    return found
