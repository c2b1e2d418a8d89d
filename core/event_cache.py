"""The delivery events held in memory for analytics, kept in step with the store.

Why: every report figure comes from `core.statistics` over the prepared event frame. Reading and
preparing 50M events takes seconds, so it happens once per process; afterwards only what changed
is read:
- the check is `count(*)` of the table (a few ms), and only after a write committed in this process
  (`Store.memo` keys on commits; DuckDB lets one process write the file, so none is missed);
- when rows were added, the rows past the highest rowid already held are read and added with
  `statistics.append` (their first opens/clicks are judged against the rows held), and the
  per-campaign totals grow by the new rows' counts — nothing is recomputed from scratch;
- if the new rows do not account for the whole change (a concurrent writer committed rows below
  that rowid, or rows were deleted) the table is read again in full, so figures never go wrong.
Reads of bounds and rows share one DuckDB transaction, hence one consistent view of the table.

Thread-safety: the app's scheduler thread writes events while sessions read. A refresh runs under a
lock; readers get an immutable `EventsSnapshot` and never see a half-built one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

from core import statistics as stats
from core.store import Store
from core.store import delivery_rows as rows

Progress = Callable[[float, str], None]
"""progress(fraction done 0..1, what is happening) for long loads; the page shows it as a bar."""

CHUNK_ROWS = 5_000_000
MAX_SLICES = 16  # per-campaign frames kept (each a copy of that campaign's rows)
_REFRESH_CHUNKS = 32  # rechunk the frame after this many appended pieces (keeps scans fast)
_COUNT_KEY = "analytics.events_count"
MEMO_SIZE = 256  # memoised report parts per store
T = TypeVar("T")


@dataclass(frozen=True)
class EventsSnapshot:
    """One consistent state of the events: the prepared frame and what is derived from all of it."""

    frame: pl.DataFrame  # statistics.prepare'd events of every campaign
    rows: int  # rows of delivery_events it holds
    last_rowid: int  # highest rowid held (-1: none)
    version: int  # grows by one whenever rows arrive
    campaign_versions: Mapping[int, int]  # campaign id -> version at which its events last changed
    totals: pl.DataFrame  # statistics.summary(frame, by=("campaign_id",)): all-time figures

    def campaign_version(self, campaign_id: int) -> int:
        """0 for a campaign without events."""
        return self.campaign_versions.get(campaign_id, 0)


class EventCache:
    """The prepared event frame of one store, refreshed when new events arrive."""

    def __init__(self, store: Store, chunk_rows: int = CHUNK_ROWS) -> None:
        self.store = store
        self.chunk_rows = chunk_rows
        self.full_loads = 0  # full reads of the table (cold start, or a change appends cannot explain)
        self.appends = 0  # incremental extensions with statistics.append
        self._lock = threading.Lock()
        self._snapshot: EventsSnapshot | None = None
        self._slices: OrderedDict[int, tuple[int, pl.DataFrame]] = OrderedDict()
        self._slices_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the events are in memory (if not, the next call reads them: show progress)."""
        return self._snapshot is not None

    def info(self) -> dict[str, int]:
        snap = self._snapshot
        return {"full_loads": self.full_loads, "appends": self.appends, "rows": snap.rows if snap else 0,
                "version": snap.version if snap else 0}

    def current(self, progress: Progress | None = None) -> EventsSnapshot:
        """The events as the store holds them now: cached, extended, or read (in that order of cost)."""
        count = self.store.memo(_COUNT_KEY, lambda: rows.events_count(self.store.cursor()))
        snap = self._snapshot
        if snap is not None and snap.rows == count:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is None or snap.rows != count:
                snap = self._refresh(snap, progress)
                self._snapshot = snap
            return snap

    def campaign_events(self, snap: EventsSnapshot, campaign_id: int) -> pl.DataFrame:
        """The prepared rows of one campaign (a run-level filter, so its unique counts stay exact).

        Kept for the most recently used campaigns until that campaign's events change."""
        version = snap.campaign_version(campaign_id)
        if version == 0:
            return snap.frame.clear()
        with self._slices_lock:
            hit = self._slices.get(campaign_id)
            if hit is not None and hit[0] == version:
                self._slices.move_to_end(campaign_id)
                return hit[1]
        part = snap.frame.filter(pl.col("campaign_id") == campaign_id)
        with self._slices_lock:
            hit = self._slices.get(campaign_id)
            if hit is None or hit[0] < version:
                self._slices[campaign_id] = (version, part)
                self._slices.move_to_end(campaign_id)
                while len(self._slices) > MAX_SLICES:
                    self._slices.popitem(last=False)
        return part

    # ---- refreshing (under self._lock) ---------------------------------------------------------

    def _refresh(self, snap: EventsSnapshot | None, progress: Progress | None) -> EventsSnapshot:
        cur = self.store.cursor()
        cur.begin()  # bounds and rows from one view of the table
        try:
            count, last = rows.events_bounds(cur)
            if snap is not None and count == snap.rows and last == snap.last_rowid:
                return snap
            if snap is not None and count > snap.rows:
                new = rows.events_by_rowid(cur, snap.last_rowid)
                if snap.rows + new.height == count:
                    return self._extend(snap, new, last)
            return self._load(cur, count, last, snap, progress)
        finally:
            cur.rollback()
            cur.close()

    def _load(
        self, cur: rows.Cursor, count: int, last: int, old: EventsSnapshot | None, progress: Progress | None
    ) -> EventsSnapshot:
        report = progress or (lambda fraction, text: None)
        pieces: list[pl.DataFrame] = []
        read = 0
        lo = -1
        while lo < last:
            hi = min(last, lo + self.chunk_rows)
            piece = rows.events_by_rowid(cur, lo, hi).drop("rowid")
            pieces.append(piece)
            read += piece.height
            lo = hi
            report(0.8 * (read / max(count, 1)), f"Reading delivery events: {read:,} of {count:,}")
        raw = pl.concat(pieces, how="vertical") if pieces else rows.events_by_rowid(cur, last).drop("rowid")
        del pieces
        report(0.8, f"Preparing {count:,} events for analytics")
        frame = stats.prepare(raw).rechunk()
        del raw
        report(0.95, "Totalling campaigns")
        totals = stats.summary(frame, by=("campaign_id",))
        version = (old.version if old else 0) + 1
        ids = totals.get_column("campaign_id").to_list()
        self.full_loads += 1
        report(1.0, "Ready")
        return EventsSnapshot(frame, frame.height, last, version, {int(c): version for c in ids}, totals)

    def _extend(self, snap: EventsSnapshot, new: pl.DataFrame, last: int) -> EventsSnapshot:
        if new.height == 0:
            return EventsSnapshot(snap.frame, snap.rows, last, snap.version, snap.campaign_versions, snap.totals)
        frame = stats.append(snap.frame, new.drop("rowid"))
        tail = frame.slice(snap.frame.height)
        if frame.n_chunks() > _REFRESH_CHUNKS:
            frame = frame.rechunk()
        totals = add_counts(snap.totals, stats.summary(tail, by=("campaign_id",)))
        version = snap.version + 1
        changed = {int(c): version for c in tail.get_column("campaign_id").unique().to_list()}
        self.appends += 1
        return EventsSnapshot(frame, frame.height, last, version, {**snap.campaign_versions, **changed}, totals)


class ResultMemo:
    """A small thread-safe LRU of computed figures; keys carry the versions they depend on."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size
        self.hits = self.misses = 0

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]  # type: ignore[no-any-return]
            self.misses += 1
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def add_counts(totals: pl.DataFrame, delta: pl.DataFrame) -> pl.DataFrame:
    """Per-campaign totals grown by the counts of appended rows, rates recomputed.

    Exact because every count is additive once the appended rows' kinds were judged against the
    rows held (statistics.append): a repeat open of an old recipient adds to opens, not to uniques."""
    names = list(stats.COUNTS)
    joined = totals.select("campaign_id", *names).join(
        delta.select("campaign_id", *names), on="campaign_id", how="full", coalesce=True, suffix="_new"
    )
    summed = joined.select(
        "campaign_id", *((pl.col(n).fill_null(0) + pl.col(f"{n}_new").fill_null(0)).alias(n) for n in names)
    )
    return stats.with_rates(summed).sort("campaign_id")
