"""How a campaign's rates compare with the rest of the workspace: medians, percentiles and flags.

Why a module of its own: "is 3% bounces bad?" depends on the workspace, so a report shows each rate
next to the typical one and says in words when it is unusual.

Peers ("comparable campaigns"): the *other* campaigns of the same channel that have at least one
delivered message, each with its all-time figures (`statistics.summary` by campaign). A campaign is
never its own peer, so one bad send does not drag the benchmark it is judged against. Medians and
percentiles use linear interpolation between the sorted peer rates (DuckDB's `quantile_cont`,
numpy's default). A rate a peer cannot have (no denominator) leaves that peer out of that rate.

Flags: a rate above the 90th percentile of its peers where higher is worse (bounce, unsubscribe,
exclusion), or below the 10th where lower is worse (delivery, unique open, click-through), once
there are at least `MIN_PEERS` peers and the campaign's denominator is at least `MIN_BASE` (3 bounces
out of 20 sends say nothing yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from core import statistics as stats
from core.labels import CHANNELS, label, pct

# Rates over targeted recipients, next to the statistics module's own (same null-if-no-base rule).
EXTRA_RATES: dict[str, tuple[str, str]] = {
    "exclusion_rate": ("excluded", "targeted"), "send_rate": ("sent", "targeted"),
}
ALL_RATES: dict[str, tuple[str, str]] = {**EXTRA_RATES, **stats.RATES}
MIN_PEERS = 5
MIN_BASE = 100
HIGH, LOW = 0.9, 0.1

Direction = Literal["high", "low"]
FLAG_RULES: dict[str, tuple[Direction, str]] = {
    "bounce_rate": ("high", "more addresses than usual were refused; check where this audience's addresses come from"),
    "unsubscribe_rate": ("high", "more recipients than usual opted out; the content or the sending frequency may "
                                 "not suit this audience"),
    "exclusion_rate": ("high", "more of the audience than usual could not be reached (suppressed, no address, no "
                               "consent or frequency cap)"),
    "delivery_rate": ("low", "fewer messages than usual reached their recipients; see the bounce reasons"),
    "unique_open_rate": ("low", "fewer recipients than usual opened it; look at the subject line and the send time"),
    "unique_click_rate": ("low", "fewer recipients than usual clicked; look at the offer and the call to action"),
}


@dataclass(frozen=True)
class Benchmark:
    """One rate across a campaign's peers."""

    rate: str
    peers: int  # peers that have this rate
    median: float | None
    p10: float | None
    p90: float | None


def with_extra_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Add exclusion and send rates (over targeted) to a frame with the statistics counts."""
    return frame.with_columns(
        pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None).alias(name)
        for name, (num, den) in EXTRA_RATES.items()
    )


def rate_of(figures: Mapping[str, Any], rate: str) -> float | None:
    """A rate from a row of counts, by the same rule (null when the denominator is 0)."""
    num, den = ALL_RATES[rate]
    return figures[num] / figures[den] if figures[den] else None


def peers(totals: pl.DataFrame, channels: pl.DataFrame, channel: str, campaign_id: int | None) -> pl.DataFrame:
    """The comparable campaigns' all-time figures (see the module docstring).

    `totals`: statistics.summary by campaign_id; `channels`: campaign_id, channel (the campaigns' own)."""
    return with_extra_rates(
        totals.join(channels.select("campaign_id", "channel"), on="campaign_id", how="inner")
        .filter((pl.col("channel") == channel) & (pl.col("delivered") > 0))
        .filter(pl.col("campaign_id") != (campaign_id if campaign_id is not None else -1))
    )


def benchmarks(peer_figures: pl.DataFrame) -> dict[str, Benchmark]:
    """Median, 10th and 90th percentile of every rate of `ALL_RATES` over the peers."""
    out: dict[str, Benchmark] = {}
    for rate in ALL_RATES:
        values = peer_figures.get_column(rate).drop_nulls() if peer_figures.height else pl.Series(rate, [], pl.Float64)
        if values.len() == 0:
            out[rate] = Benchmark(rate, 0, None, None, None)
            continue
        out[rate] = Benchmark(
            rate,
            values.len(),
            float(values.quantile(0.5, "linear")),  # type: ignore[arg-type]
            float(values.quantile(LOW, "linear")),  # type: ignore[arg-type]
            float(values.quantile(HIGH, "linear")),  # type: ignore[arg-type]
        )
    return out


def flags(
    figures: Mapping[str, Any], marks: Mapping[str, Benchmark], channel: str, window: str | None = None,
) -> tuple[str, ...]:
    """Sentences for every rate that is abnormal for the workspace (rules in the module docstring).

    `window` ("the last 24 hours") prefixes the sentence when the figures are of a window, which
    is then compared with the peers' all-time rates."""
    out: list[str] = []
    channel_word = CHANNELS.get(channel, channel)
    channel_word = channel_word if channel_word in ("SMS",) else channel_word.lower()
    for rate, (direction, why) in FLAG_RULES.items():
        mark = marks.get(rate)
        value = rate_of(figures, rate)
        base = figures[ALL_RATES[rate][1]]
        if mark is None or value is None or mark.peers < MIN_PEERS or base < MIN_BASE:
            continue
        limit = mark.p90 if direction == "high" else mark.p10
        assert limit is not None
        if (direction == "high" and value > limit) or (direction == "low" and value < limit):
            where, nth = ("above", "90th") if direction == "high" else ("below", "10th")
            lead = f"In {window}, the {label(rate).lower()}" if window else label(rate)
            out.append(
                f"{lead} {pct(value)} is {where} the {nth} percentile ({pct(limit)}) of the {mark.peers} other "
                f"{channel_word} campaigns in this workspace: {why}."
            )
    return tuple(out)
