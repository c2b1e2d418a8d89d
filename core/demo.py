"""The demo workspace: users for every role, a channel configuration per channel, profiles,
audiences and 40+ campaigns whose histories were made by the real campaign actions.

Everything is deterministic for a given anchor time and profile count: campaigns are played
through the service on a scripted clock, so their statuses and audit trails are genuine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.clock import utc_now
from core.enums import CampaignType, Channel, Purpose, Recurrence, Role, Status
from core.errors import HeraldError
from core.models import Audience, Campaign, ChannelConfig, User
from core.profiles import generate_profiles
from core.delivery import due_slots
from core.store import Store
from core.store import campaign_rows
from core.workspace import Workspace

DEFAULT_PROFILES = 100_000
HISTORY_DAYS = 90

USERS: tuple[tuple[str, str, Role], ...] = (
    ("Vera Viewer", "vera.viewer@herald.example", Role.VIEWER),
    ("Mia Manager", "mia.manager@herald.example", Role.MANAGER),
    ("Max Manager", "max.manager@herald.example", Role.MANAGER),
    ("Ari Approver", "ari.approver@herald.example", Role.APPROVER),
    ("Ada Admin", "ada.admin@herald.example", Role.ADMINISTRATOR),
)

CHANNEL_CONFIGS: tuple[dict[str, Any], ...] = (
    {"name": "Email · Newsletters", "channel": "email", "sender_name": "Herald Outdoor",
     "sender_address": "news@herald.example", "reply_to": "care@herald.example", "throttle_per_second": 500},
    {"name": "Email · Transactional", "channel": "email", "sender_name": "Herald Outdoor Orders",
     "sender_address": "orders@herald.example", "throttle_per_second": 1000, "tracking": False},
    {"name": "SMS · Alerts", "channel": "sms", "sender_name": "HERALD", "sender_address": "HERALD",
     "throttle_per_second": 50},
    {"name": "SMS · Legacy gateway", "channel": "sms", "sender_name": "Herald", "sender_address": "+15550100",
     "throttle_per_second": 10},
    {"name": "Push · Mobile app", "channel": "push", "sender_name": "Herald app",
     "sender_address": "com.herald.outdoor", "throttle_per_second": 2000},
    {"name": "In-app · Web and app", "channel": "in_app", "sender_name": "Herald",
     "sender_address": "herald-web", "throttle_per_second": 2000},
    {"name": "Webhook · Order events", "channel": "webhook", "sender_name": "Herald",
     "sender_address": "order-events", "throttle_per_second": 200},
)

AUDIENCES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("All subscribers", "Every profile that opted in to email.",
     {"match": "all", "rules": [{"attribute": "email_opt_in", "operator": "is_true"}]}),
    ("Loyalty gold & platinum", "Top loyalty tiers.",
     {"match": "all", "rules": [{"attribute": "loyalty_tier", "operator": "in", "value": ["gold", "platinum"]}]}),
    ("North America", "Profiles in the US and Canada.",
     {"match": "all", "rules": [{"attribute": "country", "operator": "in", "value": ["US", "CA"]}]}),
    ("Europe — DACH & France", "Germany, France and nearby.",
     {"match": "all", "rules": [{"attribute": "country", "operator": "in", "value": ["DE", "FR"]}]}),
    ("Lapsed buyers (180 days)", "Bought before, nothing in the last 180 days.",
     {"match": "all", "rules": [{"attribute": "last_purchase_at", "operator": "more_than_days_ago", "value": 180}]}),
    ("New sign-ups (30 days)", "Joined in the last 30 days.",
     {"match": "all", "rules": [{"attribute": "signup_at", "operator": "within_last_days", "value": 30}]}),
    ("High value (LTV ≥ 1,000)", "Lifetime value of 1,000 or more.",
     {"match": "all", "rules": [{"attribute": "lifetime_value", "operator": "gte", "value": 1000}]}),
    ("Young adults 18–24", "Ages 18 to 24.",
     {"match": "all", "rules": [{"attribute": "age", "operator": "between", "value": [18, 24]}]}),
    ("SMS opted-in", "Profiles that accept SMS.",
     {"match": "all", "rules": [{"attribute": "sms_opt_in", "operator": "is_true"}]}),
    ("App users", "Profiles that accept push notifications.",
     {"match": "all", "rules": [{"attribute": "push_opt_in", "operator": "is_true"}]}),
)

_CONTENT: dict[Channel, dict[str, str]] = {
    Channel.EMAIL: {"subject": "{name}, {{profile.first_name|friend}}", "body":
                    "Hi {{profile.first_name|there}},\n\n{name}: see what's new at Herald Outdoor."},
    Channel.SMS: {"body": "Herald: {name}. Reply STOP to opt out."},
    Channel.PUSH: {"subject": "{name}", "body": "{{profile.first_name|Hey}}, tap to see {name}."},
    Channel.IN_APP: {"subject": "{name}", "body": "Don't miss {name}."},
    Channel.WEBHOOK: {"body": '{"event": "{name}", "profile": "{{profile.profile_id}}"}'},
}


@dataclass(frozen=True)
class Plan:
    """One demo campaign's story: what it is, and how far its life has gone."""

    name: str
    channel: Channel
    story: str  # draft, review, scheduled, live, completed, stopped, failed, archived, activating
    days_ago: float
    audience: str | None
    tags: tuple[str, ...] = ()
    type: CampaignType = CampaignType.SCHEDULED
    purpose: Purpose = Purpose.MARKETING
    recurrence: Recurrence = Recurrence.NONE
    start_in: float | None = None  # days after approval; None: send on activation
    run_days: float | None = None  # days from start to end (recurring or API window)
    timezone: str = "UTC"
    open_draft: str | None = None  # "editing" or "review": a new version on a Live/Scheduled one
    creator: str = "mia"
    config: str | None = None
    end_days_ago: float | None = None  # when the stop/archive happened
    extra: dict[str, Any] = field(default_factory=dict)


