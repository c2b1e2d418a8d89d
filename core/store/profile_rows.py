"""SQL for the profile table: bulk replacement from a Polars frame, and counts."""

from __future__ import annotations

import duckdb
import polars as pl

from core.store.connection import first

Cursor = duckdb.DuckDBPyConnection


def replace_profiles(cur: Cursor, frame: pl.DataFrame) -> int:
    """Swap the whole profile table for `frame` (columns by name); DuckDB casts to the ENUM types."""
    columns = ", ".join(frame.columns)
    cur.register("incoming_profiles", frame)
    try:
        cur.execute("DELETE FROM profiles")
        cur.execute(f"INSERT INTO profiles ({columns}) SELECT {columns} FROM incoming_profiles")
    finally:
        cur.unregister("incoming_profiles")
    return profile_count(cur)


def profile_count(cur: Cursor) -> int:
    row = first(cur.execute("SELECT count(*) FROM profiles").fetchall())
    return int(row[0]) if row else 0
