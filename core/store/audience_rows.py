"""SQL for what audiences are computed from: the profile table, the suppression list, uploaded
members, and the sizes and reach persisted on each audience."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from core.store.connection import first
from core.store.workspace_rows import put_setting, setting

Cursor = duckdb.DuckDBPyConnection


def profiles_frame(cur: Cursor, enums: dict[str, tuple[str, ...]]) -> pl.DataFrame:
    """The whole profile table as Polars, ordered by profile_id; `enums` columns as pl.Enum."""
    casts = ", ".join(f"{c}::VARCHAR AS {c}" for c in enums)
    frame = cur.sql(f"SELECT * REPLACE ({casts}) FROM profiles ORDER BY profile_id").pl()
    return frame.with_columns(pl.col(c).cast(pl.Enum(values)) for c, values in enums.items())


def profiles_revision(cur: Cursor) -> int:
    return int(setting(cur, "profiles_revision", 0))


def bump_profiles_revision(cur: Cursor) -> int:
    revision = profiles_revision(cur) + 1
    put_setting(cur, "profiles_revision", revision)
    return revision


def upsert_profiles(cur: Cursor, frame: pl.DataFrame, defaults: dict[str, Any]) -> tuple[int, int]:
    """Insert new profiles and update existing ones (only the columns the frame has).

    `defaults` fills NOT NULL columns the frame lacks, for new rows only. Returns (inserted, updated).
    """
    cur.register("incoming_profiles", frame)
    try:
        existing = first(
            cur.execute(
                "SELECT count(*) FROM incoming_profiles i JOIN profiles p USING (profile_id)"
            ).fetchall()
        )
        updated = int(existing[0]) if existing else 0
        columns = list(frame.columns) + [c for c in defaults if c not in frame.columns]
        values = list(frame.columns) + ["?" for c in defaults if c not in frame.columns]
        params = [v for c, v in defaults.items() if c not in frame.columns]
        changes = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c != "profile_id")
        conflict = f"DO UPDATE SET {changes}" if changes else "DO NOTHING"
        cur.execute(
            f"INSERT INTO profiles ({', '.join(columns)}) SELECT {', '.join(values)} FROM incoming_profiles "
            f"ON CONFLICT (profile_id) {conflict}",
            params,
        )
    finally:
        cur.unregister("incoming_profiles")
    return frame.height - updated, updated


def suppressions_frame(cur: Cursor) -> pl.DataFrame:
    return cur.sql(
        """SELECT s.kind::VARCHAR AS kind, s.value, s.reason, s.added_at, u.name AS added_by
           FROM suppressions s LEFT JOIN users u ON u.id = s.added_by ORDER BY s.added_at DESC, s.value"""
    ).pl()


def add_suppressions(cur: Cursor, kind: str, values: list[str], reason: str, at: datetime, by: int) -> int:
    """Add values not already on the list; returns how many were new."""
    frame = pl.DataFrame({"value": values}, schema={"value": pl.String}).unique()
    cur.register("incoming_suppressions", frame)
    try:
        before = first(cur.execute("SELECT count(*) FROM suppressions").fetchall())
        cur.execute(
            "INSERT INTO suppressions SELECT ?, value, ?, ?, ? FROM incoming_suppressions "
            "ON CONFLICT (kind, value) DO NOTHING",
            [kind, reason, at, by],
        )
        after = first(cur.execute("SELECT count(*) FROM suppressions").fetchall())
    finally:
        cur.unregister("incoming_suppressions")
    return int(after[0]) - int(before[0]) if after and before else 0


def remove_suppression(cur: Cursor, kind: str, value: str) -> bool:
    row = first(cur.execute("DELETE FROM suppressions WHERE kind = ? AND value = ? RETURNING value",
                            [kind, value]).fetchall())
    return row is not None


def member_ids(cur: Cursor, audience_id: int) -> pl.Series:
    return (
        cur.sql("SELECT profile_id FROM audience_members WHERE audience_id = ?", params=[audience_id])
        .pl()
        .get_column("profile_id")
    )


def insert_members(cur: Cursor, audience_id: int, profile_ids: pl.Series) -> None:
    frame = pl.DataFrame({"profile_id": profile_ids.unique()})
    cur.register("incoming_members", frame)
    try:
        cur.execute("INSERT INTO audience_members SELECT ?, profile_id FROM incoming_members", [audience_id])
    finally:
        cur.unregister("incoming_members")


def save_size(cur: Cursor, audience_id: int, size: int, reach: dict[str, Any], at: datetime) -> None:
    cur.execute(
        "UPDATE audiences SET size = ?, reach = ?, computed_at = ? WHERE id = ?",
        [size, json.dumps(reach), at, audience_id],
    )


def reach_of(cur: Cursor) -> dict[int, dict[str, Any]]:
    rows = cur.execute("SELECT id, reach FROM audiences WHERE reach IS NOT NULL").fetchall()
    return {int(i): json.loads(r) for i, r in rows}
