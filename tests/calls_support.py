"""Many API calls of an API-triggered campaign, fast: through core (Triggers.begin / commit_now /
end, what the REST API's event loop does), committed in groups, each call at its own time on the
workspace's FakeClock. One call is one run, as over HTTP."""

from __future__ import annotations

import random
from datetime import datetime

from core.api_keys import ApiKey
from core.workspace import Workspace
from factories import FakeClock


def make_calls(ws: Workspace, key: ApiKey, campaign_id: int, start: datetime, end: datetime, calls: int,
               group: int = 500, seed: int = 7) -> None:
    """`calls` calls evenly spread over [start, end), 1 to 4 random profiles each; `ws.clock` must
    be a FakeClock (it is left at the last call's time)."""
    clock = ws.clock
    assert isinstance(clock, FakeClock)
    rng = random.Random(seed)
    profiles = ws.audiences.profiles().get_column("profile_id").to_list()
    for first in range(0, calls, group):
        pendings = []
        for i in range(first, min(calls, first + group)):
            clock.now = start + (end - start) * i / calls
            body = {"recipients": [{"profile_id": p} for p in rng.sample(profiles, rng.randint(1, 4))],
                    "context": {"code": f"{i:06d}"}}
            pendings.append(ws.triggers.begin(key, campaign_id, body))
        try:
            ws.triggers.commit_now(pendings)
            for pending in pendings:
                assert pending.write is None or pending.write.error is None, pending.write.error
                ws.triggers.end(pending)
        finally:
            for pending in pendings:
                ws.triggers.release(pending)
