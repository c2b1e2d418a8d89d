"""The OpenAPI 3.1 document of `/api/v1/`, built from the very Pydantic models the routes validate
and answer with (api/schemas.py), so the document cannot drift from the code's schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from core.enums import CampaignType, Status
from core.tracking import CLICK_PATH, MAX_TOKEN_CHARS, OPEN_PATH, TOKEN_PREFIX
from core.triggers import MAX_RECIPIENTS
from core.api_reads import MAX_RUNS_PAGE

from api.schemas import REQUEST_MODELS, RESPONSE_MODELS
from api.tracking import ALLOW, NOT_FOUND

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


_NO_STORE = {"Cache-Control": {"description": "never cached: every load or click reaches Herald",
                               "schema": {"type": "string"}}}
_GIF = {"image/gif": {"schema": {"type": "string", "contentMediaType": "image/gif"}}}
_TEXT = {"text/plain": {"schema": {"type": "string"}, "example": NOT_FOUND}}


def _token(kind: str) -> dict[str, Any]:
    return {
        "name": "token", "in": "path", "required": True,
        "description": (f"the signed {kind} token Herald wrote into the email: `{TOKEN_PREFIX}` and base64url "
                        "(the message's run, campaign, version and recipient"
                        + (", and the link's target" if kind == "click" else "")
                        + ", then an HMAC-SHA256 tag). Only the exact text Herald issued verifies: a forged, "
                        "altered or truncated token, or one of the other kind, is not genuine"),
        "schema": {"type": "string", "maxLength": MAX_TOKEN_CHARS,
                   "pattern": f"^{TOKEN_PREFIX}[A-Za-z0-9_-]+$"},
    }


def _tracking(summary: str, description: str, kind: str, responses: dict[str, Any]) -> dict[str, Any]:
    """GET and HEAD of a tracking route: no API key (the signed token is the credential); HEAD gives
    the same answer and records nothing (link checkers and mail scanners probe with it)."""
    responses = dict(sorted({
        **responses,
        "405": {"description": "Only GET and HEAD are allowed",
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "headers": {"Allow": {"schema": {"type": "string", "enum": [ALLOW]}}}},
    }.items()))
    get = {"summary": summary, "description": description, "tags": ["tracking"], "security": [],
           "parameters": [_token(kind)], "responses": responses}
    head = {**get, "summary": f"{summary} (probe: records nothing)", "description": (
        "The same answer as GET, without a body, and nothing is recorded: link checkers and mail scanners "
        "probe links this way.")}
    return {"get": get, "head": head}


def _tracking_paths() -> dict[str, Any]:
    return {
        OPEN_PATH: _tracking(
            "Open pixel of a tracked email",
            "The 1×1 image a tracked HTML email loads. Always answers the same transparent GIF, so a mail client "
            "never shows a broken image; the open is recorded as an `opened` event of the message's run only if "
            "the token is genuine. No API key.",
            "open", {"200": {
                "description": "A 1×1 transparent GIF, whatever the token (a forged or altered one records nothing)",
                "headers": _NO_STORE, "content": _GIF}}),
        CLICK_PATH: _tracking(
            "Click redirect of a tracked email",
            "Where a tracked email's links point. A genuine token redirects to the http(s) URL it signs and "
            "records a `clicked` event; anything else redirects nowhere. No API key.",
            "click", {
                "302": {"description": "A genuine click token: the redirect to the link's target (recorded)",
                        "headers": {**_NO_STORE, "Location": {"description": "the URL the token signs",
                                                              "schema": {"type": "string", "format": "uri"}}}},
                "404": {"description": "A forged, altered or truncated token, an open token, or one signed by "
                                       "another workspace: plain text, no redirect, nothing recorded",
                        "headers": _NO_STORE, "content": _TEXT},
            }),
    }


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
            "A campaign's statistics", "The campaign report's figures (all runs, one run or one day's runs; all "
            "time or the last 24 hours): the numbers the dashboard's report shows. Viewer, Approver or Administrator keys.",
            "CampaignStats", [
                _CAMPAIGN_ID,
                {"name": "run_id", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
                {"name": "day", "in": "query", "required": False,
                 "description": "a UTC day (YYYY-MM-DD): the figures of that day's runs (an API-triggered "
                                "campaign's calls); not together with run_id",
                 "schema": {"type": "string", "format": "date"}},
                {"name": "last_24h", "in": "query", "required": False,
                 "schema": {"type": "boolean", "default": False}},
            ]),
        f"{PREFIX}/campaigns/{{campaign_id}}/trigger": trigger,
        **_tracking_paths(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Herald API", "version": "1.0.0", "description": (
            "Campaigns, runs and statistics, and triggers for API-triggered campaigns. Authenticate every "
            "call with `Authorization: Bearer <key>`; an Administrator creates keys (each with a role) on the "
            "dashboard's Administration page. Refusals answer `{\"error\": ..., \"problems\": {...}}`. "
            "The email tracking routes (tag `tracking`: the open pixel and the click redirect) need no key: "
            "their signed token is the credential.")},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "an API key, hk_<prefix>_<secret>"}},
        },
    }