E, S, P, I, W = Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.IN_APP, Channel.WEBHOOK
API, TX = CampaignType.API_TRIGGERED, Purpose.TRANSACTIONAL
D, WK, M = Recurrence.DAILY, Recurrence.WEEKLY, Recurrence.MONTHLY

PLANS: tuple[Plan, ...] = (
    Plan("Spring collection teaser", E, "draft", 2, "All subscribers", ("spring", "launch")),
    Plan("Trail running guide", E, "draft", 5, "Young adults 18–24", ("content",), creator="max"),
    Plan("Store opening Lyon", S, "draft", 1, "Europe — DACH & France", ("store", "fr"), timezone="Europe/Paris"),
    Plan("Loyalty tier upgrade", P, "draft", 8, None, ("loyalty",)),
    Plan("Referral programme", I, "draft", 3, "App users", ("referral",), creator="max"),
    Plan("Holiday gift guide", E, "review", 2, "All subscribers", ("holiday", "gifts")),
    Plan("Flash sale SMS", S, "review", 1, "SMS opted-in", ("sale",), creator="max"),
    Plan("Cyber Monday early access", E, "scheduled", 6, "Loyalty gold & platinum", ("black-friday", "vip"),
         start_in=12, timezone="America/New_York"),
    Plan("Black Friday countdown", P, "scheduled", 4, "App users", ("black-friday",), start_in=6,
         open_draft="editing"),
    Plan("Winter boots launch", E, "scheduled", 3, "North America", ("winter", "launch"), start_in=15,
         timezone="America/New_York", open_draft="review"),
    Plan("Year in review", E, "scheduled", 2, "All subscribers", ("newsletter",), start_in=35, creator="max"),
    Plan("Ski season opening", S, "scheduled", 1, "Europe — DACH & France", ("winter",), start_in=9,
         timezone="Europe/Paris"),
    Plan("Weekly deals digest", E, "live", 40, "All subscribers", ("newsletter", "deals"), recurrence=WK,
         start_in=1, timezone="Europe/London", open_draft="editing"),
    Plan("Daily trail report", P, "live", 20, "App users", ("content",), recurrence=D, start_in=1),
    Plan("Monthly member perks", E, "live", 70, "Loyalty gold & platinum", ("loyalty", "vip"), recurrence=M,
         start_in=2, creator="max"),
    Plan("New arrivals this week", E, "live", 2, "New sign-ups (30 days)", ("arrivals",)),
    Plan("Back in stock alert", S, "live", 1, "SMS opted-in", ("stock",)),
    Plan("Order confirmation", E, "live", 90, None, ("orders",), type=API, purpose=TX,
         config="Email · Transactional", open_draft="review"),
    Plan("Password reset", E, "live", 120, None, ("account", "security"), type=API, purpose=TX,
         config="Email · Transactional"),
    Plan("Delivery update SMS", S, "live", 60, None, ("orders",), type=API, purpose=TX),
    Plan("Abandoned cart nudge", P, "live", 30, None, ("cart",), type=API),
    Plan("Order event relay", W, "live", 45, None, ("orders", "integration"), type=API, purpose=TX),
    Plan("In-app survey", I, "live", 1, "App users", ("survey",)),
    Plan("Summer clearance", E, "completed", 60, "All subscribers", ("sale", "summer")),
    Plan("Back to school", E, "completed", 80, "Young adults 18–24", ("seasonal",), creator="max"),
    Plan("Autumn hiking tips", P, "completed", 25, "App users", ("content",)),
    Plan("Flash sale October", S, "completed", 40, "SMS opted-in", ("sale",)),
    Plan("Halloween in-store", I, "completed", 30, "App users", ("seasonal",)),
    Plan("Win-back offer", E, "completed", 50, "Lapsed buyers (180 days)", ("winback",)),
    Plan("Daily October deals", E, "completed", 55, "All subscribers", ("deals",), recurrence=D, start_in=1,
         run_days=14),
    Plan("VIP preview nights", E, "completed", 45, "High value (LTV ≥ 1,000)", ("vip",), creator="max"),
    Plan("Prime day rival sale", E, "completed", 100, "North America", ("sale",), timezone="America/New_York"),
    Plan("Festival giveaway", P, "stopped", 35, "App users", ("contest",), recurrence=D, start_in=1,
         end_days_ago=20, extra={"reason": "Prize supply ran out"}),
    Plan("Price error promo", E, "stopped", 15, "All subscribers", ("sale",), end_days_ago=14.8,
         extra={"reason": "Wrong discount code in the body"}),
    Plan("Weekly stock alerts", S, "stopped", 50, "SMS opted-in", ("stock",), recurrence=WK, start_in=1,
         end_days_ago=10, extra={"reason": "Replaced by push alerts"}),
    Plan("Legacy SMS reminder", S, "failed", 6, "SMS opted-in", ("reminder",), config="SMS · Legacy gateway"),
    Plan("Spring sale 2026", E, "archived", 240, "All subscribers", ("sale", "spring"), end_days_ago=200),
    Plan("Easter egg hunt", P, "archived", 220, "App users", ("seasonal",), end_days_ago=190),
    Plan("Mother's day gifts", E, "archived", 200, "All subscribers", ("gifts",), end_days_ago=180),
    Plan("Old onboarding series", E, "archived", 300, "New sign-ups (30 days)", ("onboarding",), recurrence=D,
         start_in=1, run_days=60, end_days_ago=230),
    Plan("Survey sweepstakes", I, "archived", 150, "App users", ("survey",), end_days_ago=140),
    Plan("Gift card reminder", E, "activating", 0.01, "Loyalty gold & platinum", ("gifts",)),
)


