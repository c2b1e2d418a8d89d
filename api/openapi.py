"""The OpenAPI 3.1 document of `/api/v1/`, built from the very Pydantic models the routes validate
and answer with (api/schemas.py), so the document cannot drift from the code's schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from core.enums import CampaignType, Status
from core.triggers import MAX_RECIPIENTS
from core.api_reads import MAX_RUNS_PAGE

from api.schemas import REQUEST_MODELS, RESPONSE_MODELS

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1_048_576
MAX_ID = 2**31 - 1
_REF = "#/components/schemas/{model}"


def _json(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=schema_ref)}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json("Error")}


_AUTH_ERRORS = {
    "401": _error("No `Authorization: Bearer <key>` header, or the key is unknown or revoked"),
    "403": _error("The key's role may not do this"),
    "405": _error("Method not allowed on this path"),
    "422": _error("A query parameter is unknown or invalid"),
}
_CAMPAIGN_ID = {
    "name": "campaign_id", "in": "path", "required": True, "description": "the campaign's id",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def _get(summary: str, description: str, response: str, parameters: list[dict[str, Any]],
         not_found: bool = True) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK", "content": _json(response)}, **_AUTH_ERRORS}
    if not_found:
        responses["404"] = _error("There is no such campaign (or run)")
    return {"get": {"summary": summary, "description": description, "parameters": parameters,
                    "responses": dict(sorted(responses.items()))}}


@cache
def document() -> dict[str, Any]:
    """The whole document (built once per process)."""
    _, defs = models_json_schema(
        [(m, "validation") for m in REQUEST_MODELS] + [(m, "serialization") for m in RESPONSE_MODELS],
        ref_template=_REF,
    )
    schemas = defs.get("$defs", {})
    trigger = {
        "post": {
            "summary": "Trigger an API-triggered campaign",
            "description": (
                "Sends the campaign's message to each recipient (a profile id, or an address: the email for "
                "email campaigns, the phone number for SMS), rendered with the profile and `context`. The "
                "campaign must be API-triggered, Live and inside its start/end window. Exclusions (suppressed, "
                "no address, no consent, the frequency cap for marketing campaigns) apply per recipient; every "
                "outcome is recorded as delivery events of one run and counts in the campaign's statistics. "
                f"At most {MAX_RECIPIENTS} recipients and {MAX_BODY_BYTES:,} bytes. Needs a Manager, "
                "Approver or Administrator key. With an `Idempotency-Key`, a retry of the same call (same key, "
                "campaign and body) gets the first answer again and sends nothing; the same key with another "
                "body is refused (422)."
            ),
            "parameters": [
                _CAMPAIGN_ID,
                {"name": "Idempotency-Key", "in": "header", "required": False,
                 "description": "1 to 255 printable ASCII characters without spaces, e.g. a UUID",
                 "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}},
            ],
            "requestBody": {"required": True, "content": _json("TriggerRequest")},
            "responses": dict(sorted({
                "200": {"description": "Every recipient's outcome", "content": _json("TriggerResponse"),
                        "headers": {"Idempotent-Replayed": {
                            "description": "`true` when this is the stored answer to an earlier call",
                            "schema": {"type": "string", "enum": ["true"]}}}},
                "400": _error("The body is not JSON"),
                **_AUTH_ERRORS,
                "404": _error("There is no such campaign"),
                "409": _error("The campaign is not triggerable now (not API-triggered, not Live, outside its "
                              "window, configuration disabled), or the same Idempotency-Key is still running"),
                "413": _error(f"The body is larger than {MAX_BODY_BYTES:,} bytes"),
                "415": _error("The body is not sent as application/json"),
                "422": _error("The body or a header is invalid (unknown field, wrong type, too many "
                              "recipients, an Idempotency-Key reused with another body)"),
            }.items())),
        }
    }
    paths = {
        f"{PREFIX}/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {
                "schema": {"type": "object"}}}}},
        }},
        f"{PREFIX}/campaigns": _get(
            "List campaigns", "Every campaign, optionally filtered by status and type. Any role.",
            "CampaignList", [
                {"name": "status", "in": "query", "required": False, "schema": {"type": "string",
                                                                                "enum": [s.value for s in Status]}},
                {"name": "type", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": [t.value for t in CampaignType]}},
            ], not_found=False),
        f"{PREFIX}/campaigns/{{campaign_id}}": _get(
            "A campaign", "The version in effect, its channel configuration, content and the context keys its "
            "content reads. Any role.", "CampaignDetail", [_CAMPAIGN_ID]),
        f"{PREFIX}/campaigns/{{campaign_id}}/runs": _get(
            "A campaign's runs", "Newest first, a page at a time. Any role.", "RunList", [
                _CAMPAIGN_ID,
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RUNS_PAGE, "default": 100}},
                {"name": "offset", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0}},
            ]),
        f"{PREFIX}/campaigns/{{campaign_id}}/stats": _get(
            "A campaign's statistics", "The campaign report's figures (all runs or one run; all time or the last "
            "24 hours): the numbers the dashboard's report shows. Viewer, Approver or Administrator keys.",
            "CampaignStats", [
                _CAMPAIGN_ID,
                {"name": "run_id", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
                {"name": "last_24h", "in": "query", "required": False,
                 "schema": {"type": "boolean", "default": False}},
            ]),
        f"{PREFIX}/campaigns/{{campaign_id}}/trigger": trigger,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Herald API", "version": "1.0.0", "description": (
            "Campaigns, runs and statistics, and triggers for API-triggered campaigns. Authenticate every "
            "call with `Authorization: Bearer <key>`; an Administrator creates keys (each with a role) on the "
            "dashboard's Administration page. Refusals answer `{\"error\": ..., \"problems\": {...}}`.")},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "an API key, hk_<prefix>_<secret>"}},
        },
    }
