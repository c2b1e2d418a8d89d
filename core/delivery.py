"""Runs: from a due slot to every recipient's outcome, recorded as delivery events.

The pipeline, in order: resolve the audience at run time → exclusions (suppressed, no address,
no consent, frequency cap) → render → hand to the provider at the channel's throttle rate →
record events. Each batch's events and the run's progress commit together, and a resumed run
skips every recipient that already has its disposition, so an interrupted run never sends twice
and loses no event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from core import roles, sandbox, templates, tracking, trial_send
from core.audiences import Audiences, exclusion_reason
from core.campaigns import Campaigns
from core.clock import Clock, utc_now
from core.enums import Action, CampaignType, Channel, Provider, Status
from core.errors import HeraldError, InvalidInput, NotFound
from core.models import Campaign, CampaignSpec, ChannelConfig, Content, User, parse
from core.slots import send_times
from core.providers.smtp import SmtpSettings, send_smtp
from core.providers.webhook import WebhookSettings, send_webhook
from core.secrets import PASSWORD, TOKEN, Secrets, channel_config_owner
from core.store import Store
from core.store import campaign_rows as campaign_rows
from core.store import delivery_rows as rows
from core.store import workspace_rows as ws

BATCH = 250_000
RECIPIENT_COLUMNS = ("profile_id", "loyalty_tier", "country", "email", "phone")
REAL_BATCH_SECONDS = 10  # a real provider's batch: ~10 s of hand-offs, so a resume resends little


@dataclass(frozen=True)
class FrequencyCap:
    """At most `messages` per profile per `days` on one channel, across campaigns."""

    messages: int
    days: int


LATEST_RUNS = 50  # runs listed one by one on the Runs tab
MAX_DAYS = 366  # days of API calls listed on the Runs tab


@dataclass(frozen=True)
class RunsOverview:
    """A campaign's runs, bounded for display (Delivery.runs_overview).

    recent: id, version, due_at, status, total, processed, started_at, finished_at, failure_reason,
    api_key_id, api_key (the key's name), newest first; for an API-triggered campaign also targeted,
    sent, excluded, errors. days (API-triggered only, else None): day (UTC date), runs (calls),
    targeted, sent, excluded, errors, first_at, last_at, newest first."""

    triggered: bool  # API-triggered: every run is one API call
    total: int  # runs the campaign has
    recent: pl.DataFrame
    days: pl.DataFrame | None
    day_count: int  # days with at least one call (days may hold fewer)

    @property
    def hidden(self) -> int:
        """Runs not listed one by one."""
        return self.total - self.recent.height


@dataclass(frozen=True)
class RunProgress:
    run_id: int
    status: str
    total: int | None
    processed: int
    per_second: int
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the throttle rate: what a real provider hand-off would take."""
        if self.total is None:
            return None
        return max(0, self.total - self.processed) / max(1, self.per_second)


class Delivery:
    def __init__(self, store: Store, audiences: Audiences, clock: Clock = utc_now) -> None:
        self.store = store
        self.audiences = audiences
        self.clock = clock

    # ---- scheduling -------------------------------------------------------------------------

    def run_at(self, campaign: Campaign, due_at: datetime) -> int | None:
        """Create the run of `campaign` due at `due_at` (None if it exists already)."""
        with self.store.transaction() as cur:
            return rows.insert_run(cur, campaign.id, campaign.version, campaign.spec.channel.value, due_at, self.clock())

    def create_due_runs(self, now: datetime | None = None) -> list[int]:
        """A run for the latest due slot of every Live scheduled campaign (missed older slots roll on)."""
        now = now or self.clock()
        created = []
        for campaign in campaign_rows.fetch_campaigns_with_status(self.store.cursor(), (Status.LIVE,)):
            slot = latest_slot(campaign, now)
            if slot is None:
                continue
            run_id = self.run_at(campaign, slot)
            if run_id is not None:
                created.append(run_id)
        return created

    # ---- running ----------------------------------------------------------------------------

    def execute(self, run_id: int, batch_size: int = BATCH, stop_after_batches: int | None = None) -> RunProgress:
        """Send the run (or what is left of it). `stop_after_batches` simulates an interruption."""
        cur = self.store.cursor()
        run = rows.run(cur, run_id)
        if run is None:
            raise NotFound(f"There is no run {run_id}.")
        if run["status"] in ("finished", "failed"):
            return self.progress(run_id)
        spec = campaign_rows.version_spec(cur, run["campaign_id"], run["version"])
        config = ws.channel_config(cur, spec.channel_config_id) if spec and spec.channel_config_id else None
        try:
            if spec is None or config is None:
                raise HeraldError("the campaign version or its channel configuration no longer exists")
            self._send(run, spec, config, batch_size, stop_after_batches)
        except HeraldError as exc:
            with self.store.transaction() as tx:
                rows.update_run(tx, run_id, status="failed", failure_reason=str(exc), finished_at=self.clock())
            Campaigns(self.store, self.clock).fail(run["campaign_id"], f"Run {run_id} failed: {exc}")
        return self.progress(run_id)

    def runs(self, actor: User, campaign_id: int) -> pl.DataFrame:
        """A campaign's runs, newest first, with their progress (every run: see `runs_overview`
        for a bounded view of a campaign with many)."""
        user = ws.user(self.store.cursor(), actor.id)
        roles.require(user.role if user else None, Action.VIEW)
        frame = rows.runs_frame(self.store.cursor(), campaign_id)
        return frame.select(
            "id", "version", "due_at", "status", "total", "processed", "started_at", "finished_at", "failure_reason"
        ).sort("due_at", descending=True)

    def runs_overview(
        self, actor: User, campaign_id: int, latest: int = LATEST_RUNS, max_days: int = MAX_DAYS
    ) -> RunsOverview:
        """What the campaign page's Runs tab shows, bounded whatever the number of runs.

        Every campaign: how many runs it has and the newest `latest` of them. An API-triggered
        campaign (one run per call, tens of thousands of them) also gets its calls per UTC day,
        newest first (at most `max_days` days), and each listed call's recipients, sent, excluded
        and errors. Aggregated in DuckDB (core.store.delivery_rows); recomputed after a commit."""
        cur = self.store.cursor()
        user = ws.user(cur, actor.id)
        roles.require(user.role if user else None, Action.VIEW)
        if latest < 1 or max_days < 1:
            raise InvalidInput({"latest": "show at least one run and one day"})
        campaign = campaign_rows.fetch_campaign(cur, campaign_id)
        if campaign is None:
            raise NotFound(f"There is no campaign {campaign_id}.")
        triggered = campaign.spec.type is CampaignType.API_TRIGGERED

        def load() -> RunsOverview:
            read = self.store.cursor()
            total = rows.runs_count(read, campaign_id)
            recent = rows.latest_runs(read, campaign_id, latest, outcomes=triggered)
            if not triggered:
                return RunsOverview(False, total, recent, None, 0)
            days, per_day = rows.runs_per_day(read, campaign_id, max_days)
            return RunsOverview(True, total, recent, per_day, days)

        return self.store.memo(f"delivery.runs_overview.{campaign_id}.{latest}.{max_days}.{triggered}", load)

    def send_test(self, actor: User, config_id: int, content: Content | Mapping[str, Any],
                  addresses: str | Sequence[str], profile: Mapping[str, Any]) -> list[trial_send.TrialOutcome]:
        """A test send of `content` (rendered for `profile`) to up to 10 addresses, through the
        configuration's real provider; nothing is recorded as a delivery event (core.trial_send)."""
        user = ws.user(self.store.cursor(), actor.id)
        roles.require(user.role if user else None, Action.CREATE)
        config = next((c for c in ws.channel_configs(self.store.cursor()) if c.id == config_id), None)
        if config is None:
            raise NotFound(f"channel configuration #{config_id} does not exist")
        if not config.enabled:
            raise InvalidInput({"channel_config_id": f"“{config.name}” is disabled"})
        to = trial_send.parse_addresses(addresses, config.channel)
        messages = trial_send.messages(content, profile, to, config.id or 0)
        if config.provider is Provider.SANDBOX:
            return trial_send.sandbox_outcomes(to)
        return trial_send.outcomes(to, self._hand_off(config, messages))

    def execute_pending(self) -> list[RunProgress]:
        """Run (or resume) every pending or interrupted run, oldest first."""
        return [self.execute(run_id) for run_id in rows.pending_run_ids(self.store.cursor())]

    def progress(self, run_id: int) -> RunProgress:
        cur = self.store.cursor()
        run = rows.run(cur, run_id)
        if run is None:
            raise NotFound(f"There is no run {run_id}.")
        spec = campaign_rows.version_spec(cur, run["campaign_id"], run["version"])
        config = ws.channel_config(cur, spec.channel_config_id) if spec and spec.channel_config_id else None
        return RunProgress(
            run_id=run_id,
            status=run["status"],
            total=run["total"],
            processed=run["processed"],
            per_second=config.throttle_per_second if config else 1,
            started_at=run["started_at"],
            finished_at=run["finished_at"],
        )

    def _send(
        self, run: dict[str, Any], spec: CampaignSpec, config: ChannelConfig, batch_size: int, stop: int | None
    ) -> None:
        run_id, channel = int(run["id"]), Channel(run["channel"])
        started = run["started_at"] or max(run["due_at"], self.clock())
        recipients = self._recipients(run_id, spec, channel, started)
        done = rows.disposed_ids(self.store.cursor(), run_id)
        todo = recipients.filter(~pl.col("profile_id").is_in(done.implode()))
        with self.store.transaction() as cur:
            rows.update_run(cur, run_id, status="running", started_at=started, total=recipients.height)
        processed = done.len()
        content = spec.content
        if config.provider is not Provider.SANDBOX:
            batch_size = min(batch_size, config.throttle_per_second * REAL_BATCH_SECONDS)
        for index, batch in enumerate(todo.iter_slices(batch_size)):
            if stop is not None and index >= stop:
                return
            events = [_excluded(batch.filter(pl.col("reason").is_not_null()), started)]
            outgoing = batch.filter(pl.col("reason").is_null())
            if outgoing.height and content is not None:
                body = templates.render(content.body, outgoing)
                subject = templates.render(content.subject, outgoing) if content.subject else None
                if config.provider is Provider.SANDBOX:
                    offset = timedelta(seconds=processed / config.throttle_per_second)
                    sent_at = sandbox.send_times(started + offset, outgoing.height, config.throttle_per_second)
                    events.append(sandbox.simulate(outgoing, run_id, channel, spec.purpose, sent_at))
                else:
                    messages = _messages(outgoing, channel, subject, body, run_id)
                    if config.provider is Provider.SMTP:
                        messages = self._email(messages, run, config, content)
                    events.append(self._hand_off(config, messages))
            frame = pl.concat(events).with_columns(
                pl.lit(run_id, pl.Int32).alias("run_id"),
                pl.lit(run["campaign_id"], pl.Int32).alias("campaign_id"),
                pl.lit(run["version"], pl.Int32).alias("version"),
                pl.lit(channel.value).alias("channel"),
            )
            processed += batch.height
            with self.store.transaction() as cur:
                rows.insert_events(cur, frame)
                rows.update_run(cur, run_id, processed=processed)
        finished = (
            started + timedelta(seconds=recipients.height / config.throttle_per_second)
            if config.provider is Provider.SANDBOX
            else self.clock()
        )
        with self.store.transaction() as cur:
            rows.update_run(cur, run_id, status="finished", finished_at=finished, processed=processed)

    def _recipients(self, run_id: int, spec: CampaignSpec, channel: Channel, at: datetime) -> pl.DataFrame:
        """Everyone the audience selects now, with the reason they are excluded (null: send)."""
        if spec.audience_id is None:
            raise HeraldError("the campaign has no audience")
        profiles = self.audiences.profiles()
        needed = set(RECIPIENT_COLUMNS)
        if spec.content:
            needed |= templates.profile_attributes(spec.content.body)
            needed |= templates.profile_attributes(spec.content.subject or "")
        selected = profiles.filter(self.audiences.mask(spec.audience_id)).select(
            *sorted(needed), exclusion_reason(channel)
        )
        cap = frequency_cap(self.store, channel)
        if cap is not None:
            recent = rows.recent_sends(self.store.cursor(), channel.value, at - timedelta(days=cap.days), run_id)
            over = recent.filter(pl.col("sends") >= cap.messages).get_column("profile_id")
            selected = selected.with_columns(
                pl.when(pl.col("reason").is_null() & pl.col("profile_id").is_in(over.implode()))
                .then(pl.lit("frequency_cap"))
                .otherwise(pl.col("reason"))
                .alias("reason")
            )
        return selected.sort("profile_id")

    def _email(self, messages: pl.DataFrame, run: dict[str, Any], config: ChannelConfig,
               content: Content) -> pl.DataFrame:
        """An SMTP run's messages: HTML when the template is, and with tracking on in the channel
        configuration, with signed click redirects and (HTML) an open pixel (core.tracking).
        Test sends never come here, so they carry no tracking."""
        html = tracking.is_html(content.body)
        messages = messages.with_columns(pl.lit(html).alias("html"))
        if not config.tracking:
            return messages
        return tracking.Tracking(self.store, self.clock).track_messages(
            messages, int(run["id"]), int(run["campaign_id"]), int(run["version"]), html=html
        )

    def _hand_off(self, config: ChannelConfig, messages: pl.DataFrame) -> pl.DataFrame:
        """A real provider: SMTP for email, an HTTP webhook gateway for the other channels."""
        owner = channel_config_owner(config.id or 0)
        settings = provider_settings(config)
        if isinstance(settings, SmtpSettings):
            password = Secrets(self.store, self.clock).get(owner, PASSWORD)
            return send_smtp(messages, settings, password, self.clock, config.throttle_per_second)
        assert isinstance(settings, WebhookSettings)
        token = Secrets(self.store, self.clock).get(owner, TOKEN)
        return send_webhook(messages, settings, token, self.clock, config.throttle_per_second)


def provider_settings(config: ChannelConfig) -> SmtpSettings | WebhookSettings | None:
    """The provider's settings parsed from the configuration (None for the sandbox)."""
    if config.provider is Provider.SMTP:
        return parse(SmtpSettings, {
            **config.settings, "from_address": config.sender_address, "from_name": config.sender_name,
            "reply_to": config.reply_to,
        })
    if config.provider is Provider.WEBHOOK:
        return parse(WebhookSettings, config.settings)
    return None


def _messages(outgoing: pl.DataFrame, channel: Channel, subject: pl.Series | None, body: pl.Series,
              run_id: int) -> pl.DataFrame:
    """What a real provider takes: the address for the channel, the rendered text, a stable id."""
    to = {Channel.EMAIL: pl.col("email"), Channel.SMS: pl.col("phone")}.get(
        channel, pl.col("profile_id").cast(pl.String)
    )
    no_subject = pl.repeat(None, outgoing.height, dtype=pl.String, eager=True)
    return outgoing.select("profile_id", to.alias("to")).with_columns(
        (subject if subject is not None else no_subject).alias("subject"),
        body.alias("body"),
        pl.format("run{}-{}", pl.lit(run_id), pl.col("profile_id")).alias("message_id"),
    )


def _excluded(batch: pl.DataFrame, at: datetime) -> pl.DataFrame:
    return batch.select(
        "profile_id",
        pl.lit("excluded").alias("event"),
        pl.lit(None, pl.String).alias("bounce"),
        pl.col("reason"),
        pl.lit(at).cast(pl.Datetime("us")).alias("occurred_at"),
    )


def frequency_cap(store: Store, channel: Channel) -> FrequencyCap | None:
    caps = ws.setting(store.cursor(), "frequency_caps", {}) or {}
    cap = caps.get(channel.value)
    return FrequencyCap(int(cap["messages"]), int(cap["days"])) if cap else None


def latest_slot(campaign: Campaign, now: datetime) -> datetime | None:
    """The most recent send time due by `now` (UTC), per the campaign's schedule, or None."""
    last = None
    for last in due_slots(campaign, now):  # noqa: B007 - the loop keeps the last one
        pass
    return last


def due_slots(campaign: Campaign, until: datetime) -> Iterator[datetime]:
    """Every send time (UTC) from going live up to `until` (and the schedule's end), in order."""
    if campaign.spec.type is not CampaignType.SCHEDULED or campaign.live_at is None:
        return
    yield from send_times(campaign.spec.schedule, campaign.live_at, until)
