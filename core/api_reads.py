"""What the REST API reads: campaigns, their runs and their statistics, for an API key's role.

Permissions are the dashboard's: campaigns and runs need `Action.VIEW` (every role); statistics
need `Action.VIEW_REPORTS` (Viewer, Approver, Administrator - not Manager, as on the report page).
Statistics are `Analytics`' report figures, the very numbers the report page shows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from core import roles, templates
from core.analytics import Analytics
from core.api_keys import ApiKey
from core.enums import Action, CampaignType, Channel, Provider, Purpose, Status
from core.errors import NotFound
from core.labels import METRICS, RATES
from core.models import Campaign, UtcTime
from core.store import Store
from core.store import api_rows, campaign_rows
from core.store import workspace_rows as ws

MAX_RUNS_PAGE = 1000
EXCLUSION_FIGURES = {
    "excluded_suppressed": "Excluded: suppressed",
    "excluded_no_address": "Excluded: no address",
    "excluded_no_consent": "Excluded: no consent",
    "excluded_frequency_cap": "Excluded: frequency cap",
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CampaignSummary(_Out):
    id: int
    name: str
    description: str
    tags: list[str]
    type: CampaignType
    purpose: Purpose
    channel: Channel
    status: Status
    version: int = Field(description="the version in effect (the live one once activated)")
    has_open_draft: bool = Field(description="a newer version is being edited or reviewed")
    created_at: UtcTime
    updated_at: UtcTime
    live_at: UtcTime | None
    starts_at: UtcTime | None = Field(description="start of the schedule or call window, UTC")
    ends_at: UtcTime | None = Field(description="end of the schedule or call window, UTC")
    trigger_path: str | None = Field(description="where to POST a trigger (API-triggered campaigns only)")


class ChannelConfigInfo(_Out):
    id: int
    name: str
    provider: Provider
    enabled: bool


class ContentInfo(_Out):
    subject: str | None
    body: str


class CampaignDetail(CampaignSummary):
    audience_id: int | None
    channel_config: ChannelConfigInfo | None
    content: ContentInfo | None
    context_keys: list[str] = Field(description="the {{context.<key>}} names the content reads")
    failure_reason: str | None


class CampaignList(_Out):
    campaigns: list[CampaignSummary]


class RunInfo(_Out):
    id: int
    version: int
    status: str = Field(description="pending, running, finished or failed")
    due_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None
    total: int | None = Field(description="recipients targeted")
    processed: int
    failure_reason: str | None
    api_key_id: int | None = Field(description="the API key whose call made this run (null: scheduled)")


class RunList(_Out):
    campaign_id: int
    total: int = Field(description="runs the campaign has")
    limit: int
    offset: int
    runs: list[RunInfo]


Figures = create_model(  # type: ignore[call-overload]
    "Figures",
    __config__=ConfigDict(frozen=True),
    **{name: (int, Field(description=text)) for name, text in {**METRICS, **EXCLUSION_FIGURES}.items()},
    **{name: (float | None, Field(description=f"{text} (null without a denominator)")) for name, text in RATES.items()},
)


class CampaignStats(_Out):
    campaign_id: int
    run_id: int | None = Field(description="the run these figures are for (null: every run)")
    day: date | None = Field(default=None, description="the UTC day whose runs (API calls) these figures are for "
                                                       "(null: every day)")
    last_24h: bool
    since: UtcTime | None = Field(description="start of the window (last 24 hours), UTC")
    generated_at: UtcTime
    figures: Figures  # type: ignore[valid-type]


class ApiReads:
    def __init__(self, store: Store, analytics: Analytics) -> None:
        self.store, self.analytics = store, analytics

    def campaigns(self, key: ApiKey, status: Status | None = None, type: CampaignType | None = None) -> CampaignList:
        roles.require(key.role, Action.VIEW, who=key.label)
        found = self.store.memo("api.campaigns", lambda: campaign_rows.fetch_campaigns_with_status(
            self.store.cursor(), tuple(Status)), past_deliveries=True)
        return CampaignList(campaigns=[
            _summary(c) for c in found
            if (status is None or c.status is status) and (type is None or c.spec.type is type)
        ])

    def campaign(self, key: ApiKey, campaign_id: int) -> CampaignDetail:
        roles.require(key.role, Action.VIEW, who=key.label)
        cur = self.store.cursor()
        campaign = campaign_rows.fetch_campaign(cur, campaign_id)
        if campaign is None:
            raise NotFound(f"There is no campaign {campaign_id}.")
        spec = campaign.spec
        config = ws.channel_config(cur, spec.channel_config_id) if spec.channel_config_id is not None else None
        keys = sorted(templates.context_keys(spec.content.body) | templates.context_keys(spec.content.subject or "")) \
            if spec.content else []
        return CampaignDetail(
            **_summary(campaign).model_dump(), audience_id=spec.audience_id,
            channel_config=ChannelConfigInfo(id=config.id or 0, name=config.name, provider=config.provider,
                                             enabled=config.enabled) if config else None,
            content=ContentInfo(subject=spec.content.subject, body=spec.content.body) if spec.content else None,
            context_keys=keys, failure_reason=campaign.failure_reason,
        )

    def runs(self, key: ApiKey, campaign_id: int, limit: int = 100, offset: int = 0) -> RunList:
        roles.require(key.role, Action.VIEW, who=key.label)
        cur = self.store.cursor()
        if campaign_rows.fetch_campaign(cur, campaign_id) is None:
            raise NotFound(f"There is no campaign {campaign_id}.")
        total, rows = api_rows.runs_page(cur, campaign_id, limit, offset)
        return RunList(campaign_id=campaign_id, total=total, limit=limit, offset=offset,
                       runs=[RunInfo.model_validate(r) for r in rows])

    def stats(self, key: ApiKey, campaign_id: int, run_id: int | None = None, last_24h: bool = False,
              day: date | None = None) -> CampaignStats:
        report = self.analytics.report_for_role(key.role, key.label, campaign_id, run_id, last_24h, day)
        figures: dict[str, Any] = dict(report.figures)
        return CampaignStats(campaign_id=campaign_id, run_id=run_id, day=day, last_24h=last_24h, since=report.since,
                             generated_at=report.generated_at,
                             figures=Figures.model_validate({k: figures[k] for k in Figures.model_fields}))


def _summary(campaign: Campaign) -> CampaignSummary:
    spec = campaign.spec
    schedule = spec.schedule
    api = spec.type is CampaignType.API_TRIGGERED
    return CampaignSummary(
        id=campaign.id, name=spec.name, description=spec.description, tags=list(spec.tags), type=spec.type,
        purpose=spec.purpose, channel=spec.channel, status=campaign.status, version=campaign.version,
        has_open_draft=campaign.has_open_draft, created_at=campaign.created_at, updated_at=campaign.updated_at,
        live_at=campaign.live_at, starts_at=schedule.start_utc() if schedule else None,
        ends_at=schedule.end_utc() if schedule else None,
        trigger_path=f"/api/v1/campaigns/{campaign.id}/trigger" if api else None,
    )
