"""The request and response bodies of the REST API: core's Pydantic models, plus the error body.
The OpenAPI document's schemas are generated from exactly these classes (api/openapi.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.api_reads import CampaignDetail, CampaignList, CampaignStats, RunList
from core.triggers import TriggerRequest, TriggerResponse


class Error(BaseModel):
    """Every refusal: what was refused and why; `problems` maps a field (or header) to what is
    wrong with it. Nothing was written."""

    error: str = Field(description="a sentence for the person reading the logs")
    problems: dict[str, str] = Field(default_factory=dict, description="field path -> what is wrong with it")


REQUEST_MODELS: tuple[type[BaseModel], ...] = (TriggerRequest,)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    CampaignList, CampaignDetail, RunList, CampaignStats, TriggerResponse, Error,
)

__all__ = [
    "CampaignDetail", "CampaignList", "CampaignStats", "Error", "REQUEST_MODELS", "RESPONSE_MODELS", "RunList",
    "TriggerRequest", "TriggerResponse",
]
