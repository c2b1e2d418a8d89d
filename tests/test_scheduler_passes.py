"""The scheduler pass: statuses, runs and sending together; two at once never double anything."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from core.enums import Role, Status
from core.profiles import generate_profiles
from core.scheduler import tick
from core.store import Store
from core.workspace import Workspace

NOW = datetime(2026, 11, 23, 9, 0)


def test_concurrent_passes_create_and_send_each_run_once() -> None:
    clock = [NOW]
    ws = Workspace(Store(":memory:"), clock=lambda: clock[0])
    admin = ws.add_user(None, "Ada", "ada@herald.example", Role.ADMINISTRATOR)
    ws.set_approval_required(admin, False)
    ws.replace_profiles(admin, generate_profiles(3_000, now=NOW))
    config = ws.add_channel_config(admin, {"name": "Email", "channel": "email", "sender_address": "n@herald.example"})
    audience = ws.audiences.create_from_rule(
        admin, "All", "", {"match": "all", "rules": [{"attribute": "profile_id", "operator": "gte", "value": 1}]}
    )
    c = ws.campaigns.create(admin, {
        "name": "Daily", "channel_config_id": config.id, "audience_id": audience.id,
        "content": {"subject": "Hi", "body": "Hello {{profile.first_name|there}}"},
        "schedule": {"timezone": "UTC", "starts_at": "2026-11-23T10:00", "recurrence": "daily"},
    })
    c = ws.campaigns.activate(admin, c.id, c.revision)
    assert c.status is Status.SCHEDULED
    clock[0] = NOW + timedelta(hours=1, minutes=5)
    threads = [threading.Thread(target=tick, args=(ws,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = ws.store.cursor().execute("SELECT count(*), min(status::VARCHAR) FROM runs").fetchall()[0]
    assert runs == (1, "finished")
    dispositions = ws.store.cursor().execute(
        "SELECT count(*), count(DISTINCT profile_id) FROM delivery_events WHERE event IN ('excluded', 'sent', 'error')"
    ).fetchall()[0]
    assert dispositions == (3_000, 3_000)
    assert ws.campaigns.get(admin, c.id).status is Status.LIVE
    assert tick(ws).created_runs == []
