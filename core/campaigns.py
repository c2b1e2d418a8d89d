"""Campaign actions: every one checks the actor's role, the lifecycle, the revision, and writes
the change and its audit entry in one transaction, or nothing at all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from core import lifecycle, roles, schedule_calendar, templates
from core.clock import Clock, utc_now
from core.enums import Action, CampaignType, Status
from core.errors import InvalidInput, NotFound, NotReady, PermissionDenied, StaleRevision
from core.lifecycle import DraftState, State
from core.models import AuditEntry, Campaign, CampaignSpec, User, parse
from core.readiness import blocking_problems
from core.store import Store
from core.store import campaign_rows as rows
from core.store import workspace_rows as ws
from core.store.campaign_rows import Cursor

COMPLETE_AFTER = timedelta(days=3)
SYSTEM_ACTOR: int | None = None  # the scheduler: audit shows it as "Herald scheduler"


@dataclass(frozen=True)
class Transition:
    """A change `advance()` made: what, to which campaign, and when it was due."""

    campaign_id: int
    from_status: Status
    to_status: Status
    at: datetime


class Campaigns:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    # ---- reads -------------------------------------------------------------------------------

    def get(self, actor: User, campaign_id: int) -> Campaign:
        cur = self.store.cursor()
        self._authorise(cur, actor, Action.VIEW)
        return _fetch(cur, campaign_id)

    def list_frame(self, actor: User) -> pl.DataFrame:
        cur = self.store.cursor()
        self._authorise(cur, actor, Action.VIEW)
        return rows.list_frame(cur)

    def calendar(self, actor: User, start: datetime, end: datetime) -> pl.DataFrame:
        """Every send of a Scheduled or Live campaign in [start, end) UTC (see core.schedule_calendar)."""
        cur = self.store.cursor()
        self._authorise(cur, actor, Action.VIEW)
        return schedule_calendar.sends(rows.fetch_campaigns_with_status(cur, schedule_calendar.CALENDAR_STATUSES),
                                       start, end)

    def audit_trail(self, actor: User, campaign_id: int) -> list[AuditEntry]:
        cur = self.store.cursor()
        self._authorise(cur, actor, Action.VIEW)
        return rows.audit_trail(cur, campaign_id)

    def versions(self, actor: User, campaign_id: int) -> pl.DataFrame:
        cur = self.store.cursor()
        self._authorise(cur, actor, Action.VIEW)
        return rows.versions_frame(cur, campaign_id)

    def approval_required(self) -> bool:
        return bool(ws.setting(self.store.cursor(), "approval_required", True))

    def available_actions(self, actor: User, campaign: Campaign) -> tuple[Action, ...]:
        """What this actor may do to this campaign now: the lifecycle's actions their role allows."""
        cur = self.store.cursor()
        role = _current_user(cur, actor).role
        allowed = lifecycle.allowed_actions(_state(campaign), bool(ws.setting(cur, "approval_required", True)))
        own_request = campaign.review_requested_by == actor.id
        return tuple(a for a in allowed if roles.may(role, a) and not (a is Action.APPROVE and own_request))

    # ---- a person's actions --------------------------------------------------------------------

    def create(self, actor: User, spec: CampaignSpec | Mapping[str, Any]) -> Campaign:
        spec = _spec(spec)
        now = self.clock()
        with self.store.transaction() as cur:
            user = self._authorise(cur, actor, Action.CREATE)
            _check_references(cur, spec, None)
            campaign_id = rows.insert_campaign(cur, status=Status.DRAFT, at=now, by=user.id, duplicated_from=None)
            rows.insert_version(cur, campaign_id, 1, spec, now, user.id)
            rows.add_audit(cur, campaign_id, 1, now, user.id, "create", None, Status.DRAFT)
            return _fetch(cur, campaign_id)

    def edit(
        self, actor: User, campaign_id: int, revision: int, spec: CampaignSpec | Mapping[str, Any]
    ) -> Campaign:
        """Save the Draft, or the open draft version of a Live/Scheduled campaign."""
        spec = _spec(spec)

        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            if campaign.live_version is not None:
                _check_same_kind(campaign.spec, spec)
            _check_references(cur, spec, campaign.id)
            assert campaign.draft_version is not None
            rows.update_version(cur, campaign.id, campaign.draft_version, spec)
            self._save(cur, user, campaign, now, "edit", State(campaign.status, _state(campaign).draft))

        return self._act(actor, campaign_id, revision, Action.EDIT, change)

    def modify(self, actor: User, campaign_id: int, revision: int) -> Campaign:
        """Open a new draft version of a Live/Scheduled campaign; the live one keeps running."""

        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            version = rows.max_version(cur, campaign.id) + 1
            rows.insert_version(cur, campaign.id, version, campaign.spec, now, user.id)
            self._save(
                cur, user, campaign, now, "modify", State(campaign.status, DraftState.EDITING), version=version,
                draft_version=version,
            )

        return self._act(actor, campaign_id, revision, Action.MODIFY, change)

    def discard_draft(self, actor: User, campaign_id: int, revision: int) -> Campaign:
        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            self._save(cur, user, campaign, now, "discard_draft", State(campaign.status), draft_version=None)

        return self._act(actor, campaign_id, revision, Action.DISCARD_DRAFT, change)

    def request_approval(self, actor: User, campaign_id: int, revision: int) -> Campaign:
        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            _require_ready(cur, campaign.editable_spec, now, "request approval")
            after = lifecycle.after(_state(campaign), Action.REQUEST_APPROVAL)
            self._save(cur, user, campaign, now, "request_approval", after, review_requested_by=user.id)

        return self._act(actor, campaign_id, revision, Action.REQUEST_APPROVAL, change)

    def cancel_review(self, actor: User, campaign_id: int, revision: int) -> Campaign:
        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            after = lifecycle.after(_state(campaign), Action.CANCEL_REVIEW)
            self._save(cur, user, campaign, now, "cancel_review", after, review_requested_by=None)

        return self._act(actor, campaign_id, revision, Action.CANCEL_REVIEW, change)

    def reject(self, actor: User, campaign_id: int, revision: int, comment: str) -> Campaign:
        comment = (comment or "").strip()

        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            if not comment:
                raise InvalidInput({"comment": "say why it is rejected, so the author knows what to fix"})
            after = lifecycle.after(_state(campaign), Action.REJECT)
            self._save(cur, user, campaign, now, "reject", after, detail=comment, review_requested_by=None)

        return self._act(actor, campaign_id, revision, Action.REJECT, change)

    def approve(
        self, actor: User, campaign_id: int, revision: int, comment: str | None = None, defer: bool = False
    ) -> Campaign:
        """Approving activates: the reviewed version goes Live or Scheduled (via Activating)."""

        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            if campaign.review_requested_by == user.id:
                raise PermissionDenied(
                    "You requested this approval yourself; another Approver or Administrator must approve it."
                )
            self._activate(cur, user, campaign, now, "approve", (comment or "").strip() or None, defer)

        return self._act(actor, campaign_id, revision, Action.APPROVE, change)

    def activate(self, actor: User, campaign_id: int, revision: int, defer: bool = False) -> Campaign:
        """Activate without review (only where the workspace does not require approval).

        `defer` leaves a first activation in Activating for the scheduler to finish, as a worker would.
        """

        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            self._activate(cur, user, campaign, now, "activate", None, defer)

        return self._act(actor, campaign_id, revision, Action.ACTIVATE, change)

    def stop(self, actor: User, campaign_id: int, revision: int, reason: str | None = None) -> Campaign:
        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            self._save(
                cur, user, campaign, now, "stop", State(Status.STOPPED), detail=(reason or "").strip() or None,
                ended_at=now, draft_version=None,
            )

        return self._act(actor, campaign_id, revision, Action.STOP, change)

    def archive(self, actor: User, campaign_id: int, revision: int) -> Campaign:
        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            fields: dict[str, Any] = {"draft_version": None} if campaign.live_version is not None else {}
            self._save(cur, user, campaign, now, "archive", State(Status.ARCHIVED), **fields)

        return self._act(actor, campaign_id, revision, Action.ARCHIVE, change)

    def delete(self, actor: User, campaign_id: int, revision: int) -> None:
        def change(cur: Cursor, user: User, campaign: Campaign, now: datetime) -> None:
            rows.delete_campaign(cur, campaign.id)
            rows.add_audit(cur, campaign.id, campaign.version, now, user.id, "delete", campaign.status, None, campaign.name)

        self._act(actor, campaign_id, revision, Action.DELETE, change, refetch=False)

    def duplicate(self, actor: User, campaign_id: int) -> Campaign:
        """A new Draft with the source's current properties; the source is untouched."""
        now = self.clock()
        with self.store.transaction() as cur:
            user = self._authorise(cur, actor, Action.DUPLICATE)
            source = _fetch(cur, campaign_id)
            spec = source.spec.model_copy(update={"name": _copy_name(cur, source.spec.name)})
            new_id = rows.insert_campaign(cur, status=Status.DRAFT, at=now, by=user.id, duplicated_from=source.id)
            rows.insert_version(cur, new_id, 1, spec, now, user.id)
            rows.add_audit(cur, new_id, 1, now, user.id, "duplicate", None, Status.DRAFT, f"copy of #{source.id} {source.name}")
            return _fetch(cur, new_id)

    # ---- the scheduler ---------------------------------------------------------------------------

    def advance(self, now: datetime | None = None) -> list[Transition]:
        """Make every time-driven change due by `now`. Idempotent: a second call finds nothing due.

        Each change is stamped with the time it was due, so a late scheduler still tells the truth.
        """
        now = now or self.clock()
        done: list[Transition] = []
        running = rows.fetch_campaigns_with_status(
            self.store.cursor(), (Status.ACTIVATING, Status.SCHEDULED, Status.LIVE)
        )
        for campaign_id in [c.id for c in running if _needs_attention(c, now)]:
            while True:  # one campaign may be due for several steps (Scheduled -> Live -> Completed)
                try:
                    step = self._advance_one(campaign_id, now)
                except StaleRevision:
                    break  # another scheduler got there first: its change stands
                if step is None:
                    break
                done.append(step)
        return done

    def fail(self, campaign_id: int, reason: str, at: datetime | None = None) -> Transition | None:
        """A run failed: the Live/Scheduled campaign becomes Failed, the reason kept and shown."""
        at = at or self.clock()
        with self.store.transaction() as cur:
            campaign = _fetch(cur, campaign_id)
            if campaign.status not in (Status.LIVE, Status.SCHEDULED):
                return None
            self._save(cur, None, campaign, at, "fail", State(Status.FAILED), detail=reason, failure_reason=reason,
                       ended_at=at, draft_version=None)
            return Transition(campaign_id, campaign.status, Status.FAILED, at)

    def _advance_one(self, campaign_id: int, now: datetime) -> Transition | None:
        with self.store.transaction() as cur:
            campaign = rows.fetch_campaign(cur, campaign_id)
            if campaign is None:
                return None
            before = campaign.status
            if before is Status.ACTIVATING:
                self._finish_activation(cur, SYSTEM_ACTOR, campaign, now)
                after = _fetch(cur, campaign_id).status
                return Transition(campaign_id, before, after, now)
            due = _due(campaign)
            if due is None or due[1] > now:
                return None
            target, at = due
            at = max(at, campaign.updated_at)
            fields: dict[str, Any] = {"live_at": at} if target is Status.LIVE else {"ended_at": at}
            if target is Status.COMPLETED and campaign.live_version is not None:
                fields["draft_version"] = None
            after = State(target, _state(campaign).draft) if target is Status.LIVE else State(target)
            self._save(cur, None, campaign, at, "start" if target is Status.LIVE else "complete", after, **fields)
            return Transition(campaign_id, before, target, at)

    # ---- shared machinery ------------------------------------------------------------------------

    def _act(
        self,
        actor: User,
        campaign_id: int,
        revision: int,
        action: Action,
        change: Callable[[Cursor, User, Campaign, datetime], None],
        refetch: bool = True,
    ) -> Campaign:
        now = self.clock()
        with self.store.transaction() as cur:
            user = self._authorise(cur, actor, action)
            campaign = _fetch(cur, campaign_id)
            if campaign.revision != revision:
                raise _stale(cur, campaign, revision)
            lifecycle.check(_state(campaign), action, bool(ws.setting(cur, "approval_required", True)))
            change(cur, user, campaign, now)
            return _fetch(cur, campaign_id) if refetch else campaign

    def _authorise(self, cur: Cursor, actor: User, action: Action) -> User:
        user = _current_user(cur, actor)
        roles.require(user.role, action)
        return user

    def _save(
        self,
        cur: Cursor,
        user: User | None,
        campaign: Campaign,
        now: datetime,
        audit_action: str,
        after: State,
        detail: str | None = None,
        version: int | None = None,
        **fields: Any,
    ) -> None:
        """Write the campaign's new state and its audit entry (who, when, from -> to, version)."""
        actor_id = user.id if user else SYSTEM_ACTOR
        draft_version = fields.get("draft_version", campaign.draft_version)
        on_version = campaign.live_version is not None and draft_version is not None
        rows.update_campaign(
            cur,
            campaign.id,
            campaign.revision,
            status=after.status,
            draft_state=(after.draft.value if after.draft and on_version else None),
            updated_at=now,
            updated_by=actor_id,
            **fields,
        )
        audit_version = version or (campaign.draft_version if audit_action in _DRAFT_ACTIONS else campaign.version)
        rows.add_audit(cur, campaign.id, audit_version, now, actor_id, audit_action, campaign.status, after.status, detail)

    def _activate(
        self, cur: Cursor, user: User, campaign: Campaign, now: datetime, how: str, detail: str | None, defer: bool
    ) -> None:
        _require_ready(cur, campaign.editable_spec, now, "activate")
        if campaign.live_version is None:  # first activation: through Activating
            self._save(
                cur, user, campaign, now, how, State(Status.ACTIVATING), detail=detail, activated_at=now,
                review_requested_by=None,
            )
            if not defer:
                self._finish_activation(cur, user.id, _fetch(cur, campaign.id), now)
            return
        assert campaign.draft_version is not None  # a new version replaces the live one
        target = _start_status(campaign.editable_spec, now)
        rows.mark_version_activated(cur, campaign.id, campaign.draft_version, now, user.id)
        fields: dict[str, Any] = {
            "live_version": campaign.draft_version,
            "draft_version": None,
            "review_requested_by": None,
        }
        if target is Status.LIVE and campaign.live_at is None:
            fields["live_at"] = now
        self._save(
            cur, user, campaign, now, how, State(target), detail=detail, version=campaign.draft_version, **fields
        )

    def _finish_activation(self, cur: Cursor, actor_id: int | None, campaign: Campaign, now: datetime) -> None:
        """Activating -> Live/Scheduled, or Failed with the reason if the world changed meanwhile."""
        spec = campaign.spec
        problems = {
            field: why
            for field, why in _problems(cur, spec, now).items()
            if field in ("channel_config_id", "audience_id")
        }
        actor = ws.user(cur, actor_id) if actor_id is not None else None
        if problems:
            reason = "; ".join(f"{why}" for why in problems.values())
            self._save(cur, actor, campaign, now, "fail", State(Status.FAILED), detail=reason, failure_reason=reason)
            return
        target = _start_status(spec, now)
        assert campaign.draft_version is not None
        rows.mark_version_activated(cur, campaign.id, campaign.draft_version, now, actor_id)
        fields: dict[str, Any] = {"live_version": campaign.draft_version, "draft_version": None}
        if target is Status.LIVE:
            fields["live_at"] = now
        self._save(cur, actor, campaign, now, "go_live" if target is Status.LIVE else "schedule", State(target), **fields)


