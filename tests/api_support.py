"""A workspace for the REST API tests: the factory world (a user per role, a configuration per
channel) plus profiles, a Live API-triggered email campaign with profile and context tokens, and an
API key per role. Import what you need explicitly (conftest.py belongs to the UI tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from core.api_keys import ApiKey
from core.audiences import exclusion_reason
from core.enums import CampaignType, Channel, Purpose, Role
from core.models import Campaign
from core.profiles import generate_profiles
from factories import World, build_world

PROFILES = 400
CONTENT = {"subject": "Reset your password, {{profile.first_name|friend}}",
           "body": "Hi {{profile.first_name|there}}, your code is {{context.code}} ({{context.order_id|no order}})."}
# Every table an API call may write to: "nothing was written" means all of them are unchanged.
TABLES = ("campaigns", "campaign_versions", "audit_log", "runs", "delivery_events", "api_keys", "api_triggers",
          "settings", "users")


@dataclass
class ApiWorld:
    world: World
    campaign: Campaign
    keys: dict[Role, tuple[ApiKey, str]]  # role -> (key, plain text)

    @property
    def ws(self) -> Any:
        return self.world.ws

    def auth(self, role: Role = Role.MANAGER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role][1]}"}

    def profiles(self) -> pl.DataFrame:
        """The profiles with their exclusion reason on email (null: reachable)."""
        return self.ws.audiences.profiles().with_columns(exclusion_reason(Channel.EMAIL))

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        cur = self.ws.store.cursor()
        return {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}

    def api_campaign(self, **overrides: Any) -> Campaign:
        """Another API-triggered campaign, activated unless `activate=False`."""
        activate = overrides.pop("activate", True)
        spec = {"name": overrides.pop("name", f"API {len(self.ws.campaigns.list_frame(self.world.admin)) + 1}"),
                "type": CampaignType.API_TRIGGERED.value, "purpose": Purpose.TRANSACTIONAL.value,
                "channel": "email", "channel_config_id": self.world.configs[Channel.EMAIL].id, "content": CONTENT,
                "schedule": {"timezone": "UTC"}, **overrides}
        c = self.ws.campaigns.create(self.world.admin, spec)
        return self.ws.campaigns.activate(self.world.admin, c.id, c.revision) if activate else c


def build_api_world() -> ApiWorld:
    w = build_world()
    w.approval_off()
    w.ws.replace_profiles(w.admin, generate_profiles(PROFILES, seed=11, now=w.clock.now))
    c = w.svc.create(w.manager, {
        "name": "Password reset", "type": CampaignType.API_TRIGGERED.value, "purpose": Purpose.TRANSACTIONAL.value,
        "channel": "email", "channel_config_id": w.configs[Channel.EMAIL].id, "content": CONTENT,
        "schedule": {"timezone": "UTC"},
    })
    c = w.svc.activate(w.admin, c.id, c.revision)
    keys = {role: w.ws.api_keys.create(w.admin, f"{role.label} service", role) for role in Role}
    return ApiWorld(w, c, keys)


@pytest.fixture
def api_world() -> Iterator[ApiWorld]:
    found = build_api_world()
    yield found
    found.world.store.close()


@pytest.fixture
def client(api_world: ApiWorld) -> Iterator[TestClient]:
    with TestClient(create_app(api_world.ws)) as found:
        yield found


def reachable(api_world: ApiWorld, n: int) -> list[int]:
    """Profile ids email can reach (not suppressed, with an address and consent)."""
    frame = api_world.profiles().filter(pl.col("reason").is_null())
    return frame.get_column("profile_id").head(n).to_list()


def excluded_by(api_world: ApiWorld, reason: str) -> int | None:
    frame = api_world.profiles().filter(pl.col("reason") == reason)
    return int(frame.get_column("profile_id")[0]) if frame.height else None
