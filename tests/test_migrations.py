"""Schema migrations on real database files: fresh, re-opened, upgraded, and failing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from core.store import Store
from core.store.migrations import MIGRATIONS, Migration

CORE_TABLES = {"settings", "users", "channel_configs", "audiences", "campaigns", "campaign_versions", "audit_log"}


def tables(store: Store) -> set[str]:
    rows = store.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def applied(store: Store) -> list[tuple[int, str]]:
    return store.cursor().execute("SELECT number, name FROM schema_migrations ORDER BY number").fetchall()


def test_migration_numbers_are_consecutive_from_one() -> None:
    assert [m.number for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_an_empty_database_gets_every_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "fresh.duckdb")
    assert applied(store) == [(m.number, m.name) for m in MIGRATIONS]
    assert store.schema_version() == MIGRATIONS[-1].number
    assert tables(store) >= CORE_TABLES | {"profiles", "schema_migrations"}
    store.close()


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    Store(path).close()
    store = Store(path)
    stamps = "SELECT number, applied_at FROM schema_migrations ORDER BY 1"
    first_stamps = store.cursor().execute(stamps).fetchall()
    assert store.migrate() == []
    assert store.cursor().execute(stamps).fetchall() == first_stamps
    store.close()


def test_an_existing_database_at_migration_one_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = Store(path, migrations=MIGRATIONS[:1])
    assert old.schema_version() == 1
    assert "profiles" not in tables(old)
    old.cursor().execute(
        "INSERT INTO users (name, email, role, created_at) VALUES ('Ada', 'ada@herald.example', 'administrator', ?)",
        [datetime(2025, 6, 1, 12, 0)],
    )
    old.close()

    store = Store(path)
    assert store.schema_version() == MIGRATIONS[-1].number
    assert applied(store) == [(m.number, m.name) for m in MIGRATIONS]
    assert "profiles" in tables(store)
    assert store.cursor().execute("SELECT name, email, role::VARCHAR FROM users").fetchall() == [
        ("Ada", "ada@herald.example", "administrator")
    ]
    assert store.migrate() == []
    store.close()


def test_a_failing_migration_rolls_back_entirely(tmp_path: Path) -> None:
    path = tmp_path / "broken.duckdb"
    Store(path).close()
    bogus = Migration(
        len(MIGRATIONS) + 1,
        "half a change",
        "CREATE TABLE half_done (x INTEGER); INSERT INTO half_done VALUES (1); SELECT * FROM no_such_table;",
    )
    with pytest.raises(duckdb.Error, match="no_such_table"):
        Store(path, migrations=(*MIGRATIONS, bogus))

    store = Store(path)
    assert store.schema_version() == MIGRATIONS[-1].number
    assert "half_done" not in tables(store)
    assert [n for n, _ in applied(store)] == [m.number for m in MIGRATIONS]
    store.close()


def test_a_failing_migration_on_an_old_database_keeps_the_earlier_ones(tmp_path: Path) -> None:
    """Each migration has its own transaction: the real ones are applied and kept, the bogus one leaves no trace."""
    path = tmp_path / "old-broken.duckdb"
    Store(path, migrations=MIGRATIONS[:1]).close()
    bogus = Migration(len(MIGRATIONS) + 1, "bogus", "CREATE TABLE half_done (x INTEGER); SELECT 1/0 FROM no_such_table;")
    with pytest.raises(duckdb.Error):
        Store(path, migrations=(*MIGRATIONS, bogus))
    store = Store(path, migrations=())
    assert store.schema_version() == MIGRATIONS[-1].number
    assert "half_done" not in tables(store)
    store.close()
