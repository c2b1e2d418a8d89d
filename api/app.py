"""The API's routes for `st.App` (app.py), and a plain Starlette app of the same routes for tests."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from core.workspace import Workspace

from api.routes import Api, WorkspaceSource


GC_YOUNG_THRESHOLD = 20_000  # Python's default is 700


def routes(workspace: WorkspaceSource | None = None) -> list[BaseRoute]:
    """Everything under /api/v1/, on the workspace `workspace()` returns (default: HERALD_DB's):
    the email tracking routes (api/tracking.py, unauthenticated, their own paths) first, then the
    API's mount, whose catch-all answers JSON 404 for any other /api/v1 path."""
    api = Api(workspace)
    return [*_tracking(api.workspace), *api.routes()]


def _tracking(workspace: WorkspaceSource) -> list[BaseRoute]:
    try:
        from api.tracking import tracking_routes
    except ImportError:  # tracking is optional to the API itself
        return []
    return list(tracking_routes(workspace))


def create_app(workspace: Workspace | WorkspaceSource) -> Starlette:
    """The API alone on `workspace` (tests use it with starlette's TestClient)."""
    source = workspace if callable(workspace) and not isinstance(workspace, Workspace) else (lambda: workspace)
    return Starlette(routes=routes(source))  # type: ignore[arg-type]


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """At server start: open the workspace (migrations included) so the first call is not the one
    that pays for it, and run the scheduler (API-triggered campaigns go Live on time without a
    dashboard visit). `HERALD_SCHEDULER=off` leaves it off, as the dashboard does."""
    from core.scheduler import start_in_background

    workspace = Workspace.shared()
    workspace.triggers.warm()
    # What is loaded by now lives as long as the server: keep it out of the garbage collector's
    # full passes, which otherwise pause every request for tens of milliseconds now and then; and
    # collect the youngest objects less often (a trigger allocates thousands of short-lived ones).
    # Measured with bench/bench_api.py: p99 latency 53 -> 40 ms at the same load.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)
    if os.environ.get("HERALD_SCHEDULER", "on") != "off":
        start_in_background(workspace)
    yield
