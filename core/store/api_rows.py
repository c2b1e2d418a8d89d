"""SQL for API keys, API-triggered runs and the idempotency records of trigger calls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from core.store.connection import first

Cursor = duckdb.DuckDBPyConnection
_KEY_COLUMNS = (
    "k.id, k.name, k.role::VARCHAR AS role, k.prefix, k.created_at, k.created_by, u.name AS created_by_name, "
    "k.revoked_at, k.revoked_by"
)
RUN_COLUMNS = ("id", "campaign_id", "version", "channel", "due_at", "status", "created_at", "started_at",
               "finished_at", "total", "processed", "api_key_id")
RECORD_COLUMNS = ("api_key_id", "campaign_id", "idempotency_key", "request_hash", "run_id", "response", "created_at")


# ---- keys -----------------------------------------------------------------------------------------


def insert_key(cur: Cursor, name: str, role: str, prefix: str, key_hash: str, at: datetime, by: int) -> int:
    row = first(cur.execute(
        "INSERT INTO api_keys (name, role, prefix, key_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        [name, role, prefix, key_hash, at, by],
    ).fetchall())
    assert row is not None
    return int(row[0])


def keys(cur: Cursor) -> list[dict[str, Any]]:
    """Every key, newest first, without its hash."""
    return cur.sql(
        f"SELECT {_KEY_COLUMNS} FROM api_keys k LEFT JOIN users u ON u.id = k.created_by ORDER BY k.id DESC"
    ).to_dicts()


def key(cur: Cursor, key_id: int) -> dict[str, Any] | None:
    rows = cur.sql(
        f"SELECT {_KEY_COLUMNS} FROM api_keys k LEFT JOIN users u ON u.id = k.created_by WHERE k.id = ?",
        params=[key_id],
    ).to_dicts()
    return rows[0] if rows else None


def active_key_hashes(cur: Cursor) -> list[dict[str, Any]]:
    """prefix, key_hash and the key's public fields of every key not revoked: what authentication reads."""
    return cur.sql(
        f"SELECT {_KEY_COLUMNS}, k.key_hash FROM api_keys k LEFT JOIN users u ON u.id = k.created_by "
        "WHERE k.revoked_at IS NULL"
    ).to_dicts()


def prefix_taken(cur: Cursor, prefix: str) -> bool:
    return first(cur.execute("SELECT 1 FROM api_keys WHERE prefix = ?", [prefix]).fetchall()) is not None


def revoke_key(cur: Cursor, key_id: int, at: datetime, by: int) -> None:
    cur.execute("UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ?", [at, by, key_id])


# ---- triggered runs ---------------------------------------------------------------------------------


def reserve_run_ids(cur: Cursor, count: int) -> list[int]:
    """`count` fresh run ids from the runs' own sequence (shared with scheduled runs, so never reused)."""
    return [int(r[0]) for r in cur.execute("SELECT nextval('run_ids') FROM range(?)", [count]).fetchall()]


def last_due(cur: Cursor, campaign_id: int) -> datetime | None:
    row = first(cur.execute("SELECT max(due_at) FROM runs WHERE campaign_id = ?", [campaign_id]).fetchall())
    return row[0] if row else None


def insert_frames(cur: Cursor, tables: Mapping[str, pa.Table]) -> None:
    """Append each table's rows to the table of that name (runs, delivery_events, api_triggers), by
    column name, in one `execute`: every DuckDB call hands the GIL back and forth several times,
    which a busy event loop makes slow (bench/bench_api.py). The rows are read through DuckDB's
    scan of local Arrow tables: about half the cost of registering views (catalog changes)."""
    unknown = set(tables) - set(_APPEND_TABLES)
    assert not unknown, unknown
    staged_runs = tables.get("runs")  # noqa: F841 - read by name by the statements below
    staged_delivery_events = tables.get("delivery_events")  # noqa: F841
    staged_api_triggers = tables.get("api_triggers")  # noqa: F841
    statements = [f"INSERT INTO {name} ({', '.join(tables[name].column_names)}) SELECT * FROM staged_{name}"
                  for name in _APPEND_TABLES if name in tables]
    if statements:
        cur.execute("; ".join(statements))


_APPEND_TABLES = ("runs", "delivery_events", "api_triggers")


def record(cur: Cursor, api_key_id: int, campaign_id: int, idempotency_key: str) -> tuple[str, str] | None:
    """(request_hash, response JSON) stored for this key, campaign and Idempotency-Key, if any."""
    row = first(cur.execute(
        "SELECT request_hash, response FROM api_triggers WHERE api_key_id = ? AND campaign_id = ? "
        "AND idempotency_key = ?",
        [api_key_id, campaign_id, idempotency_key],
    ).fetchall())
    return (str(row[0]), str(row[1])) if row else None


def record_slots(cur: Cursor) -> list[tuple[int, int, str]]:
    """(API key, campaign, Idempotency-Key) of every stored answer."""
    return [(int(a), int(c), str(k)) for a, c, k in
            cur.execute("SELECT api_key_id, campaign_id, idempotency_key FROM api_triggers").fetchall()]


def recent_sends_of(cur: Cursor, channel: str, since: datetime, profile_ids: list[int]) -> dict[int, int]:
    """Messages sent on `channel` since `since` to each of a few profiles (the frequency cap)."""
    rows = cur.execute(
        "SELECT profile_id, count(*) FROM delivery_events WHERE channel = ? AND event = 'sent' "
        "AND occurred_at >= ? AND profile_id IN (SELECT unnest(?::BIGINT[])) GROUP BY profile_id",
        [channel, since, profile_ids],
    ).fetchall()
    return {int(r[0]): int(r[1]) for r in rows}


def runs_page(cur: Cursor, campaign_id: int, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(how many runs the campaign has, a page of them newest first)."""
    total = first(cur.execute("SELECT count(*) FROM runs WHERE campaign_id = ?", [campaign_id]).fetchall())
    rows = cur.sql(
        "SELECT id, version, status::VARCHAR AS status, due_at, started_at, finished_at, total, processed, "
        "failure_reason, api_key_id FROM runs WHERE campaign_id = ? ORDER BY due_at DESC, id DESC LIMIT ? OFFSET ?",
        params=[campaign_id, limit, offset],
    ).to_dicts()
    return (int(total[0]) if total else 0), rows
