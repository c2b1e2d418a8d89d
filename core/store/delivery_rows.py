"""SQL for runs and delivery events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from core.store.connection import first

Cursor = duckdb.DuckDBPyConnection
EVENT_COLUMNS = ("run_id", "campaign_id", "version", "profile_id", "channel", "event", "bounce", "reason", "occurred_at")


def insert_run(cur: Cursor, campaign_id: int, version: int, channel: str, due_at: datetime, at: datetime) -> int | None:
    """A run for (campaign, due_at), or None if one exists: two schedulers never create it twice."""
    row = first(
        cur.execute(
            """INSERT INTO runs (campaign_id, version, channel, due_at, status, created_at)
               VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (campaign_id, due_at) DO NOTHING RETURNING id""",
            [campaign_id, version, channel, due_at, at],
        ).fetchall()
    )
    return int(row[0]) if row else None


def run(cur: Cursor, run_id: int) -> dict[str, Any] | None:
    rows = cur.sql(
        "SELECT *, status::VARCHAR AS status, channel::VARCHAR AS channel FROM runs WHERE id = ?", params=[run_id]
    ).to_dicts()
    return rows[0] if rows else None


def runs_frame(cur: Cursor, campaign_id: int | None = None) -> pl.DataFrame:
    where = "WHERE campaign_id = ?" if campaign_id is not None else ""
    return cur.sql(
        f"SELECT *, status::VARCHAR AS status, channel::VARCHAR AS channel FROM runs {where} ORDER BY due_at, id",
        params=[campaign_id] if campaign_id is not None else None,
    ).pl()


def runs_count(cur: Cursor, campaign_id: int) -> int:
    row = first(cur.execute("SELECT count(*) FROM runs WHERE campaign_id = ?", [campaign_id]).fetchall())
    return int(row[0]) if row else 0


# Recipients each run resolved and what became of them: its disposition events (one per recipient).
_OUTCOMES = """
    SELECT run_id, count(*) AS targeted, count(*) FILTER (WHERE event = 'sent') AS sent,
           count(*) FILTER (WHERE event = 'excluded') AS excluded, count(*) FILTER (WHERE event = 'error') AS errors
    FROM delivery_events
    WHERE campaign_id = $campaign AND event IN ('excluded', 'sent', 'error') {runs}
    GROUP BY run_id"""
OUTCOME_COLUMNS = ("targeted", "sent", "excluded", "errors")


def latest_runs(cur: Cursor, campaign_id: int, limit: int, outcomes: bool = False) -> pl.DataFrame:
    """The campaign's newest `limit` runs (due_at, then id, descending), with the name of the API key
    that made each API call (null for scheduled runs). `outcomes` adds targeted, sent, excluded and
    errors per run from its disposition events (read for those runs only)."""
    counts = _OUTCOMES.format(runs="AND run_id IN (SELECT id FROM latest)") if outcomes else None
    return cur.sql(
        f"""WITH latest AS (
                SELECT * FROM runs WHERE campaign_id = $campaign ORDER BY due_at DESC, id DESC LIMIT $limit
            ){f", outcomes AS ({counts})" if counts else ""}
            SELECT r.id, r.version, r.due_at, r.status::VARCHAR AS status, r.total, r.processed, r.started_at,
                   r.finished_at, r.failure_reason, r.api_key_id, k.name AS api_key
                   {"".join(f", coalesce(o.{c}, 0)::BIGINT AS {c}" for c in OUTCOME_COLUMNS) if counts else ""}
            FROM latest r LEFT JOIN api_keys k ON k.id = r.api_key_id
            {"LEFT JOIN outcomes o ON o.run_id = r.id" if counts else ""}
            ORDER BY r.due_at DESC, r.id DESC""",
        params={"campaign": campaign_id, "limit": limit},
    ).pl()


def runs_per_day(cur: Cursor, campaign_id: int, limit: int) -> tuple[int, pl.DataFrame]:
    """(days with runs, the newest `limit` of them): per UTC day of due_at (an API call's time), the
    runs, their recipients (targeted: disposition events), sent, excluded and errors, and the first
    and last run's time. One aggregate over the campaign's runs and disposition events."""
    frame = cur.sql(
        f"""WITH calls AS (SELECT id, due_at FROM runs WHERE campaign_id = $campaign),
                 outcomes AS ({_OUTCOMES.format(runs="")}),
                 days AS (
                    SELECT date_trunc('day', c.due_at) AS day, count(*) AS runs,
                           {", ".join(f"coalesce(sum(o.{c}), 0)::BIGINT AS {c}" for c in OUTCOME_COLUMNS)},
                           min(c.due_at) AS first_at, max(c.due_at) AS last_at
                    FROM calls c LEFT JOIN outcomes o ON o.run_id = c.id GROUP BY ALL
                 )
            SELECT *, count(*) OVER () AS days FROM days ORDER BY day DESC LIMIT $limit""",
        params={"campaign": campaign_id, "limit": limit},
    ).pl()
    days = int(frame.get_column("days")[0]) if frame.height else 0
    return days, frame.drop("days").with_columns(pl.col("day").cast(pl.Date))


def pending_run_ids(cur: Cursor) -> list[int]:
    rows = cur.execute("SELECT id FROM runs WHERE status IN ('pending', 'running') ORDER BY due_at, id").fetchall()
    return [int(r[0]) for r in rows]


def update_run(cur: Cursor, run_id: int, **fields: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    cur.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*fields.values(), run_id])


def disposed_ids(cur: Cursor, run_id: int) -> pl.Series:
    """Recipients of the run that already have their one disposition event (excluded/sent/error)."""
    return (
        cur.sql(
            "SELECT profile_id FROM delivery_events WHERE run_id = ? AND event IN ('excluded', 'sent', 'error')",
            params=[run_id],
        )
        .pl()
        .get_column("profile_id")
    )


def recent_sends(cur: Cursor, channel: str, since: datetime, exclude_run: int) -> pl.DataFrame:
    """Messages each profile was sent on `channel` since `since`, across campaigns (frequency cap)."""
    return cur.sql(
        """SELECT profile_id, count(*) AS sends FROM delivery_events
           WHERE channel = ? AND event = 'sent' AND occurred_at >= ? AND run_id <> ? GROUP BY profile_id""",
        params=[channel, since, exclude_run],
    ).pl()


def insert_events(cur: Cursor, events: pl.DataFrame) -> None:
    cur.register("incoming_events", events.select(EVENT_COLUMNS))
    try:
        cur.execute(f"INSERT INTO delivery_events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM incoming_events")
    finally:
        cur.unregister("incoming_events")


def events_frame(cur: Cursor, campaign_id: int | None = None) -> pl.DataFrame:
    where = "WHERE campaign_id = ?" if campaign_id is not None else ""
    return cur.sql(
        f"""SELECT run_id, campaign_id, version, profile_id, channel::VARCHAR AS channel, event::VARCHAR AS event,
                   bounce::VARCHAR AS bounce, reason, occurred_at FROM delivery_events {where}""",
        params=[campaign_id] if campaign_id is not None else None,
    ).pl()


def events_count(cur: Cursor) -> int:
    """Rows in delivery_events: the cheap "did new events arrive?" check (a few ms on 50M rows;
    the table is append-only, so an unchanged count means unchanged events)."""
    row = first(cur.execute("SELECT count(*) FROM delivery_events").fetchall())
    return int(row[0]) if row else 0


def events_bounds(cur: Cursor) -> tuple[int, int]:
    """(row count, highest rowid or -1): where an incremental read of the table starts from."""
    row = first(cur.execute("SELECT count(*), coalesce(max(rowid), -1) FROM delivery_events").fetchall())
    return (int(row[0]), int(row[1])) if row else (0, -1)


def events_by_rowid(cur: Cursor, after: int, upto: int | None = None) -> pl.DataFrame:
    """Events with after < rowid <= upto (all later ones without `upto`), plus their `rowid`.

    ENUM columns come back as pl.Categorical (no string round trip; statistics.prepare takes them).
    DuckDB pushes rowid ranges into the scan, so reading the newest rows does not scan the table."""
    where, params = "rowid > ?", [after]
    if upto is not None:
        where, params = "rowid > ? AND rowid <= ?", [after, upto]
    return cur.sql(
        f"SELECT rowid, {', '.join(EVENT_COLUMNS)} FROM delivery_events WHERE {where}", params=params
    ).pl()