@dataclass(frozen=True)
class SeedReport:
    path: str
    profiles: int
    users: int
    channel_configs: int
    audiences: int
    campaigns: dict[str, int]


class _ScriptClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def seed(path: str | Path, profiles: int = DEFAULT_PROFILES, anchor: datetime | None = None) -> SeedReport:
    """Create the demo workspace in a new database file at `path` (refuses an existing one)."""
    path = Path(path)
    if path.exists():
        raise HeraldError(f"{path} already exists; delete it (or pass --reset) to seed a new demo workspace.")
    anchor = (anchor or utc_now()).replace(second=0, microsecond=0)
    store = Store(path)
    try:
        return _seed(store, path, profiles, anchor)
    except BaseException:
        store.close()
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)
        raise
    finally:
        store.close()


def _seed(store: Store, path: Path, profiles: int, anchor: datetime) -> SeedReport:
    clock = _ScriptClock(anchor - timedelta(days=400))
    workspace = Workspace(store, clock)
    users = _add_users(workspace)
    admin = users["ada"]
    configs = {c["name"]: workspace.add_channel_config(admin, c) for c in CHANNEL_CONFIGS}
    workspace.set_frequency_cap(admin, Channel.EMAIL, 6, days=7)  # the demo shows frequency-cap exclusions
    workspace.replace_profiles(admin, generate_profiles(profiles, now=anchor))
    audiences = {
        name: workspace.audiences.create_from_rule(users["mia"], name, text, rule)
        for name, text, rule in AUDIENCES
    }

    story = _Storyteller(workspace, clock, users, configs, audiences, anchor)
    last = [p for p in PLANS if p.story == "activating"]
    for plan in [p for p in PLANS if p.story != "activating"]:
        story.play(plan)
    clock.now = anchor
    workspace.campaigns.advance(anchor)
    for plan in last:  # activation still in progress: after the scheduler's last pass
        story.play(plan)
    story.duplicate("Price error promo", days_ago=0.5)
    _play_history(workspace, clock, anchor - timedelta(days=HISTORY_DAYS), anchor)
    clock.now = anchor
    workspace.audiences.refresh(admin)  # sizes as of now, not as of when each audience was made

    counts = (
        workspace.campaigns.list_frame(admin).group_by("status").len().sort("status").rows()
    )
    return SeedReport(
        path=str(path),
        profiles=workspace.profile_count(),
        users=len(users),
        channel_configs=len(configs),
        audiences=len(audiences),
        campaigns={status: n for status, n in counts},
    )


