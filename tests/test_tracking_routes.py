"""The pixel and redirect routes (api/tracking.py) on a Starlette app made of them alone: a GIF
whatever the token, a redirect only to what the token signs, and the whole loop from an SMTP email's
links back into the campaign report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api import tracking as routes
from api.app import create_app
from api.openapi import document
from core import tracking
from core.store import Store
from core.tracking import Tracking, click_token, open_token
from core.workspace import Workspace
from test_providers import Mailbox, smtp_server
from test_tracking import (
    HTML_CONTENT,
    OTHER_KEY,
    PUBLIC,
    emails_of_a_run,
    engagement,
    event_count,
    run_row,
    smtp_run,
    workspace,
)

GIF_MAGIC = b"GIF89a"


@pytest.fixture
def setup() -> Iterator[tuple[Workspace, Any, TestClient, dict[str, Any]]]:
    """A workspace with one finished SMTP run (tracking on), and a client of the routes."""
    ws, admin = workspace(10)
    with smtp_server(Mailbox()) as port:
        run_id = smtp_run(ws, admin, port, {"subject": "Hi", "body": "Go https://shop.example/"}, tracking_on=True)
    app = Starlette(routes=routes.tracking_routes(lambda: ws))
    with TestClient(app, follow_redirects=False) as client:
        yield ws, admin, client, run_row(ws, run_id)


def _ids(run: dict[str, Any]) -> tuple[int, int, int]:
    return run["id"], run["campaign_id"], run["version"]


def test_the_pixel_is_a_transparent_gif_that_records_a_genuine_open(setup: Any) -> None:
    ws, _, client, run = setup
    token = Tracking(ws.store).open_token(*_ids(run), 3)
    answer = client.get(f"/api/v1/t/o/{token}.gif")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    assert answer.content == routes.PIXEL_GIF and answer.content.startswith(GIF_MAGIC)
    assert answer.content[6:10] == b"\x01\x00\x01\x00"  # 1×1
    assert "no-store" in answer.headers["cache-control"]
    assert engagement(ws) == [(run["id"], 3, "opened")]


@pytest.mark.parametrize("bad", ["forged", "altered", "truncated", "other_key", "click_token", "garbage"])
def test_the_pixel_answers_the_same_gif_to_a_bad_token_and_records_nothing(setup: Any, bad: str) -> None:
    ws, _, client, run = setup
    good = Tracking(ws.store).open_token(*_ids(run), 3)
    token = {
        "forged": "h1" + "A" * 50,
        "altered": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "truncated": good[:-3],
        "other_key": open_token(OTHER_KEY, *_ids(run), 3),
        "click_token": Tracking(ws.store).click_token(*_ids(run), 3, "https://shop.example/"),
        "garbage": "%3Cscript%3E",
    }[bad]
    before = event_count(ws)
    answer = client.get(f"/api/v1/t/o/{token}.gif")
    assert answer.status_code == 200 and answer.content == routes.PIXEL_GIF
    assert "no-store" in answer.headers["cache-control"]
    assert event_count(ws) == before


def test_a_genuine_click_redirects_to_the_signed_url_and_records_it(setup: Any) -> None:
    ws, _, client, run = setup
    url = "https://shop.example/sale?x=1&y=two#top"
    answer = client.get(f"/api/v1/t/c/{Tracking(ws.store).click_token(*_ids(run), 4, url)}")
    assert answer.status_code == 302 and answer.headers["location"] == url
    assert "no-store" in answer.headers["cache-control"]
    assert engagement(ws) == [(run["id"], 4, "clicked")]


@pytest.mark.parametrize("bad", ["forged", "altered", "truncated", "other_key", "open_token", "retargeted"])
def test_a_bad_click_token_is_a_plain_404_that_redirects_nowhere(setup: Any, bad: str) -> None:
    ws, _, client, run = setup
    track = Tracking(ws.store)
    good = track.click_token(*_ids(run), 4, "https://shop.example/")
    # the same payload pointing elsewhere, with the genuine signature re-used
    raw = tracking._unb64(good[2:]) or b""
    retargeted_payload = raw[: tracking._HEADER.size] + b"https://evil.example/"
    token = {
        "forged": "h1" + tracking._b64(tracking._header("click", *_ids(run), 4) + b"https://evil.example/" + b"\0" * 16),
        "altered": good[:10] + ("B" if good[10] != "B" else "C") + good[11:],
        "truncated": good[:-1],
        "other_key": click_token(OTHER_KEY, *_ids(run), 4, "https://evil.example/"),
        "open_token": track.open_token(*_ids(run), 4),
        "retargeted": "h1" + tracking._b64(retargeted_payload + raw[-tracking.TAG_BYTES:]),
    }[bad]
    before = event_count(ws)
    answer = client.get(f"/api/v1/t/c/{token}")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/plain")
    assert "location" not in answer.headers and "evil" not in answer.text
    assert answer.text == routes.NOT_FOUND
    assert event_count(ws) == before


def test_head_requests_answer_alike_but_record_nothing(setup: Any) -> None:
    ws, _, client, run = setup
    track = Tracking(ws.store)
    assert client.head(f"/api/v1/t/o/{track.open_token(*_ids(run), 3)}.gif").status_code == 200
    answer = client.head(f"/api/v1/t/c/{track.click_token(*_ids(run), 3, 'https://shop.example/')}")
    assert answer.status_code == 302 and answer.headers["location"] == "https://shop.example/"
    assert client.head("/api/v1/t/c/h1AAAA").status_code == 404
    assert engagement(ws) == []


def test_the_default_routes_use_the_process_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "herald.duckdb"
    monkeypatch.setenv("HERALD_DB", str(path))
    try:
        ws = Workspace.open()
        token = Tracking(ws.store).click_token(1, 1, 1, 1, "https://shop.example/")
        with TestClient(Starlette(routes=routes.TRACKING_ROUTES), follow_redirects=False) as client:
            assert client.get(f"/api/v1/t/c/{token}").headers["location"] == "https://shop.example/"
            assert client.get("/api/v1/t/o/h1nope.gif").content == routes.PIXEL_GIF
    finally:
        Store.shared(path).close()


def test_the_loop_from_a_real_email_back_into_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """Emails sent over SMTP with tracking on; recipients load the pixel (some twice) and click;
    the campaign report counts exactly those opens and clicks."""
    monkeypatch.setenv(tracking.PUBLIC_URL_ENV, PUBLIC)
    ws, admin, run_id, received = emails_of_a_run(HTML_CONTENT, tracking_on=True)
    run = run_row(ws, run_id)
    openers = sorted(received)[:6]
    clickers = openers[:3]
    client = TestClient(Starlette(routes=routes.tracking_routes(lambda: ws)), follow_redirects=False)
    for pid in openers:
        body = received[pid].get_content()
        [pixel] = re.findall(r'<img src="([^"]+/t/o/[^"]+)"', body)
        assert pixel.startswith(PUBLIC)
        for _ in (1, 2) if pid == openers[0] else (1,):
            answer = client.get(urlsplit(pixel).path)
            assert answer.status_code == 200 and answer.content == routes.PIXEL_GIF
        if pid in clickers:
            link = re.findall(r'href="([^"]+/t/c/[^"]+)"', body)[0]
            answer = client.get(urlsplit(link).path)
            assert answer.status_code == 302
            assert answer.headers["location"] == f"https://shop.example/sale?who={pid}&src=mail"
    figures = ws.analytics.report(admin, run["campaign_id"]).figures
    assert figures["opens"] == len(openers) + 1
    assert figures["unique_opens"] == len(openers)
    assert figures["clicks"] == figures["unique_clicks"] == len(clickers)
    assert {p for _, p, e in engagement(ws) if e == "opened"} == set(openers)
    # Accepted by the relay is delivered, so the rates of a real campaign are not empty.
    assert figures["delivered"] == len(received) > 0
    assert figures["unique_open_rate"] == pytest.approx(len(openers) / len(received))
    assert figures["click_to_open_rate"] == pytest.approx(len(clickers) / len(openers))


# ---- the OpenAPI document describes them, and they answer as it says ---------------------------------


def test_the_openapi_document_describes_the_tracking_routes() -> None:
    doc = document()
    for path, kind in ((tracking.OPEN_PATH, "open"), (tracking.CLICK_PATH, "click")):
        assert set(doc["paths"][path]) == {"get", "head"}, path
        for method, operation in doc["paths"][path].items():
            assert operation["security"] == [] and operation["tags"] == ["tracking"], (path, method)
            [token] = operation["parameters"]
            assert (token["name"], token["in"], token["required"]) == ("token", "path", True)
            assert kind in token["description"] and "forged" in token["description"]
            issued = (open_token(OTHER_KEY, 1, 2, 3, 4) if kind == "open"
                      else click_token(OTHER_KEY, 1, 2, 3, 4, "https://a.example/"))
            assert re.fullmatch(token["schema"]["pattern"], issued) and len(issued) <= token["schema"]["maxLength"]
            assert operation["responses"]["405"]["headers"]["Allow"]["schema"]["enum"] == [routes.ALLOW]
    pixel = doc["paths"][tracking.OPEN_PATH]["get"]["responses"]
    assert set(pixel) == {"200", "405"} and set(pixel["200"]["content"]) == {"image/gif"}
    assert "forged" in pixel["200"]["description"]
    click = doc["paths"][tracking.CLICK_PATH]["get"]["responses"]
    assert set(click) == {"302", "404", "405"} and "content" not in click["302"]
    assert "Location" in click["302"]["headers"]
    assert set(click["404"]["content"]) == {"text/plain"}
    assert click["404"]["content"]["text/plain"]["example"] == routes.NOT_FOUND
    assert "forged" in click["404"]["description"] and "altered" in click["404"]["description"]
    assert doc["security"] == [{"bearerAuth": []}]  # every other operation still needs a key


@pytest.fixture
def served(setup: Any) -> Iterator[tuple[Workspace, TestClient, dict[str, Any]]]:
    """The same workspace behind the whole API app (api/app.py's routes: tracking and the mount)."""
    ws, _, _, run = setup
    with TestClient(create_app(ws), follow_redirects=False) as client:
        yield ws, client, run


def _documented(path: str, method: str, status: int) -> dict[str, Any]:
    """The documented response of `method` on `path` for `status` (the GET operation's for other
    methods: a 405 is documented there), failing if the document does not list that status."""
    operations = document()["paths"][path]
    responses = operations.get(method.lower(), operations["get"])["responses"]
    assert str(status) in responses, (path, method, status, sorted(responses))
    return responses[str(status)]


@pytest.mark.parametrize(("case", "method", "expected"), [
    ("genuine open", "GET", 200), ("genuine open", "HEAD", 200), ("forged open", "GET", 200),
    ("altered open", "GET", 200), ("mangled open", "GET", 200), ("open", "POST", 405),
    ("genuine click", "GET", 302), ("genuine click", "HEAD", 302), ("forged click", "GET", 404),
    ("altered click", "GET", 404), ("open token as click", "GET", 404), ("forged click", "HEAD", 404),
    ("mangled click", "GET", 404), ("empty click", "GET", 404), ("click", "PUT", 405), ("click", "DELETE", 405),
])
def test_real_answers_match_the_documented_status_and_content_type(served: Any, case: str, method: str,
                                                                    expected: int) -> None:
    ws, client, run = served
    track = Tracking(ws.store)
    opened, clicked = track.open_token(*_ids(run), 5), track.click_token(*_ids(run), 5, "https://shop.example/a?b=1")
    path, url = {
        "genuine open": (tracking.OPEN_PATH, f"/api/v1/t/o/{opened}.gif"),
        "forged open": (tracking.OPEN_PATH, "/api/v1/t/o/h1" + "A" * 60 + ".gif"),
        "altered open": (tracking.OPEN_PATH, f"/api/v1/t/o/{opened[:-1]}{'B' if opened[-1] != 'B' else 'C'}.gif"),
        "mangled open": (tracking.OPEN_PATH, f"/api/v1/t/o/{opened[:12]}%2F%0A{opened[12:]}.gif"),
        "open": (tracking.OPEN_PATH, f"/api/v1/t/o/{opened}.gif"),
        "genuine click": (tracking.CLICK_PATH, f"/api/v1/t/c/{clicked}"),
        "forged click": (tracking.CLICK_PATH, "/api/v1/t/c/h1" + "A" * 60),
        "altered click": (tracking.CLICK_PATH,
                          f"/api/v1/t/c/{clicked[:20]}{'B' if clicked[20] != 'B' else 'C'}{clicked[21:]}"),
        "open token as click": (tracking.CLICK_PATH, f"/api/v1/t/c/{opened}"),
        "mangled click": (tracking.CLICK_PATH, "/api/v1/t/c/%0A/x"),
        "empty click": (tracking.CLICK_PATH, "/api/v1/t/c/"),
        "click": (tracking.CLICK_PATH, f"/api/v1/t/c/{clicked}"),
    }[case]
    before = event_count(ws)
    answer = client.request(method, url)
    assert answer.status_code == expected, answer.text
    documented = _documented(path, method, expected)
    media_types = list(documented.get("content", {}))
    if media_types:
        assert answer.headers["content-type"].split(";")[0] in media_types
    else:
        assert not answer.content
    for header in documented.get("headers", {}):
        assert header.lower() in answer.headers, header
    if expected == 302:
        assert answer.headers["location"] == "https://shop.example/a?b=1"
    if expected == 200 and method == "GET":
        assert answer.content == routes.PIXEL_GIF
    recorded = event_count(ws) - before
    assert recorded == (1 if case.startswith("genuine") and method == "GET" else 0)
