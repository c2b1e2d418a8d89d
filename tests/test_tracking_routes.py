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
from core import tracking
from core.store import Store
from core.tracking import Tracking, click_token, open_token
from core.workspace import Workspace
from test_providers import Mailbox, smtp_server
from test_tracking import (
    HTML_CONTENT,
    OTHER_KEY,
    PUBLIC,
    _by_recipient,
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
    ws, admin = workspace()
    box = Mailbox()
    with smtp_server(box) as port:
        run_id = smtp_run(ws, admin, port, HTML_CONTENT, tracking_on=True)
    run = run_row(ws, run_id)
    received = _by_recipient(ws, box)
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