_DRAFT_ACTIONS = {"edit", "discard_draft", "request_approval", "cancel_review", "reject"}


def _spec(spec: CampaignSpec | Mapping[str, Any]) -> CampaignSpec:
    return spec if isinstance(spec, CampaignSpec) else parse(CampaignSpec, dict(spec))


def _state(campaign: Campaign) -> State:
    if campaign.has_open_draft:
        return State(campaign.status, DraftState.IN_REVIEW if campaign.draft_in_review else DraftState.EDITING)
    return State(campaign.status)


def _fetch(cur: Cursor, campaign_id: int) -> Campaign:
    campaign = rows.fetch_campaign(cur, campaign_id)
    if campaign is None:
        raise NotFound(f"There is no campaign #{campaign_id}; it may have been deleted.")
    return campaign


def _current_user(cur: Cursor, actor: User) -> User:
    """The actor as the store knows them now: a role changed since sign-in counts at once."""
    user = ws.user(cur, actor.id)
    if user is None:
        raise PermissionDenied(f"{actor.name} ({actor.email}) is not a user of this workspace.")
    return user


def _stale(cur: Cursor, campaign: Campaign, revision: int) -> StaleRevision:
    who = ws.user(cur, campaign.updated_by)
    return StaleRevision(
        f"{campaign.name!r} was changed by {who.name if who else 'the scheduler'} at "
        f"{campaign.updated_at:%Y-%m-%d %H:%M} UTC after you opened it (revision {campaign.revision}, "
        f"yours was {revision}). Nothing was saved: reload it and try again."
    )


