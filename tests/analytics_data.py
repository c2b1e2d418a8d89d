"""The seeded demo workspace, copied per test module (or test), for the analytics, chart and export
tests: a Store on the copy, a clock frozen at the real now, and a user per role plus one without."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from core.clock import utc_now
from core.enums import Role
from core.models import User
from core.store import Store
from core.workspace import Workspace
from factories import FakeClock

EPOCH = datetime(1970, 1, 1)

# The channel a campaign is on: its current version's (live, else the draft it has never left).
CHANNELS_SQL = """
SELECT c.id AS campaign_id, v.channel::VARCHAR AS channel, v.name, c.status::VARCHAR AS status
FROM campaigns c
JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = coalesce(c.live_version, c.draft_version)
"""


def sql(cur: duckdb.DuckDBPyConnection, text: str, **params: Any) -> list[dict[str, Any]]:
    """Run and fully fetch a query (DuckDB 2 streams), rows as dicts."""
    rows = cur.execute(text, params).fetchall()
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in rows]


@dataclass
class Shop:
    store: Store
    ws: Workspace
    clock: FakeClock
    users: dict[Role, User]
    nobody: User

    @property
    def admin(self) -> User:
        return self.users[Role.ADMINISTRATOR]

    def cur(self) -> duckdb.DuckDBPyConnection:
        return self.store.cursor()

    def since(self, last_24h: bool) -> datetime:
        return self.clock.now.replace(second=0, microsecond=0) - timedelta(hours=24) if last_24h else EPOCH

    def campaigns_with_events(self) -> list[dict[str, Any]]:
        return sql(self.cur(), f"""SELECT c.*, count(*) AS events FROM delivery_events e
            JOIN ({CHANNELS_SQL}) c USING (campaign_id) GROUP BY ALL ORDER BY campaign_id""")


def open_copy(seeded_db: Path, into: Path) -> Shop:
    path = into / "herald.duckdb"
    shutil.copy(seeded_db, path)
    if Path(f"{seeded_db}.wal").exists():
        shutil.copy(f"{seeded_db}.wal", f"{path}.wal")
    store = Store(path)
    clock = FakeClock(utc_now())
    ws = Workspace(store, clock)
    users = {u.role: u for u in ws.users() if u.role is not None}
    nobody = ws.add_user(users[Role.ADMINISTRATOR], "Nora Norole", "nora@herald.example", None)
    return Shop(store, ws, clock, users, nobody)
