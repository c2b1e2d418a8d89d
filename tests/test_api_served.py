"""The REST API as `streamlit run app.py` serves it, next to the dashboard, in one process: the
OpenAPI document, an authenticated read, a trigger of the seeded "Password reset" campaign (a
Live, API-triggered email campaign), and the dashboard's own health check."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def _call(url: str, key: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_server_answers_the_api_and_the_dashboard(app_url: str, server_api_key: str) -> None:
    status, doc = _call(f"{app_url}/api/v1/openapi.json")
    assert status == 200 and "/api/v1/campaigns/{campaign_id}/trigger" in doc["paths"]
    status, refused = _call(f"{app_url}/api/v1/campaigns")
    assert status == 401 and set(refused) == {"error", "problems"}
    status, listed = _call(f"{app_url}/api/v1/campaigns?type=api_triggered&status=live", server_api_key)
    assert status == 200
    reset = next(c for c in listed["campaigns"] if c["name"] == "Password reset")
    status, sent = _call(f"{app_url}{reset['trigger_path']}", server_api_key,
                         {"recipients": [{"profile_id": 1}, {"profile_id": 2}], "context": {"order_id": "A-1"}})
    assert status == 200, sent
    assert sent["run_id"] and {r["status"] for r in sent["results"]} <= {"sent", "excluded", "error"}
    status, runs = _call(f"{app_url}/api/v1/campaigns/{reset['id']}/runs?limit=1", server_api_key)
    assert status == 200 and runs["runs"][0]["id"] == sent["run_id"]
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=10) as health:
        assert health.status == 200
    status, missing = _call(f"{app_url}/api/v1/nothing-here", server_api_key)
    assert status == 404 and "openapi.json" in missing["error"]


def _raw(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request without following redirects: status, headers (lower-case names), body."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, method=method), timeout=20) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as other:
        return other.code, {k.lower(): v for k, v in other.headers.items()}, other.read()


def test_the_served_tracking_routes_answer_as_documented(app_url: str, server_tracking: dict[str, str]) -> None:
    """The pixel and the redirect, as the real server answers them without any key, against what its
    own OpenAPI document says: status codes, content types, the redirect's Location."""
    _, doc = _call(f"{app_url}/api/v1/openapi.json")
    opened, clicked = server_tracking["open"], server_tracking["click"]
    cases = [
        ("/api/v1/t/o/{token}.gif", "GET", f"/api/v1/t/o/{opened}.gif", 200),
        ("/api/v1/t/o/{token}.gif", "HEAD", f"/api/v1/t/o/{opened}.gif", 200),
        ("/api/v1/t/o/{token}.gif", "GET", f"/api/v1/t/o/h1{'A' * 40}.gif", 200),  # forged: the same GIF
        ("/api/v1/t/o/{token}.gif", "POST", f"/api/v1/t/o/{opened}.gif", 405),
        ("/api/v1/t/c/{token}", "GET", f"/api/v1/t/c/{clicked}", 302),
        ("/api/v1/t/c/{token}", "HEAD", f"/api/v1/t/c/{clicked}", 302),
        ("/api/v1/t/c/{token}", "GET", f"/api/v1/t/c/{clicked[:-2]}", 404),  # truncated
        ("/api/v1/t/c/{token}", "GET", f"/api/v1/t/c/{opened}", 404),  # an open token is no click token
        ("/api/v1/t/c/{token}", "DELETE", f"/api/v1/t/c/{clicked}", 405),
    ]
    for path, method, url, expected in cases:
        operations = doc["paths"][path]
        assert operations["get"]["security"] == [] and operations["head"]["security"] == []
        documented = operations.get(method.lower(), operations["get"])["responses"]
        status, headers, body = _raw(app_url + url, method)
        assert status == expected and str(status) in documented, (method, url, status)
        media_types = list(documented[str(status)].get("content", {}))
        if media_types:
            assert headers["content-type"].split(";")[0] in media_types, (method, url, headers)
        if status == 302:
            assert headers["location"] == server_tracking["target"] and not body
        if status == 200 and method == "GET":
            assert body.startswith(b"GIF89a")
        if status == 405:
            assert headers["allow"] == "GET, HEAD"
