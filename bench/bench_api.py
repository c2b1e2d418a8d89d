"""The REST API under load, as served: `streamlit run app.py` on 127.0.0.1 (the dashboard and the
API in one process, scheduler on), its own database with 100,000 profiles and a Live API-triggered
sandbox email campaign, and this process firing trigger calls over keep-alive connections (one
asyncio client per connection, each sending its next call when the previous answer is in). Every
call names one reachable profile with a context; after a warm-up that is not counted, a fixed
number of calls (and at most a fixed time) are timed one by one.

Afterwards the server is stopped and the file is read: every answered call must be one run with
its events (nothing lost, nothing sent twice).

Run: `.venv/bin/python -m bench.bench_api [--profiles N] [--requests N] [--connections N]`.
Target (issue 7): >= 1,000 requests/s with p99 <= 50 ms on the 2-core machine, for the calls with
an Idempotency-Key (what a client should send). The load generator shares those two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from core.audiences import exclusion_reason
from core.enums import Channel, Role
from core.profiles import generate_profiles
from core.store import Store
from core.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
TARGET_RPS = 1000
TARGET_P99_MS = 50.0
WARMUP_SECONDS = 2.0
MAX_SECONDS = 30.0  # per scenario: the loop stops by itself, whatever the count


@dataclass(frozen=True)
class Result:
    name: str
    connections: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int
    answered: int  # calls answered 200, warm-up and extra ones included: what the store must hold
    idempotent: bool

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(path: Path, profiles: int) -> tuple[int, str, list[int]]:
    """The bench's workspace: (campaign id, a Manager key, reachable profile ids)."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    store = Store(path)
    try:
        ws = Workspace(store)
        admin = ws.add_user(None, "Bench Admin", "bench@herald.example", Role.ADMINISTRATOR)
        ws.set_approval_required(admin, False)
        ws.replace_profiles(admin, generate_profiles(profiles, now=now))
        config = ws.add_channel_config(admin, {"name": "Email · Transactional", "channel": "email",
                                               "sender_address": "orders@herald.example",
                                               "throttle_per_second": 1000})
        campaign = ws.campaigns.create(admin, {
            "name": "Password reset", "type": "api_triggered", "purpose": "transactional", "channel": "email",
            "channel_config_id": config.id, "schedule": {"timezone": "UTC"},
            "content": {"subject": "Reset your password, {{profile.first_name|friend}}",
                        "body": "Hi {{profile.first_name|there}}, your code is {{context.code}}. "
                                "It expires at {{context.expires|midnight}}."},
        })
        campaign = ws.campaigns.activate(admin, campaign.id, campaign.revision)
        _, key = ws.api_keys.create(admin, "Bench client", Role.MANAGER)
        reachable = ws.audiences.profiles().filter(exclusion_reason(Channel.EMAIL).is_null())
        return campaign.id, key, reachable.get_column("profile_id").head(50_000).to_list()
    finally:
        store.close()


def serve(path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HERALD_DB": str(path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the server did not start:\n{log.read_text()[-2000:]}")


def fire(port: int, campaign_id: int, key: str, profile_ids: list[int], name: str, connections: int,
         requests: int, idempotent: bool, recipients: int = 1) -> Result:
    """`requests` calls (after the warm-up) over `connections` keep-alive connections, each a
    client that sends its next call when the previous answer is in (a closed loop). The client is
    asyncio on raw sockets (requests pre-rendered as bytes): it must cost the server's two cores as
    little as possible, since it shares them (http.client in threads cost 4x more per call)."""
    return asyncio.run(_fire(port, campaign_id, key, profile_ids, name, connections, requests, idempotent,
                             recipients))


