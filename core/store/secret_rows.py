"""SQL for secrets (SMTP passwords, webhook tokens), kept in their own table, apart from the
channel configurations they belong to, so reading or exporting configurations never reads them."""

from __future__ import annotations

from datetime import datetime

import duckdb

from core.store.connection import first

Cursor = duckdb.DuckDBPyConnection


def put_secret(cur: Cursor, owner: str, name: str, value: str, at: datetime) -> None:
    """Insert or replace the value of (owner, name)."""
    cur.execute(
        "INSERT INTO secrets (owner, name, value, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (owner, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [owner, name, value, at],
    )


def secret(cur: Cursor, owner: str, name: str) -> str | None:
    row = first(cur.execute("SELECT value FROM secrets WHERE owner = ? AND name = ?", [owner, name]).fetchall())
    return str(row[0]) if row else None


def secret_updated_at(cur: Cursor, owner: str, name: str) -> datetime | None:
    row = first(cur.execute("SELECT updated_at FROM secrets WHERE owner = ? AND name = ?", [owner, name]).fetchall())
    return row[0] if row else None


def secret_names(cur: Cursor, owner: str) -> list[str]:
    """Which secrets an owner has (never their values): what a settings page lists."""
    rows = cur.execute("SELECT name FROM secrets WHERE owner = ? ORDER BY name", [owner]).fetchall()
    return [str(r[0]) for r in rows]


def delete_secret(cur: Cursor, owner: str, name: str) -> bool:
    """Remove (owner, name); whether there was one."""
    row = first(cur.execute("DELETE FROM secrets WHERE owner = ? AND name = ? RETURNING 1", [owner, name]).fetchall())
    return row is not None
