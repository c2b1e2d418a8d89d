"""The open pixel and the click redirect of tracked emails (core.tracking signs and records).

- `GET /api/v1/t/o/{token}.gif`: always a 1×1 transparent GIF (`Cache-Control: no-store`), so a
  mail client never shows a broken image; the open is recorded only if the token verifies.
- `GET /api/v1/t/c/{token}`: a 302 to the URL the token signs, recording the click; anything else
  (forged, altered, truncated, an open token) is a plain-text 404 and redirects nowhere.
- Both take whatever follows their prefix as the token (an empty one, or one with a "/", included),
  so a link a mail client mangled still gets the pixel or the plain 404, never the API's JSON.
- HEAD gives the same answer but records nothing: link checkers and mail scanners probe with it.
  Any other method is a plain-text 405 with `Allow: GET, HEAD` (the routes take every method, so
  the API's catch-all never answers these paths with "there is no such path").

No authentication: the token is the credential, and it only ever says "this recipient opened or
clicked this message". Handlers are sync, so Starlette runs their DuckDB work in its threadpool.
Mount with `tracking_routes(workspace_provider)` (a zero-argument callable returning the
Workspace) or `TRACKING_ROUTES` (the process's workspace, `Workspace.open()`, on HERALD_DB).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core.tracking import CLICK_PATH, OPEN_PATH, Tracking
from core.workspace import Workspace

log = logging.getLogger(__name__)

WorkspaceProvider = Callable[[], Workspace]
# The smallest transparent GIF89a: 1×1, one transparent colour.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
    "Pragma": "no-cache",
    "Expires": "0",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
NOT_FOUND = "This link is not valid or has expired."
ALLOW = "GET, HEAD"


def tracking_routes(workspace_provider: WorkspaceProvider) -> list[Route]:
    """The pixel and redirect routes, recording into the workspace `workspace_provider()` returns
    (called on each request, in the request's worker thread)."""

    def _tracking() -> Tracking:
        ws = workspace_provider()
        return Tracking(ws.store, ws.clock)

    def not_allowed(request: Request) -> Response:
        return PlainTextResponse(f"{request.method} is not allowed here; use GET.", status_code=405,
                                 headers={**NO_STORE, "Allow": ALLOW})

    def pixel(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return not_allowed(request)
        token = str(request.path_params.get("token", ""))
        if request.method != "HEAD":
            try:
                _tracking().record_open(token)
            except Exception:  # the pixel must always load; a failure is logged, never shown
                log.exception("recording an open failed")
        return Response(PIXEL_GIF, media_type="image/gif", headers=NO_STORE)

    def click(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return not_allowed(request)
        token = str(request.path_params.get("token", ""))
        tracking = _tracking()
        claims = tracking.verify(token)
        if claims is None or claims.kind != "click" or claims.url is None:
            return PlainTextResponse(NOT_FOUND, status_code=404, headers=NO_STORE)
        if request.method != "HEAD":
            try:
                tracking.record_click(token)
            except Exception:  # the recipient still gets where the link goes; the failure is logged
                log.exception("recording a click failed")
        return RedirectResponse(claims.url, status_code=302, headers=NO_STORE)

    # `{token:path}`: every address under the pixel's and the redirect's prefixes is theirs, even one a
    # mail client mangled (a token cut short or holding a "/"): a GIF or the plain 404, never an API error.
    found = [Route(OPEN_PATH.replace("{token}", "{token:path}"), pixel, name="tracking_open"),
             Route(CLICK_PATH.replace("{token}", "{token:path}"), click, name="tracking_click")]
    for route in found:
        route.methods = None  # type: ignore[assignment] - every method reaches the handler, which answers 405
        route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)  # a token holding a newline too
    return found


TRACKING_ROUTES: list[Route] = tracking_routes(Workspace.open)
