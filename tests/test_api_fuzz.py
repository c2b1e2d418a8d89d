"""Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis + hypothesis):
valid and invalid requests to every operation, with an Administrator's key, must never get a 5xx,
and every answer must match what the document promises (status codes, content type, schemas)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api_support import ApiWorld, build_api_world
from core.enums import Role

_WORLD: list[ApiWorld] = []
APP = create_app(lambda: _WORLD[0].ws)  # the workspace is the module fixture's, built before any call
SCHEMA = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)  # the document the app serves


@pytest.fixture(scope="module", autouse=True)
def fuzzed_world() -> Iterator[ApiWorld]:
    world = build_api_world()
    _WORLD[:] = [world]
    yield world
    world.world.store.close()
    _WORLD.clear()


@SCHEMA.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case) -> None:
    world = _WORLD[0]
    if (case.path_parameters or {}).get("campaign_id") in (0, 1, 2):
        case.path_parameters["campaign_id"] = world.campaign.id  # aim at the live API campaign too
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.keys[Role.ADMINISTRATOR][1]}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
