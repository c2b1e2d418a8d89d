"""The campaign list's filters, sort and counts (core/listing.py) over a real list frame."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from core.enums import CampaignType, Channel, Recurrence, Status
from core.errors import InvalidInput
from core.listing import ListQuery, filter_campaigns, status_counts, tag_options
from core.models import parse
from factories import T0, build_world, make

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def frame() -> Iterator[pl.DataFrame]:
    """One campaign per status (two Live), created a day apart from 2026-01-05 on."""
    w = build_world()
    make(w, Status.COMPLETED, name="Autumn tips", channel=Channel.PUSH, tags=["content"])  # clock ends at T0+3d
    plans: list[tuple[Status, dict[str, Any]]] = [
        (Status.DRAFT, {"name": "Spring sale", "tags": ["sale", "spring"]}),
        (Status.LIVE, {"name": "Summer SALE teaser", "channel": Channel.SMS, "tags": ["sale"],
                       "recurrence": Recurrence.DAILY}),
        (Status.LIVE, {"name": "Order confirmation", "type": CampaignType.API_TRIGGERED, "audience_id": None,
                       "tags": ["orders"]}),
        (Status.SCHEDULED, {"name": "Winter boots", "channel": Channel.PUSH, "tags": ["winter"]}),
        (Status.IN_REVIEW, {"name": "Holiday guide", "tags": ["holiday"]}),
        (Status.STOPPED, {"name": "Price error promo", "tags": ["sale"]}),
        (Status.ARCHIVED, {"name": "Flash sale (v2)", "channel": Channel.IN_APP}),
        (Status.FAILED, {"name": "Gift reminder"}),
        (Status.ACTIVATING, {"name": "Gift card launch", "tags": []}),
    ]
    for status, kw in plans:
        make(w, status, **kw)
        w.clock.tick(days=1)
    yield w.svc.list_frame(w.admin)
    w.store.close()


def names(frame: pl.DataFrame, **query: Any) -> set[str]:
    return set(filter_campaigns(frame, ListQuery(**query))["name"])


def test_the_fixture_has_every_status(frame: pl.DataFrame) -> None:
    assert set(frame["status"]) == {s.value for s in Status}


def test_default_filter_shows_draft_scheduled_and_live(frame: pl.DataFrame) -> None:
    assert names(frame) == {"Spring sale", "Summer SALE teaser", "Order confirmation", "Winter boots"}


def test_cleared_status_filter_shows_everything(frame: pl.DataFrame) -> None:
    assert names(frame, statuses=()) == set(frame["name"])
    assert len(filter_campaigns(frame, ListQuery(statuses=()))) == 10


def test_status_filter(frame: pl.DataFrame) -> None:
    assert names(frame, statuses=(Status.STOPPED, Status.COMPLETED)) == {"Price error promo", "Autumn tips"}


@pytest.mark.parametrize(
    ("search", "statuses", "expected"),
    [
        ("sale", None, {"Spring sale", "Summer SALE teaser"}),
        ("SALE", (), {"Spring sale", "Summer SALE teaser", "Flash sale (v2)"}),
        ("  spring ", None, {"Spring sale"}),
        ("sale (", (), {"Flash sale (v2)"}),  # a substring, not a pattern
        ("e.*r", (), set()),
        ("nothing like it", (), set()),
    ],
)
def test_search_is_a_case_insensitive_substring(
    frame: pl.DataFrame, search: str, statuses: tuple | None, expected: set[str]
) -> None:
    query: dict[str, Any] = {"search": search} if statuses is None else {"search": search, "statuses": statuses}
    assert names(frame, **query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"types": (CampaignType.API_TRIGGERED,)}, {"Order confirmation"}),
        ({"channels": (Channel.SMS, Channel.PUSH)}, {"Summer SALE teaser", "Winter boots", "Autumn tips"}),
        ({"channels": (Channel.WEBHOOK,)}, set()),
        ({"tags": ("sale",)}, {"Spring sale", "Summer SALE teaser", "Price error promo"}),
        ({"tags": ("winter", "orders")}, {"Winter boots", "Order confirmation"}),
        ({"tags": ("sale",), "channels": (Channel.EMAIL,)}, {"Spring sale", "Price error promo"}),
    ],
)
def test_type_channel_and_tag_filters(frame: pl.DataFrame, query: dict[str, Any], expected: set[str]) -> None:
    assert names(frame, statuses=(), **query) == expected


@pytest.mark.parametrize(
    ("created_from", "created_to", "expected"),
    [
        (date(2026, 1, 9), date(2026, 1, 10), {"Summer SALE teaser", "Order confirmation"}),
        (date(2026, 1, 9), date(2026, 1, 9), {"Summer SALE teaser"}),
        (None, date(2026, 1, 8), {"Autumn tips", "Spring sale"}),
        (date(2026, 1, 15), None, {"Gift reminder", "Gift card launch"}),
    ],
)
def test_created_date_filter_includes_both_ends(
    frame: pl.DataFrame, created_from: date | None, created_to: date | None, expected: set[str]
) -> None:
    assert names(frame, statuses=(), created_from=created_from, created_to=created_to) == expected


def test_created_to_before_created_from_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse(ListQuery, {"created_from": date(2026, 1, 5), "created_to": date(2026, 1, 1)})
    assert refused.value.problems == {"created_to": "the end date 2026-01-01 is before the start date 2026-01-05"}


def test_unknown_sort_column_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse(ListQuery, {"sort_by": "colour"})
    assert list(refused.value.problems) == ["sort_by"]
    assert refused.value.problems["sort_by"].startswith("cannot sort by 'colour'; choose one of name, status")


LIFECYCLE_ORDER = ["draft", "in_review", "activating", "scheduled", "live", "live",
                   "stopped", "completed", "failed", "archived"]


def test_sort_by_status_follows_the_lifecycle(frame: pl.DataFrame) -> None:
    ascending = filter_campaigns(frame, ListQuery(statuses=(), sort_by="status", descending=False))
    assert ascending["status"].to_list() == LIFECYCLE_ORDER
    live = ascending.filter(pl.col("status") == "live")["id"].to_list()
    assert live == sorted(live)  # ties in id order
    descending = filter_campaigns(frame, ListQuery(statuses=(), sort_by="status"))
    assert descending["status"].to_list() == LIFECYCLE_ORDER[::-1]


def test_sort_by_name_and_default_sort_by_last_update(frame: pl.DataFrame) -> None:
    by_name = filter_campaigns(frame, ListQuery(statuses=(), sort_by="name", descending=False))["name"].to_list()
    assert by_name == sorted(by_name)
    recent_first = filter_campaigns(frame, ListQuery(statuses=()))["updated_at"].to_list()
    assert recent_first == sorted(recent_first, reverse=True)
    assert recent_first[0] == T0 + 3 * DAY + 8 * DAY  # the Activating one, made last


def test_status_counts_cover_every_status(frame: pl.DataFrame) -> None:
    counts = status_counts(frame)
    assert list(counts) == list(Status)
    assert counts == {s: (2 if s is Status.LIVE else 1) for s in Status}
    assert status_counts(frame.clear()) == {s: 0 for s in Status}


def test_tag_options_are_sorted_and_unique(frame: pl.DataFrame) -> None:
    assert tag_options(frame) == ["content", "holiday", "news", "orders", "sale", "spring", "winter"]
    assert tag_options(frame.clear()) == []
