"""Real delivery providers (SMTP, webhook) and the contract they share with the sandbox.

A provider takes a frame of rendered messages and hands each one over, returning an events frame
shaped exactly like `core.sandbox.simulate`'s, so the run pipeline records either without caring
which produced it. Every message gets exactly one disposition: `sent` (possibly followed by
`delivered` or `bounced`) or `error`. A provider never raises for a problem with one message or
with the server: the problem becomes the `reason` of the events, and the run goes on.

Kept light on purpose: importing the package imports neither smtplib nor urllib.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple, Protocol

import polars as pl
from pydantic import SecretStr

# The sandbox's events columns, in its order: what delivery_rows.insert_events expects.
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "profile_id": pl.Int64(),
    "event": pl.String(),
    "bounce": pl.String(),
    "reason": pl.String(),
    "occurred_at": pl.Datetime("us"),
}
# What a provider needs per message; `message_id` is optional (see message_ids()).
MESSAGE_COLUMNS = ("profile_id", "to", "subject", "body")
REASON_MAX_CHARS = 500


class Event(NamedTuple):
    profile_id: int
    event: str
    bounce: str | None
    reason: str | None
    occurred_at: datetime


class Provider(Protocol):
    """What a real provider looks like to the run pipeline (send_smtp and send_webhook fit it
    once their settings and secret are bound, e.g. with functools.partial)."""

    def __call__(
        self, messages: pl.DataFrame, *, clock: Callable[[], datetime], per_second: float
    ) -> pl.DataFrame: ...


def events_frame(events: list[Event]) -> pl.DataFrame:
    """The events as a frame with the sandbox's exact schema (also when there are none)."""
    return pl.DataFrame(events, schema=EVENT_SCHEMA, orient="row")


def check_messages(messages: pl.DataFrame) -> None:
    """A frame without the columns a provider needs is a programming error: fail loudly, early."""
    missing = [c for c in ("profile_id", "to", "body") if c not in messages.columns]
    if missing:
        raise ValueError(f"the messages frame lacks the column(s) {', '.join(missing)}")


def message_rows(messages: pl.DataFrame) -> list[dict[str, object]]:
    """Rows with every optional column present (subject, message_id may be absent or null)."""
    check_messages(messages)
    frame = messages
    for column in ("subject", "message_id"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    return frame.select("profile_id", "to", "subject", "body", "message_id").to_dicts()


def reveal(secret: SecretStr | str | None) -> str | None:
    """The plain value, only at the moment it goes on the wire."""
    if secret is None:
        return None
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret)
    return value or None


def scrub(text: str, secret: str | None) -> str:
    """A reason as it may be stored and shown: never containing the secret, one line, bounded.

    Servers sometimes echo what they were sent; a reason must not carry a password or token.
    """
    if secret:
        text = text.replace(secret, "••••••")
    text = " ".join(text.split())
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 1] + "…"


__all__ = [
    "EVENT_SCHEMA",
    "MESSAGE_COLUMNS",
    "Event",
    "Provider",
    "check_messages",
    "events_frame",
    "message_rows",
    "reveal",
    "scrub",
]