def _check_references(cur: Cursor, spec: CampaignSpec, campaign_id: int | None) -> None:
    """Refuse names already in use, ids that point nowhere or at the wrong channel, and content
    whose personalisation tokens could not render (caught when saved, not when sent)."""
    problems: dict[str, str] = {}
    if spec.content is not None:
        try:
            templates.validate_content(
                spec.content.subject, spec.content.body, allow_context=spec.type is CampaignType.API_TRIGGERED
            )
        except InvalidInput as exc:
            problems.update(exc.problems)
    holder = rows.name_holder(cur, spec.name, campaign_id)
    if holder is not None:
        problems["name"] = (
            f"campaign #{holder[0]} ({Status(holder[1]).label}) is already named {spec.name!r}; "
            "names are unique among campaigns that are not archived"
        )
    if spec.channel_config_id is not None:
        config = ws.channel_config(cur, spec.channel_config_id)
        if config is None:
            problems["channel_config_id"] = f"there is no channel configuration {spec.channel_config_id}"
        elif config.channel is not spec.channel:
            problems["channel_config_id"] = (
                f"{config.name!r} is for {config.channel.label}; this campaign sends {spec.channel.label}"
            )
    if spec.audience_id is not None and ws.audience(cur, spec.audience_id) is None:
        problems["audience_id"] = f"there is no audience {spec.audience_id}"
    if problems:
        raise InvalidInput(problems)


