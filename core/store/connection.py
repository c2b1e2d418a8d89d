"""The DuckDB file: one connection per process, a cursor per call, migrations on open.

DuckDB allows one read-write process per file and refuses concurrent use of one connection, while
Streamlit serves sessions from several threads; so every call takes its own cursor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from core.clock import utc_now
from core.errors import HeraldError, StaleRevision
from core.store.migrations import MIGRATIONS, Migration

T = TypeVar("T")
_OPEN: dict[str, Store] = {}
_OPEN_LOCK = threading.Lock()


class Store:
    """Owns the process's connection to one database file; hands out cursors."""

    def __init__(self, path: str | Path, migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
        self.path = str(path)
        self.commits = 0  # committed write transactions in this process: what memo() keys on
        # ... of which those that may change more than runs and delivery events (API triggers write
        # only those): what memo(..., past_deliveries=True) keys on, so hot API reads survive sends.
        self.changes = 0
        self._memo: dict[str, tuple[int, Any]] = {}
        self.closed = False
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection = duckdb.connect(self.path)
        except duckdb.IOException as exc:
            raise HeraldError(
                f"Cannot open the database {self.path}: {exc}. Only one process may use a DuckDB file "
                "at a time; stop the other Herald process or point HERALD_DB at another file."
            ) from exc
        try:
            self.migrate(migrations)
        except BaseException:
            self._connection.close()
            raise

    @classmethod
    def shared(cls, path: str | Path) -> Store:
        """The process-wide store for `path`: every session and thread of the app shares it."""
        key = str(Path(path).resolve()) if str(path) != ":memory:" else ":memory:"
        with _OPEN_LOCK:
            if key not in _OPEN:
                _OPEN[key] = cls(path)
            return _OPEN[key]

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._connection.cursor()

    def set_threads(self, threads: int) -> None:
        """DuckDB's worker threads for this database (default: one per core). The server sets one:
        its DuckDB work is many small transactions (API triggers commit tens of times a second), for
        which a second worker only adds hand-offs between threads, while Polars does the heavy
        analytics. Found while profiling the server under bench/bench_api.py."""
        self._connection.execute(f"SET threads = {int(threads)}")

    @contextmanager
    def transaction(self, deliveries_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing: any exception rolls back every statement run on the yielded cursor.

        `deliveries_only`: the caller promises to write nothing but runs, delivery events and
        idempotency records, so memos taken with `past_deliveries=True` stay valid."""
        cur = self._connection.cursor()
        cur.begin()
        try:
            yield cur
            cur.commit()
            if not deliveries_only:
                self.changes += 1
            self.commits += 1
        except duckdb.TransactionException as exc:
            _rollback(cur)
            raise StaleRevision(
                "Someone else changed the same data at the same moment; nothing was saved. Reload and try again."
            ) from exc
        except BaseException:
            _rollback(cur)
            raise
        finally:
            cur.close()

    def memo(self, key: str, load: Callable[[], T], past_deliveries: bool = False) -> T:
        """`load()` again only after a write committed in this process.

        Sound because DuckDB lets one process open the file: every write goes through this Store.
        Hot read paths (audience estimates) use it to skip a query per call. `past_deliveries=True`
        keeps the value across transactions marked `deliveries_only` (campaigns, keys and
        configurations do not change there), which API triggers commit many times a second.
        """
        counter = "changes" if past_deliveries else "commits"
        seen = self._memo.get(key)
        if seen is not None and seen[0] == getattr(self, counter):
            return seen[1]
        count = getattr(self, counter)
        value = load()
        self._memo[key] = (count, value)
        return value

    def peek(self, key: str, past_deliveries: bool = False) -> Any:
        """The memoised value of `key` if it is still valid, else None (never loads anything)."""
        seen = self._memo.get(key)
        counter = self.changes if past_deliveries else self.commits
        return seen[1] if seen is not None and seen[0] == counter else None

    def close(self) -> None:
        with _OPEN_LOCK:
            for key, store in list(_OPEN.items()):
                if store is self:
                    del _OPEN[key]
        self.closed = True
        self._connection.close()

    def schema_version(self) -> int:
        cur = self.cursor()
        row = first(cur.execute("SELECT coalesce(max(number), 0) FROM schema_migrations").fetchall())
        return int(row[0]) if row else 0

    def migrate(self, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
        """Apply, in order and each in its own transaction, the migrations the file lacks."""
        cur = self.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row[0] for row in cur.execute("SELECT number FROM schema_migrations").fetchall()}
        applied: list[int] = []
        for migration in sorted(migrations, key=lambda m: m.number):
            if migration.number in done:
                continue
            with self.transaction() as tx:
                tx.execute(migration.sql)
                tx.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    [migration.number, migration.name, utc_now()],
                )
            applied.append(migration.number)
        return applied


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.rollback()
    except duckdb.Error:
        pass


def first(rows: list[tuple]) -> tuple | None:
    """The first row of a fully fetched result (DuckDB 2 streams: never leave a result half-read)."""
    return rows[0] if rows else None
