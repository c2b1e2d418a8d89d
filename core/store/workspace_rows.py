"""SQL for what campaigns refer to: users, channel configurations, audiences and settings."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from core.enums import Role
from core.models import Audience, ChannelConfig, User
from core.store.connection import first

Cursor = duckdb.DuckDBPyConnection


def insert_user(cur: Cursor, name: str, email: str, role: Role | None, at: datetime) -> User:
    row = first(cur.execute(
        "INSERT INTO users (name, email, role, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        [name, email.lower(), role.value if role else None, at],
    ).fetchall())
    assert row is not None
    return User(id=int(row[0]), name=name, email=email.lower(), role=role)


def set_user_role(cur: Cursor, user_id: int, role: Role | None) -> None:
    cur.execute("UPDATE users SET role = ? WHERE id = ?", [role.value if role else None, user_id])


def users(cur: Cursor) -> list[User]:
    rows = cur.sql("SELECT id, name, email, role::VARCHAR AS role FROM users ORDER BY id").to_dicts()
    return [User.model_validate(r) for r in rows]


def user(cur: Cursor, user_id: int) -> User | None:
    rows = cur.sql("SELECT id, name, email, role::VARCHAR AS role FROM users WHERE id = ?", params=[user_id]).to_dicts()
    return User.model_validate(rows[0]) if rows else None


def user_by_email(cur: Cursor, email: str) -> User | None:
    rows = cur.sql(
        "SELECT id, name, email, role::VARCHAR AS role FROM users WHERE email = lower(?)", params=[email]
    ).to_dicts()
    return User.model_validate(rows[0]) if rows else None


_CONFIG_FIELDS = (
    "name",
    "channel",
    "provider",
    "sender_name",
    "sender_address",
    "reply_to",
    "throttle_per_second",
    "tracking",
    "enabled",
    "settings",
)


def insert_channel_config(cur: Cursor, config: ChannelConfig, at: datetime) -> ChannelConfig:
    values = [getattr(config, f) for f in _CONFIG_FIELDS]
    row = first(cur.execute(
        f"INSERT INTO channel_configs ({', '.join(_CONFIG_FIELDS)}, created_at, updated_at) "
        f"VALUES ({', '.join('?' for _ in _CONFIG_FIELDS)}, ?, ?) RETURNING id",
        [json.dumps(v) if isinstance(v, dict) else v.value if hasattr(v, "value") else v for v in values] + [at, at],
    ).fetchall())
    assert row is not None
    return config.model_copy(update={"id": int(row[0])})


def set_channel_config_enabled(cur: Cursor, config_id: int, enabled: bool, at: datetime) -> None:
    cur.execute("UPDATE channel_configs SET enabled = ?, updated_at = ? WHERE id = ?", [enabled, at, config_id])


def _config_select(where: str = "") -> str:
    cols = ", ".join(f"{f}::VARCHAR AS {f}" if f in ("channel", "provider") else f for f in _CONFIG_FIELDS)
    return f"SELECT id, {cols} FROM channel_configs {where} ORDER BY id"


def _config(row: dict[str, Any]) -> ChannelConfig:
    return ChannelConfig.model_validate({**row, "settings": json.loads(row["settings"] or "{}")})


def channel_configs(cur: Cursor) -> list[ChannelConfig]:
    return [_config(r) for r in cur.sql(_config_select()).to_dicts()]


def channel_config(cur: Cursor, config_id: int) -> ChannelConfig | None:
    rows = cur.sql(_config_select("WHERE id = ?"), params=[config_id]).to_dicts()
    return _config(rows[0]) if rows else None


def insert_audience(cur: Cursor, audience: Audience, at: datetime, by: int) -> Audience:
    row = first(cur.execute(
        """INSERT INTO audiences (name, description, kind, definition, size, computed_at, created_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [
            audience.name,
            audience.description,
            audience.kind,
            json.dumps(audience.definition),
            audience.size,
            audience.computed_at,
            at,
            by,
        ],
    ).fetchall())
    assert row is not None
    return audience.model_copy(update={"id": int(row[0])})


def _audience(row: dict[str, Any]) -> Audience:
    return Audience.model_validate({**row, "definition": json.loads(row["definition"])})


def audiences(cur: Cursor) -> list[Audience]:
    rows = cur.sql(
        "SELECT id, name, description, kind, definition, size, computed_at FROM audiences ORDER BY id"
    ).to_dicts()
    return [_audience(r) for r in rows]


def audience(cur: Cursor, audience_id: int) -> Audience | None:
    rows = cur.sql(
        "SELECT id, name, description, kind, definition, size, computed_at FROM audiences WHERE id = ?",
        params=[audience_id],
    ).to_dicts()
    return _audience(rows[0]) if rows else None


def setting(cur: Cursor, key: str, default: Any = None) -> Any:
    row = first(cur.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall())
    return json.loads(row[0]) if row else default


def put_setting(cur: Cursor, key: str, value: Any) -> None:
    cur.execute(
        "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )
