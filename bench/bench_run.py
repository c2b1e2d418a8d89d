"""A 1,000,000-recipient sandbox run end to end: audience resolved at run time, exclusions,
rendering of subject and body, simulated hand-off and outcomes, events written to DuckDB.

Run: `.venv/bin/python -m bench.bench_run [--profiles N] [--repeats K]`. Target (issue 4): <= 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.enums import Role
from core.profiles import generate_profiles
from core.store import Store
from core.workspace import Workspace

NOW = datetime(2026, 11, 23, 9, 0)
TARGET_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    clock = [NOW]
    ws = Workspace(Store(":memory:"), clock=lambda: clock[0])
    admin = ws.add_user(None, "Bench", "bench@herald.example", Role.ADMINISTRATOR)
    ws.set_approval_required(admin, False)
    ws.replace_profiles(admin, generate_profiles(args.profiles, now=NOW))
    config = ws.add_channel_config(
        admin, {"name": "Email", "channel": "email", "sender_address": "news@herald.example", "throttle_per_second": 2000}
    )
    everyone = ws.audiences.create_from_rule(
        admin, "Everyone", "", {"match": "all", "rules": [{"attribute": "profile_id", "operator": "gte", "value": 1}]}
    )
    campaign = ws.campaigns.create(admin, {
        "name": "Bench", "channel_config_id": config.id, "audience_id": everyone.id,
        "content": {"subject": "{{profile.first_name|Hello}}, our winter picks",
                    "body": "Hi {{profile.first_name|there}} {{profile.last_name}},\nnew in {{profile.city}}: "
                            "members at {{profile.loyalty_tier}} level save more. Since {{profile.signup_at}}."},
        "schedule": {"timezone": "UTC"},
    })
    campaign = ws.campaigns.activate(admin, campaign.id, campaign.revision)
    ws.audiences.profiles()  # the app holds the profile frame in memory already

    times, events = [], 0
    for i in range(args.repeats):
        run_id = ws.delivery.run_at(campaign, NOW + timedelta(days=i))
        assert run_id is not None
        clock[0] = NOW + timedelta(days=i)
        started = time.perf_counter()
        progress = ws.delivery.execute(run_id)
        times.append(time.perf_counter() - started)
        assert progress.status == "finished" and progress.processed == args.profiles
    events = ws.store.cursor().execute("SELECT count(*) FROM delivery_events").fetchall()[0][0] // args.repeats
    median = statistics.median(times)
    verdict = "PASS" if median <= TARGET_SECONDS * args.profiles / 1_000_000 else "FAIL"
    print(f"{'recipients':>12} {'events':>10} {'median s':>9} {'min s':>7} {'recipients/s':>13} {'target':>8} result")
    print(f"{args.profiles:>12,} {events:>10,} {median:9.2f} {min(times):7.2f} {args.profiles / median:13,.0f} "
          f"{'<= 5 s':>8} {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
