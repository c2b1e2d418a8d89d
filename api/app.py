"""The API's routes for `st.App` (app.py), and a plain Starlette app of the same routes for tests."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from core.workspace import Workspace

from api.errors import error_response
from api.openapi import PREFIX
from api.routes import Api, WorkspaceSource


GC_YOUNG_THRESHOLD = 20_000  # Python's default is 700
SWITCH_INTERVAL_SECONDS = 0.00002  # Python's default is 0.005
DUCKDB_THREADS = 1  # see Store.set_threads


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


class ApiFirst:
    """Answers every /api/v1 path from the API's own router, ahead of Streamlit's middleware.

    `st.App` puts its routes behind the dashboard's middleware (path checks for its static files,
    signed session cookies, gzip), which an API call needs none of and every call paid for: about a
    tenth of a trigger's time on the event loop (bench/bench_api.py). Other paths go on to the
    dashboard untouched."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.api = Router(routes=routes, default=_not_found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """What no route takes (a path no pattern matches, such as one holding a newline): JSON too."""
    answer = error_response(404, f"There is no such path under {PREFIX}; see {PREFIX}/openapi.json.")
    await answer(scope, receive, send)


def middleware(workspace: WorkspaceSource | None = None) -> list[Middleware]:
    """What app.py gives `st.App`: the API (tracking included) in front of the dashboard."""
    return [Middleware(ApiFirst, routes=routes(workspace))]


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
    workspace.store.set_threads(DUCKDB_THREADS)
    workspace.triggers.warm()
    # What is loaded by now lives as long as the server: keep it out of the garbage collector's
    # full passes, which otherwise pause every request for tens of milliseconds now and then; and
    # collect the youngest objects less often (a trigger allocates thousands of short-lived ones).
    # Measured with bench/bench_api.py: p99 latency 53 -> 40 ms at the same load.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)
    # The trigger writer thread (api/routes.py) takes the GIL back after each DuckDB call; a busy
    # event loop would otherwise keep it for up to 5 ms each time.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    if os.environ.get("HERALD_SCHEDULER", "on") != "off":
        start_in_background(workspace)
    yield
