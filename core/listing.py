"""The campaign list's filters, sort and counts: pure functions over the store's list frame."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import polars as pl
from pydantic import Field, field_validator

from core.enums import DEFAULT_LIST_STATUSES, CampaignType, Channel, Status
from core.models import Strict

SORTABLE = ("name", "status", "type", "channel", "audience", "starts_at_utc", "created_at", "updated_at")


class ListQuery(Strict):
    """What the user asked the list for. No statuses means every status (a cleared filter)."""

    statuses: tuple[Status, ...] = DEFAULT_LIST_STATUSES
    search: str = Field(default="", max_length=200)
    types: tuple[CampaignType, ...] = ()
    channels: tuple[Channel, ...] = ()
    tags: tuple[str, ...] = ()
    created_from: date | None = None
    created_to: date | None = None
    sort_by: str = "updated_at"
    descending: bool = True

    @field_validator("sort_by")
    @classmethod
    def _sortable(cls, value: str) -> str:
        if value not in SORTABLE:
            raise ValueError(f"cannot sort by {value!r}; choose one of {', '.join(SORTABLE)}")
        return value

    @field_validator("created_to")
    @classmethod
    def _range_in_order(cls, value: date | None, info) -> date | None:  # type: ignore[no-untyped-def]
        start = info.data.get("created_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"the end date {value} is before the start date {start}")
        return value


def filter_campaigns(frame: pl.DataFrame, query: ListQuery) -> pl.DataFrame:
    """Rows of `frame` (core.campaigns list frame) that match `query`, in the asked order."""
    conditions: list[pl.Expr] = []
    if query.statuses:
        conditions.append(pl.col("status").is_in([s.value for s in query.statuses]))
    if query.search.strip():
        term = query.search.strip().lower()
        conditions.append(pl.col("name").str.to_lowercase().str.contains(term, literal=True))
    if query.types:
        conditions.append(pl.col("type").is_in([t.value for t in query.types]))
    if query.channels:
        conditions.append(pl.col("channel").is_in([c.value for c in query.channels]))
    if query.tags:
        wanted = [tag.strip().lower() for tag in query.tags]
        conditions.append(pl.col("tags").list.eval(pl.element().is_in(wanted)).list.any())
    if query.created_from is not None:
        conditions.append(pl.col("created_at") >= datetime.combine(query.created_from, time()))
    if query.created_to is not None:
        conditions.append(pl.col("created_at") < datetime.combine(query.created_to + timedelta(days=1), time()))
    result = frame.filter(*conditions) if conditions else frame
    key = pl.col(query.sort_by)
    if query.sort_by == "status":  # lifecycle order, not alphabetical
        key = key.replace_strict([s.value for s in Status], list(range(len(Status))), return_dtype=pl.Int8)
    return result.sort(key, pl.col("id"), descending=[query.descending, False], nulls_last=True)


def status_counts(frame: pl.DataFrame) -> dict[Status, int]:
    """How many campaigns are in each status (every status present, zero where none)."""
    counted = dict(frame.group_by("status").len().iter_rows())
    return {status: int(counted.get(status.value, 0)) for status in Status}


def tag_options(frame: pl.DataFrame) -> list[str]:
    if frame.is_empty():
        return []
    return frame.select(pl.col("tags").explode().drop_nulls().unique().sort()).to_series().to_list()