def _play_history(workspace: Workspace, clock: _ScriptClock, since: datetime, anchor: datetime) -> None:
    """Every send of the last HISTORY_DAYS, run through the sandbox at the time it was due."""
    store = workspace.store
    campaigns = campaign_rows.fetch_campaigns_with_status(
        store.cursor(), (Status.LIVE, Status.COMPLETED, Status.STOPPED, Status.ARCHIVED)
    )
    sends = sorted(
        (slot, campaign.id)
        for campaign in campaigns
        for slot in due_slots(campaign, min(campaign.ended_at or anchor, anchor))
        if slot >= since
    )
    by_id = {c.id: c for c in campaigns}
    for slot, campaign_id in sends:
        clock.now = slot
        run_id = workspace.delivery.run_at(by_id[campaign_id], slot)
        if run_id is not None:
            workspace.delivery.execute(run_id)


def _add_users(workspace: Workspace) -> dict[str, User]:
    """The Administrator comes first (a new workspace's first user), then adds everyone else."""
    admin_row = next(u for u in USERS if u[2] is Role.ADMINISTRATOR)
    admin = workspace.add_user(None, *admin_row)
    users = {"ada": admin}
    for name, email, role in USERS:
        if role is not Role.ADMINISTRATOR:
            users[name.split()[0].lower()] = workspace.add_user(admin, name, email, role)
    return users


