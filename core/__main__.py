"""Command line: `python -m core seed|migrate|advance` (see --help)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from core.clock import utc_now
from core.demo import DEFAULT_PROFILES, seed
from core.errors import HeraldError
from core.scheduler import tick
from core.store import Store
from core.workspace import Workspace, database_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description="Herald workspace tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    seed_cmd = commands.add_parser("seed", help="create the deterministic demo workspace in a new database")
    seed_cmd.add_argument("--db", type=Path, default=None, help="database file (default: $HERALD_DB or data/herald.duckdb)")
    seed_cmd.add_argument("--profiles", type=int, default=DEFAULT_PROFILES, help="number of demo profiles")
    seed_cmd.add_argument("--now", type=datetime.fromisoformat, default=None,
                          help="anchor time in UTC, e.g. 2026-11-23T09:00 (default: now); same anchor, same workspace")
    seed_cmd.add_argument("--reset", action="store_true", help="replace an existing database file")
    seed_cmd.add_argument("--if-missing", action="store_true", help="do nothing if the database file exists")
    migrate_cmd = commands.add_parser("migrate", help="bring a database up to the current schema")
    migrate_cmd.add_argument("--db", type=Path, default=None)
    advance_cmd = commands.add_parser("advance", help="run the scheduler once: due status changes")
    advance_cmd.add_argument("--db", type=Path, default=None)
    worker_cmd = commands.add_parser("worker", help="the scheduler: status changes, due runs, sending")
    worker_cmd.add_argument("--db", type=Path, default=None)
    worker_cmd.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    worker_cmd.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)
    path = args.db or database_path()
    try:
        if args.command == "seed":
            return _seed(path, args)
        if args.command == "migrate":
            store = Store(path)
            print(f"{path}: schema version {store.schema_version()}")
            store.close()
            return 0
        workspace = Workspace(Store(path))
        if args.command == "worker":
            return _work(workspace, args.interval, args.once)
        for step in workspace.campaigns.advance():
            print(f"campaign #{step.campaign_id}: {step.from_status.label} -> {step.to_status.label} at {step.at}")
        workspace.store.close()
        return 0
    except HeraldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _work(workspace: Workspace, interval: float, once: bool) -> int:
    """Pass after pass until interrupted: each pass is idempotent, so a restart picks up where it was."""
    try:
        while True:
            done = tick(workspace)
            stamp = f"{utc_now():%Y-%m-%d %H:%M:%S} UTC"
            print(f"{stamp} {len(done.transitions)} status change(s), {len(done.created_runs)} new run(s), "
                  f"{len(done.sent)} run(s) sent", flush=True)
            if once:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0
    finally:
        workspace.store.close()


def _seed(path: Path, args: argparse.Namespace) -> int:
    if args.profiles < 1:
        print("error: --profiles must be at least 1", file=sys.stderr)
        return 2
    if path.exists():
        if args.if_missing:
            print(f"{path} exists; keeping it.")
            return 0
        if args.reset:
            path.unlink()
            Path(f"{path}.wal").unlink(missing_ok=True)
    started = time.perf_counter()
    report = seed(path, profiles=args.profiles, anchor=args.now)
    took = time.perf_counter() - started
    statuses = ", ".join(f"{n} {status}" for status, n in report.campaigns.items())
    print(
        f"Seeded {report.path} in {took:.1f} s: {report.profiles:,} profiles, {report.users} users, "
        f"{report.channel_configs} channel configurations, {report.audiences} audiences, "
        f"{sum(report.campaigns.values())} campaigns ({statuses})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
