"""Words and number formats for analytics: one place, so a tile, a chart axis, a CSV header and the
exported report call a figure by the same name and print it the same way."""

from __future__ import annotations

from datetime import datetime

METRICS: dict[str, str] = {
    "targeted": "Targeted",
    "excluded": "Excluded",
    "sent": "Sent",
    "errors": "Errors",
    "delivered": "Delivered",
    "bounced": "Bounced",
    "bounced_hard": "Hard bounces",
    "bounced_soft": "Soft bounces",
    "opens": "Opens",
    "unique_opens": "Unique opens",
    "clicks": "Clicks",
    "unique_clicks": "Unique clicks",
    "unsubscribes": "Unsubscribes",
    "complaints": "Spam complaints",
}
RATES: dict[str, str] = {
    "exclusion_rate": "Exclusion rate",
    "send_rate": "Send rate",
    "delivery_rate": "Delivery rate",
    "unique_open_rate": "Unique open rate",
    "unique_click_rate": "Click-through rate",
    "click_to_open_rate": "Click-to-open rate",
    "bounce_rate": "Bounce rate",
    "unsubscribe_rate": "Unsubscribe rate",
}
STAGES: dict[str, str] = {
    "targeted": "Targeted", "sent": "Sent", "delivered": "Delivered", "unique_opens": "Opened",
    "unique_clicks": "Clicked",
}
ATTRIBUTES: dict[str, str] = {
    "country": "Country",
    "language": "Language",
    "city": "City",
    "gender": "Gender",
    "loyalty_tier": "Loyalty tier",
    "age_band": "Age band",
}
CHANNELS: dict[str, str] = {"email": "Email", "sms": "SMS", "push": "Push", "in_app": "In-app", "webhook": "Webhook"}
_REASONS: dict[str, str] = {"no_address": "No address", "no_consent": "No consent", "frequency_cap": "Frequency cap"}


def label(name: str | None) -> str:
    """The reader's word for a figure, rate, stage, attribute, channel or reason code."""
    if name is None:
        return "Not recorded"
    for table in (METRICS, RATES, ATTRIBUTES, CHANNELS, _REASONS):
        if name in table:
            return table[name]
    return name.replace("_", " ").capitalize()


def pct(value: float | None, digits: int = 1) -> str:
    """0.0712 -> '7.1%'; a rate without a denominator prints as an en dash."""
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def points(value: float | None) -> str:
    """A difference of two rates in percentage points, signed: 0.021 -> '+2.1 pts'."""
    return "–" if value is None else f"{value * 100:+.1f} pts"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def moment(value: datetime | None) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"