async def _fire(port: int, campaign_id: int, key: str, profile_ids: list[int], name: str, connections: int,
                requests: int, idempotent: bool, recipients: int) -> Result:
    counter = itertools.count()
    head = (f"POST /api/v1/campaigns/{campaign_id}/trigger HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n")
    stamp = f"{''.join(c for c in name if c.isalnum())[:24]}-{time.time_ns()}"  # a valid, fresh key prefix
    start_measuring = time.perf_counter() + WARMUP_SECONDS
    stop_at = start_measuring + MAX_SECONDS
    timings: list[list[tuple[float, float, bool]]] = [[] for _ in range(connections)]
    enough = [False]

    def request(i: int) -> bytes:
        picked = ",".join(f'{{"profile_id":{profile_ids[(i * recipients + j) % len(profile_ids)]}}}'
                          for j in range(recipients))
        body = f'{{"recipients":[{picked}],"context":{{"code":"{i % 1_000_000:06d}"}}}}'.encode()
        extra = f"Idempotency-Key: {stamp}-{i}\r\n" if idempotent else ""
        return f"{head}{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body

    async def client(mine: list[tuple[float, float, bool]]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        measured = 0
        try:
            while not enough[0]:
                payload = request(next(counter))
                started = time.perf_counter()
                if started > stop_at:
                    break
                try:
                    writer.write(payload)
                    status_line = await reader.readuntil(b"\r\n")
                    headers = await reader.readuntil(b"\r\n\r\n")
                    length = int(_CONTENT_LENGTH.search(headers).group(1))  # type: ignore[union-attr]
                    await reader.readexactly(length)
                    ok = status_line.split(b" ", 2)[1] == b"200"
                except (OSError, asyncio.IncompleteReadError, AttributeError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                mine.append((started, time.perf_counter(), ok))
                if started >= start_measuring:
                    measured += 1
                    if measured * connections >= requests * 1.1:  # every client did its share, and a bit
                        enough[0] = True
        finally:
            writer.close()

    await asyncio.gather(*(client(mine) for mine in timings))
    timed = sorted(t for mine in timings for t in mine if t[0] >= start_measuring)[:requests]
    seconds = max(end for _, end, _ in timed) - timed[0][0] if timed else 0.0
    answered = sum(ok for mine in timings for _, _, ok in mine)
    return Result(name, connections, len(timed), seconds, [(end - start) * 1000 for start, end, _ in timed],
                  sum(not ok for _, _, ok in timed), answered, idempotent)


_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15_000, help="timed calls per scenario")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="herald-bench-api-") as tmp:
        db = Path(tmp) / "herald.duckdb"
        print(f"Building the workspace ({args.profiles:,} profiles)…", flush=True)
        campaign_id, key, profile_ids = build(db, args.profiles)
        port = _free_port()
        proc = serve(db, port, Path(tmp) / "server.log")
        results: list[Result] = []
        try:
            scenarios = [
                ("1 recipient, Idempotency-Key", True, 1, args.connections),
                ("1 recipient, no key", False, 1, args.connections),
                ("1 recipient, Idempotency-Key, 8 conn.", True, 1, 8),
                ("10 recipients, Idempotency-Key", True, 10, args.connections),
            ]
            for name, idempotent, recipients, connections in scenarios:
                print(f"  {name}: warming up {WARMUP_SECONDS:.0f} s, then {args.requests:,} timed calls…", flush=True)
                results.append(fire(port, campaign_id, key, profile_ids, name, connections, args.requests,
                                    idempotent, recipients))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        store = Store(db)
        try:
            runs, api_records = store.cursor().execute(
                "SELECT (SELECT count(*) FROM runs WHERE api_key_id IS NOT NULL), (SELECT count(*) FROM api_triggers)"
            ).fetchall()[0]
            dispositions = store.cursor().execute(
                "SELECT count(*) FROM delivery_events WHERE event IN ('sent', 'error', 'excluded')").fetchall()[0][0]
        finally:
            store.close()
    header = f"{'scenario':<40} {'conn.':>5} {'calls':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'failed':>6}"
    print("\n" + header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:<40} {r.connections:>5} {r.requests:>7,} {r.rps:>8,.0f} {r.percentile(0.5):>7.1f} "
              f"{r.percentile(0.99):>7.1f} {max(r.latencies_ms, default=0):>7.1f} {r.failures:>6}")
    answered = sum(r.answered for r in results)
    keyed = sum(r.answered for r in results if r.idempotent)
    consistent = runs == answered and api_records == keyed
    print(f"\nRecorded: {runs:,} API runs and {api_records:,} idempotency records for {answered:,} answered calls "
          f"({keyed:,} with a key), {dispositions:,} recipient outcomes: "
          f"{'every answered call is one run' if consistent else 'MISMATCH'}. "
          f"Machine: {os.cpu_count()} cores shared by the server and this load generator.")
    main_result = results[0]
    ok = (main_result.rps >= TARGET_RPS and main_result.percentile(0.99) <= TARGET_P99_MS
          and not main_result.failures and consistent)
    print(f"Target ({main_result.name}): >= {TARGET_RPS:,} req/s and p99 <= {TARGET_P99_MS:.0f} ms: "
          f"{'met' if ok else 'MISSED'} ({main_result.rps:,.0f} req/s, p99 {main_result.percentile(0.99):.1f} ms).")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