class _Storyteller:
    """Plays a Plan through the real campaign actions on a scripted clock."""

    def __init__(
        self,
        workspace: Workspace,
        clock: _ScriptClock,
        users: dict[str, User],
        configs: dict[str, ChannelConfig],
        audiences: dict[str, Audience],
        anchor: datetime,
    ) -> None:
        self.ws, self.svc, self.clock = workspace, workspace.campaigns, clock
        self.users, self.configs, self.audiences, self.anchor = users, configs, audiences, anchor
        self.ids: dict[str, int] = {}

    def at(self, when: datetime) -> Campaign | None:
        """Move the clock (never backwards) and let the scheduler catch up, as it would have."""
        self.clock.now = max(self.clock.now, when)
        self.svc.advance(self.clock.now)
        return None

    def fresh(self, campaign_id: int) -> Campaign:
        return self.svc.get(self.users["ada"], campaign_id)

    def spec(self, plan: Plan, created: datetime) -> dict[str, Any]:
        config = plan.config or next(c["name"] for c in CHANNEL_CONFIGS if c["channel"] == plan.channel.value)
        content = {k: v.replace("{name}", plan.name) for k, v in _CONTENT[plan.channel].items()}
        schedule: dict[str, Any] = {"timezone": plan.timezone, "recurrence": plan.recurrence.value}
        if plan.start_in is not None:
            start = _local_nine(created + timedelta(days=plan.start_in), plan.timezone)
            schedule["starts_at"] = start
            if plan.run_days is not None:
                schedule["ends_at"] = start + timedelta(days=plan.run_days)
        return {
            "name": plan.name,
            "description": f"{plan.purpose.label} {plan.channel.label.lower()} campaign: {plan.name.lower()}.",
            "tags": plan.tags,
            "type": plan.type.value,
            "purpose": plan.purpose.value,
            "channel": plan.channel.value,
            "channel_config_id": self.configs[config].id,
            "audience_id": self.audiences[plan.audience].id if plan.audience else None,
            "content": content,
            "schedule": schedule,
        }

    def play(self, plan: Plan) -> None:
        creator = self.users[plan.creator]
        approver = self.users["ari"]
        created = self.anchor - timedelta(days=plan.days_ago)
        self.clock.now = created  # each story keeps its own timeline
        spec = self.spec(plan, created)
        if plan.story == "draft":
            # a half-finished draft: no schedule yet, and nothing sent for review
            spec = {**spec, "schedule": None} if plan.days_ago > 4 else spec
        campaign = self.svc.create(creator, spec)
        self.ids[plan.name] = campaign.id
        if plan.story == "draft":
            return
        self.at(created + timedelta(hours=1))
        campaign = self.svc.request_approval(creator, campaign.id, self.fresh(campaign.id).revision)
        if plan.story == "review":
            return
        self.at(created + timedelta(hours=3))
        defer = plan.story in ("activating", "failed")
        campaign = self.svc.approve(approver, campaign.id, campaign.revision, "Looks good.", defer=defer)
        if plan.story == "failed":  # the gateway is switched off before the worker finishes activating
            self.clock.now = created + timedelta(hours=3, minutes=5)
            config = self.configs[plan.config or ""]
            self.ws.set_channel_config_enabled(self.users["ada"], config.id or 0, False)
            self.at(created + timedelta(hours=3, minutes=30))
            return
        if plan.story == "activating":
            return
        if plan.open_draft:
            self.at(min(created + timedelta(days=1), self.anchor - timedelta(hours=6)))
            campaign = self.fresh(campaign.id)
            campaign = self.svc.modify(creator, campaign.id, campaign.revision)
            new_content = dict(spec["content"])
            new_content["body"] = new_content["body"] + " Now with free returns."
            campaign = self.svc.edit(creator, campaign.id, campaign.revision, {**spec, "content": new_content})
            if plan.open_draft == "review":
                self.svc.request_approval(creator, campaign.id, campaign.revision)
        if plan.end_days_ago is not None:
            self.at(self.anchor - timedelta(days=plan.end_days_ago))
            campaign = self.fresh(campaign.id)
            if plan.story == "stopped":
                self.svc.stop(approver, campaign.id, campaign.revision, plan.extra.get("reason"))
            else:
                self.svc.archive(self.users["ada"], campaign.id, campaign.revision)

    def duplicate(self, name: str, days_ago: float) -> None:
        self.clock.now = self.anchor - timedelta(days=days_ago)
        self.svc.duplicate(self.users["mia"], self.ids[name])


def _local_nine(moment: datetime, timezone: str) -> datetime:
    """9:00 wall-clock time on `moment`'s date in `timezone` (a natural send time)."""
    from zoneinfo import ZoneInfo

    local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone))
    return local.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
