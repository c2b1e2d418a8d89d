"""The scheduler: due status changes, due runs, and sending them, pass after pass.

It runs inside the app as one background thread per process, or as `python -m core worker`.
DuckDB lets a single process open the database file, so within that process one lock per store
serialises passes: running the scheduler twice at once never creates or sends a run twice (the
runs table's unique (campaign, due time) key guards creation as well).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from core.campaigns import Transition
from core.delivery import RunProgress
from core.workspace import Workspace

log = logging.getLogger("herald.scheduler")
_LOCKS: dict[int, threading.Lock] = {}
_THREADS: dict[int, threading.Thread] = {}
_GUARD = threading.Lock()


@dataclass(frozen=True)
class Pass:
    transitions: list[Transition]
    created_runs: list[int]
    sent: list[RunProgress]


def _lock(workspace: Workspace) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(id(workspace.store), threading.Lock())


def tick(workspace: Workspace) -> Pass:
    """One pass; a second caller waits for the first and then finds nothing left to do."""
    with _lock(workspace):
        transitions = workspace.campaigns.advance()
        created = workspace.delivery.create_due_runs()
        sent = workspace.delivery.execute_pending()
        return Pass(transitions, created, sent)


def start_in_background(workspace: Workspace, interval: float = 30.0) -> threading.Thread:
    """The app's scheduler thread: at most one per store and process, started on first use."""
    with _GUARD:
        thread = _THREADS.get(id(workspace.store))
        if thread is not None and thread.is_alive():
            return thread

        def loop() -> None:
            while True:
                try:
                    tick(workspace)
                except Exception:  # keep the thread alive; the next pass retries
                    log.exception("scheduler pass failed")
                time.sleep(interval)

        thread = threading.Thread(target=loop, name="herald-scheduler", daemon=True)
        _THREADS[id(workspace.store)] = thread
        thread.start()
        return thread