def _check_same_kind(live: CampaignSpec, draft: CampaignSpec) -> None:
    problems = {}
    if draft.type is not live.type:
        problems["type"] = f"an activated campaign stays {live.type.label}; duplicate it to change the type"
    if draft.channel is not live.channel:
        problems["channel"] = f"an activated campaign stays {live.channel.label}; duplicate it to change the channel"
    if problems:
        raise InvalidInput(problems)


def _problems(cur: Cursor, spec: CampaignSpec, now: datetime) -> dict[str, str]:
    config = ws.channel_config(cur, spec.channel_config_id) if spec.channel_config_id is not None else None
    audience = ws.audience(cur, spec.audience_id) if spec.audience_id is not None else None
    return blocking_problems(spec, config, audience, now)


def _require_ready(cur: Cursor, spec: CampaignSpec, now: datetime, action: str) -> None:
    problems = _problems(cur, spec, now)
    if problems:
        raise NotReady(action, problems)


def _start_status(spec: CampaignSpec, now: datetime) -> Status:
    start = spec.schedule.start_utc() if spec.schedule else None
    return Status.SCHEDULED if start is not None and start > now else Status.LIVE


def _due(campaign: Campaign) -> tuple[Status, datetime] | None:
    """The next time-driven status of a Scheduled/Live campaign and when it is due (PRODUCT.md)."""
    schedule = campaign.spec.schedule
    start = schedule.start_utc() if schedule else None
    end = schedule.end_utc() if schedule else None
    if campaign.status is Status.SCHEDULED:
        return (Status.LIVE, start) if start is not None else (Status.LIVE, campaign.updated_at)
    if campaign.status is not Status.LIVE:
        return None
    one_shot = campaign.spec.type is CampaignType.SCHEDULED and not (schedule and schedule.recurring)
    if one_shot:
        went_live = campaign.live_at or campaign.activated_at or campaign.updated_at
        return Status.COMPLETED, went_live + COMPLETE_AFTER
    return (Status.COMPLETED, end) if end is not None else None


def _needs_attention(campaign: Campaign, now: datetime) -> bool:
    if campaign.status is Status.ACTIVATING:
        return True
    due = _due(campaign)
    return due is not None and due[1] <= now


def _copy_name(cur: Cursor, name: str) -> str:
    base = f"{name[:100]} (copy"
    taken = rows.names_like(cur, base)
    if f"{base})".lower() not in taken:
        return f"{base})"
    n = 2
    while f"{base} {n})".lower() in taken:
        n += 1
    return f"{base} {n})"
