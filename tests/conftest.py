"""Shared fixtures: seeded workspaces, a real `streamlit run` server, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import utc_now
from core.demo import seed
from core.campaigns import Campaigns
from core.store import Store

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
TEST_PROFILES = 3_000


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace anchored at the real now, so statuses read as they would for a user."""
    path = tmp_path_factory.mktemp("seeded") / "herald.duckdb"
    seed(path, profiles=TEST_PROFILES, anchor=utc_now())
    return path


@pytest.fixture
def app_db(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the in-process app (AppTest) at the seeded workspace."""
    monkeypatch.setenv("HERALD_DB", str(seeded_db))
    monkeypatch.setenv("HERALD_SCHEDULER", "off")  # in-process: keep the numbers still while asserting
    return seeded_db


@pytest.fixture
def private_db(seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the seeded workspace for in-process app tests that change settings, users or keys."""
    Store.shared(seeded_db).cursor().execute("CHECKPOINT")
    path = tmp_path / "herald.duckdb"
    shutil.copy(seeded_db, path)
    monkeypatch.setenv("HERALD_DB", str(path))
    monkeypatch.setenv("HERALD_SCHEDULER", "off")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The browser tests' own database file: DuckDB lets one process open a file, and that is the server."""
    path = tmp_path_factory.mktemp("served") / "herald.duckdb"
    seed(path, profiles=TEST_PROFILES, anchor=utc_now())
    return path


@pytest.fixture(scope="session")
def server_counts(server_db: Path) -> dict[str, int]:
    """Campaigns per status in the served file, read by SQL before the server takes the file."""
    store = Store(server_db)
    try:
        Campaigns(store).advance()  # what the list page does before it shows anything
        rows = store.cursor().execute("SELECT status::VARCHAR, count(*) FROM campaigns GROUP BY ALL").fetchall()
    finally:
        store.close()
    return {status: n for status, n in rows}


@pytest.fixture(scope="session")
def server_api_key(server_db: Path, server_counts: dict[str, int]) -> str:
    """A Manager API key in the served file, made before the server takes the file."""
    from core.enums import Role
    from core.workspace import Workspace

    store = Store(server_db)
    try:
        ws = Workspace(store)
        admin = next(u for u in ws.users() if u.role is Role.ADMINISTRATOR)
        return ws.api_keys.create(admin, "Served tests", Role.MANAGER)[1]
    finally:
        store.close()


@pytest.fixture(scope="session")
def server_tracking(server_db: Path, server_counts: dict[str, int]) -> dict[str, str]:
    """Genuine open and click tokens of a run in the served file (signed with its key, made before the
    server takes the file), and the click's target."""
    from core.tracking import Tracking

    store = Store(server_db)
    try:
        run_id, campaign_id, version = store.cursor().execute(
            "SELECT id, campaign_id, version FROM runs ORDER BY id LIMIT 1").fetchall()[0]
        track, target = Tracking(store), "https://shop.example/served?x=1"
        return {"open": track.open_token(run_id, campaign_id, version, 1),
                "click": track.click_token(run_id, campaign_id, version, 1, target), "target": target}
    finally:
        store.close()


def serve(db: Path) -> Iterator[str]:
    """`streamlit run app.py` (the dashboard and the REST API) on 127.0.0.1 and a free port, as a
    user would start it, on the database file `db`. A generator for fixtures: it yields the base URL
    once and stops the server when resumed (`yield from serve(path)`, or `for url in serve(path)`)."""
    port = _free_port()
    env = {**os.environ, "HERALD_DB": str(db), "PYTHONPATH": str(ROOT)}
    log_path = db.parent / "streamlit.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError(f"streamlit did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url(server_db: Path, server_counts: dict[str, int], server_api_key: str,
            server_tracking: dict[str, str]) -> Iterator[str]:
    """The served app (see `serve`) on the browser tests' own database file."""
    yield from serve(server_db)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a downloaded browser; no background traffic on a closed network."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1500, "height": 1000}}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
