"""Tracking of real messages: signed tokens that refuse every alteration, tracked bodies, opens and
clicks recorded as events the statistics count, and SMTP runs whose emails carry the links."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import statistics, tracking
from core.enums import Role
from core.errors import InvalidInput
from core.profiles import generate_profiles
from core.secrets import Secrets
from core.store import Store
from core.store import delivery_rows
from core.tracking import Tracking, click_token, open_token, tracked_body, verify
from core.workspace import Workspace
from test_providers import HOST, Mailbox, smtp_server

NOW = datetime(2026, 11, 23, 9, 0)
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
ALPHABET = string.ascii_letters + string.digits + "-_"
PUBLIC = "https://track.herald.test"
CLICK_RE = re.compile(r"https://track\.herald\.test/api/v1/t/c/([A-Za-z0-9_-]+)")
OPEN_RE = re.compile(r'<img src="https://track\.herald\.test/api/v1/t/o/([A-Za-z0-9_-]+)\.gif" width="1" height="1" alt="">')


# ---- helpers shared with test_tracking_routes ------------------------------------------------------


def workspace(profiles: int = 40) -> tuple[Workspace, Any]:
    ws = Workspace(Store(":memory:"), clock=lambda: NOW)
    admin = ws.add_user(None, "Ada", "ada@herald.example", Role.ADMINISTRATOR)
    ws.set_approval_required(admin, False)
    ws.replace_profiles(admin, generate_profiles(profiles, seed=5, now=NOW))
    return ws, admin


def smtp_run(ws: Workspace, admin: Any, port: int, content: dict[str, str], *, tracking_on: bool,
             name: str = "Tracked") -> int:
    """An email campaign through the local SMTP server, activated and executed; its run id."""
    config = ws.add_channel_config(admin, {
        "name": f"Relay {name}", "channel": "email", "provider": "smtp", "sender_name": "Herald",
        "sender_address": "news@herald.example", "throttle_per_second": 1000, "tracking": tracking_on,
        "settings": {"host": HOST, "port": port, "security": "none"},
    })
    audience = ws.audiences.create_from_rule(
        admin, f"First 40 {name}", "", {"match": "all", "rules": [{"attribute": "profile_id", "operator": "lte", "value": 40}]}
    )
    c = ws.campaigns.create(admin, {"name": name, "channel": "email", "channel_config_id": config.id,
                                    "audience_id": audience.id, "content": content, "schedule": {"timezone": "UTC"}})
    ws.campaigns.activate(admin, c.id, c.revision)
    [run_id] = ws.delivery.create_due_runs()
    assert ws.delivery.execute(run_id).status == "finished"
    return run_id


def run_row(ws: Workspace, run_id: int) -> dict[str, Any]:
    row = delivery_rows.run(ws.store.cursor(), run_id)
    assert row is not None
    return row


def engagement(ws: Workspace) -> list[tuple[int, int, str]]:
    """(run_id, profile_id, event) of every opened/clicked event, sorted."""
    return sorted(ws.store.cursor().execute(
        "SELECT run_id, profile_id, event::VARCHAR FROM delivery_events WHERE event IN ('opened', 'clicked')"
    ).fetchall())


def event_count(ws: Workspace) -> int:
    return int(ws.store.cursor().execute("SELECT count(*) FROM delivery_events").fetchall()[0][0])


HTML_CONTENT = {
    "subject": "Hi {{profile.first_name|there}}",
    "body": '<html><body><p>Hi {{profile.first_name|there}},</p>'
            '<p><a href="https://shop.example/sale?who={{profile.profile_id}}&amp;src=mail">Shop the sale</a> '
            "or <a href='https://shop.example/help'>get help</a>.</p>"
            '<img src="https://cdn.example/logo.png" alt="Logo"></body></html>',
}
PLAIN_CONTENT = {
    "subject": "Hi {{profile.first_name|there}}",
    "body": "Hi {{profile.first_name|there}}, the sale is on: https://shop.example/sale?who={{profile.profile_id}}.\n"
            "Questions? https://shop.example/help",
}


# ---- tokens ----------------------------------------------------------------------------------------


def test_tokens_round_trip_and_are_compact_and_url_safe() -> None:
    token = open_token(KEY, 7, 3, 2, 123456789012)
    assert re.fullmatch(r"h1[A-Za-z0-9_-]+", token) and len(token) <= 60
    assert verify(KEY, token) == tracking.Claims("open", 7, 3, 2, 123456789012)
    url = "https://shop.example/sale?x=1&y=ü#top"
    click = click_token(KEY, 7, 3, 2, 5, url)
    assert re.fullmatch(r"h1[A-Za-z0-9_-]+", click)
    assert verify(KEY, click) == tracking.Claims("click", 7, 3, 2, 5, url)
    assert open_token(KEY, 7, 3, 2, 5) == open_token(KEY, 7, 3, 2, 5)  # a resumed run re-sends the same links
    assert open_token(KEY, 7, 3, 2, 5) != open_token(KEY, 7, 3, 2, 6)
    batch = tracking.open_tokens(KEY, 7, 3, 2, pl.Series([5, 6, 123456789012]))
    assert batch.to_list() == [open_token(KEY, 7, 3, 2, p) for p in (5, 6, 123456789012)]


@pytest.mark.parametrize("token_of", [
    lambda key: open_token(key, 7, 3, 2, 41),
    lambda key: click_token(key, 7, 3, 2, 41, "https://shop.example/sale?x=1"),
], ids=["open", "click"])
def test_every_single_character_alteration_is_refused_and_records_nothing(token_of: Any) -> None:
    ws, _ = workspace(5)
    run_id = _sandbox_run(ws)
    run = run_row(ws, run_id)
    track = Tracking(ws.store, ws.clock)
    token = _retarget(token_of, track.key, run)
    assert track.verify(token) is not None
    before = event_count(ws)
    alterations = set()
    for i, char in enumerate(token):
        for other in ALPHABET + "=.+/%~ é\x00":
            if other != char:
                alterations.add(token[:i] + other + token[i + 1:])
        alterations.add(token[:i] + token[i + 1:])  # one character dropped
        alterations.add(token[:i])  # truncated
        alterations.add(token[:i] + "A" + token[i:])  # one character inserted
    alterations.add(token + "A")
    alterations.discard(token)
    assert len(alterations) > 50 * len(ALPHABET)
    for altered in alterations:
        assert track.verify(altered) is None, altered
        assert track.record_open(altered) is False
        assert track.record_click(altered) is None
    assert event_count(ws) == before  # nothing recorded
    assert verify(OTHER_KEY, token) is None  # signed with another workspace's key


def _sandbox_run(ws: Workspace) -> int:
    """A run row to record against (its channel is what events get)."""
    with ws.store.transaction() as cur:
        run_id = delivery_rows.insert_run(cur, 1, 1, "email", NOW, NOW)
    assert run_id is not None
    return run_id


def _retarget(token_of: Any, key: bytes, run: dict[str, Any]) -> str:
    """The same kind of token, for the real run (so that, unaltered, it would record)."""
    claims = verify(key, token_of(key))
    assert claims is not None
    if claims.kind == "open":
        return open_token(key, run["id"], run["campaign_id"], run["version"], 41)
    return click_token(key, run["id"], run["campaign_id"], run["version"], 41, claims.url or "")


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(), kind=st.sampled_from(["open", "click"]))
def test_hypothesis_no_mutation_of_a_token_verifies(position: int, replacement: str, kind: str) -> None:
    token = open_token(KEY, 9, 4, 1, 77) if kind == "open" else click_token(KEY, 9, 4, 1, 77, "https://a.example/p")
    i = position % len(token)
    altered = token[:i] + replacement + token[i + 1:]
    if altered != token:
        assert verify(KEY, altered) is None


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200))
def test_hypothesis_forged_payloads_never_verify(payload: bytes) -> None:
    forged = tracking.TOKEN_PREFIX + tracking._b64(payload)
    assert verify(KEY, forged) is None
    assert verify(KEY, payload.decode("latin-1")) is None


@settings(max_examples=200, deadline=None)
@given(
    run_id=st.integers(1, 2**31 - 1), campaign_id=st.integers(1, 2**31 - 1), version=st.integers(1, 2**31 - 1),
    profile_id=st.integers(-(2**63), 2**63 - 1),
    host=st.from_regex(r"[a-z0-9]{1,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    path=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="\\"), max_size=60),
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
)
def test_hypothesis_tokens_round_trip(run_id: int, campaign_id: int, version: int, profile_id: int,
                                       host: str, path: str, scheme: str) -> None:
    url = f"{scheme}://{host}/{path}"
    assert verify(KEY, open_token(KEY, run_id, campaign_id, version, profile_id)) == tracking.Claims(
        "open", run_id, campaign_id, version, profile_id)
    token = click_token(KEY, run_id, campaign_id, version, profile_id, url)
    assert verify(KEY, token) == tracking.Claims("click", run_id, campaign_id, version, profile_id, url)
    assert verify(OTHER_KEY, token) is None


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x",
    "file:///etc/passwd", "ftp://files.example/x", "mailto:a@b.example", "//evil.example/x", "/relative/path",
    "https://", "http:///nohost", "https://exa mple.com/", "https://example.com/\nSet-Cookie:x", "https://a.example:99999/",
    "https://good.example\\@evil.example/", "", "https://example.com/" + "x" * tracking.MAX_URL_CHARS,
])
def test_only_http_and_https_targets_are_ever_signed(url: str) -> None:
    with pytest.raises(InvalidInput):
        click_token(KEY, 1, 1, 1, 1, url)


def test_a_signed_but_unsafe_target_is_still_refused() -> None:
    """Defence in depth: even a correctly signed javascript: target never verifies."""
    forged = tracking._sign(KEY, tracking._header("click", 1, 1, 1, 1) + b"javascript:alert(1)")
    assert verify(KEY, forged) is None
    an_open_with_a_url = tracking._sign(KEY, tracking._header("open", 1, 1, 1, 1) + b"https://a.example")
    assert verify(KEY, an_open_with_a_url) is None


def test_ids_that_do_not_fit_are_refused() -> None:
    with pytest.raises(InvalidInput):
        open_token(KEY, 2**31, 1, 1, 1)


def test_the_signing_key_is_random_per_workspace_created_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "herald.duckdb"
    store = Store(path)
    key = Tracking(store).key
    assert len(key) == 32 and Tracking(store).key == key
    assert Secrets(store).names(tracking.KEY_OWNER) == [tracking.KEY_NAME]
    token = Tracking(store).open_token(1, 1, 1, 1)
    store.close()
    reopened = Store(path)  # a new process would read it back from the file
    try:
        assert Tracking(reopened).key == key and Tracking(reopened).verify(token) is not None
    finally:
        reopened.close()
    other = Store(":memory:")
    assert Tracking(other).key != key and Tracking(other).verify(token) is None


def test_public_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.PUBLIC_URL_ENV, raising=False)
    assert tracking.public_url() == "http://127.0.0.1:8501"
    monkeypatch.setenv(tracking.PUBLIC_URL_ENV, "https://herald.example.com/app/")
    assert tracking.public_url() == "https://herald.example.com/app"
    assert tracking.open_url("h1x") == "https://herald.example.com/app/api/v1/t/o/h1x.gif"
    assert tracking.click_url("h1x") == "https://herald.example.com/app/api/v1/t/c/h1x"
    monkeypatch.setenv(tracking.PUBLIC_URL_ENV, "javascript:alert(1)")
    with pytest.raises(Exception, match=tracking.PUBLIC_URL_ENV):
        tracking.public_url()


# ---- bodies ----------------------------------------------------------------------------------------


def _mark(url: str) -> str:
    return f"https://t.example/c?u={len(url)}"


def test_plain_text_every_http_url_is_replaced_and_no_pixel_is_added() -> None:
    body = ("Sale: https://shop.example/sale?x=1&y=2. Help (https://shop.example/help), "
            "<http://old.example/> and HTTPS://UP.EXAMPLE/A!\nNot links: javascript:alert(1) ftp://f.example www.x.example")
    seen: list[str] = []
    out = tracked_body(body, "https://t.example/o.gif", lambda u: seen.append(u) or f"[{u}]")
    assert out == ("Sale: [https://shop.example/sale?x=1&y=2]. Help ([https://shop.example/help]), "
                   "<[http://old.example/]> and [HTTPS://UP.EXAMPLE/A]!\nNot links: javascript:alert(1) ftp://f.example "
                   "www.x.example")
    assert seen == ["https://shop.example/sale?x=1&y=2", "https://shop.example/help", "http://old.example/",
                    "HTTPS://UP.EXAMPLE/A"]
    assert "<img" not in out


def test_html_links_are_tracked_images_kept_and_the_pixel_goes_before_body_end() -> None:
    body = ('<html><body><a class="b" href="https://shop.example/?a=1&amp;b=2">Shop</a> '
            "<A HREF='https://shop.example/help'>Help</A> <a href=https://u.example/p>U</a> "
            '<area shape="rect" href="https://map.example/x"> <a href="mailto:x@y.example">Mail</a> '
            '<a href="#top">Top</a> <a data-href="https://not.example/">n</a> <img src="https://cdn.example/l.png">'
            " text https://text.example</BODY></html>")
    targets: list[str] = []
    out = tracked_body(body, "https://t.example/o.gif?a=1&b=2",
                       lambda u: targets.append(u) or f"https://t.example/c?to={len(targets)}&x")
    assert targets == ["https://shop.example/?a=1&b=2", "https://shop.example/help", "https://u.example/p",
                       "https://map.example/x"]  # entities decoded before signing
    assert 'href="https://t.example/c?to=1&amp;x"' in out  # and the tracked URL escaped back
    assert "HREF='https://t.example/c?to=2&amp;x'" in out and "href=https://t.example/c?to=3&amp;x>" in out
    assert 'href="https://t.example/c?to=4&amp;x"' in out
    for kept in ('href="mailto:x@y.example"', 'href="#top"', 'data-href="https://not.example/"',
                 'src="https://cdn.example/l.png"', "text https://text.example"):
        assert kept in out
    assert out.endswith('<img src="https://t.example/o.gif?a=1&amp;b=2" width="1" height="1" alt=""></BODY></html>')


def test_html_without_body_end_gets_the_pixel_appended_and_refused_targets_stay() -> None:
    out = tracked_body('<p><a href="https://a.example/">A</a></p>', "https://t.example/o.gif", lambda u: None)
    assert out == '<p><a href="https://a.example/">A</a></p><img src="https://t.example/o.gif" width="1" height="1" alt="">'
    assert tracked_body("<p>x</p>", None, _mark) == "<p>x</p>"  # no open URL, no pixel
    assert tracked_body("", "https://t.example/o.gif", _mark, html=False) == ""


BODY_PIECES = [*"ab <>/\"'=.:&;)é\n", "https://", "http://x.", "shop.example", "<a href=", "<a x=1 href=", "<area href=",
               "</body>", "<BODY>", "&amp;", "javascript:", "\x00"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(st.lists(st.sampled_from(BODY_PIECES), max_size=30).map("".join), min_size=1, max_size=5),
       html=st.booleans())
def test_hypothesis_batch_tracking_equals_one_body_at_a_time(bodies: list[str], html: bool) -> None:
    """track_messages (the run's Polars path) and tracked_body agree, and every link it leaves
    signed verifies to the row's recipient and the link's own target."""
    messages = pl.DataFrame({"profile_id": list(range(100, 100 + len(bodies))), "body": bodies})
    batch = tracking.track_messages(messages, KEY, 5, 2, 1, html=html, base_url=PUBLIC)["body"].to_list()
    for pid, body, out in zip(messages["profile_id"], bodies, batch):
        def sign(url: str, pid: int = pid) -> str | None:
            if tracking.safe_target(url) is None:
                return None
            return tracking.click_url(click_token(KEY, 5, 2, 1, pid, url), PUBLIC)
        expected = tracked_body(body, tracking.open_url(open_token(KEY, 5, 2, 1, pid), PUBLIC) if html else None,
                                sign, html=html)
        assert out == expected
        for token in CLICK_RE.findall(out):
            claims = verify(KEY, token)
            assert claims is not None and claims.profile_id == pid and claims.kind == "click"
        if html and "\x00" not in body:
            assert len(OPEN_RE.findall(out)) == 1


# ---- recording and statistics -------------------------------------------------------------------------


def test_opens_and_clicks_are_recorded_with_the_runs_channel_and_counted() -> None:
    ws, admin = workspace(5)
    with smtp_server(Mailbox()) as port:
        run_id = smtp_run(ws, admin, port, PLAIN_CONTENT, tracking_on=True)
    run = run_row(ws, run_id)
    track = Tracking(ws.store, ws.clock)
    sent = [p for (p,) in ws.store.cursor().execute(
        "SELECT profile_id FROM delivery_events WHERE run_id = ? AND event = 'sent' ORDER BY 1", [run_id]).fetchall()]
    assert len(sent) >= 2
    a, b = sent[:2]
    ids = (run_id, run["campaign_id"], run["version"])
    assert track.record_open(track.open_token(*ids, a)) is True
    assert track.record_open(track.open_token(*ids, a)) is True  # a second open: total 2, unique 1
    assert track.record_open(track.open_token(*ids, b)) is True
    assert track.record_click(track.click_token(*ids, a, "https://shop.example/help")) == "https://shop.example/help"
    assert track.record_click(track.click_token(*ids, a, "https://shop.example/sale")) == "https://shop.example/sale"
    assert engagement(ws) == sorted([(run_id, a, "opened"), (run_id, a, "opened"), (run_id, b, "opened"),
                                     (run_id, a, "clicked"), (run_id, a, "clicked")])
    channels = ws.store.cursor().execute(
        "SELECT DISTINCT channel::VARCHAR, campaign_id, version FROM delivery_events WHERE event IN ('opened', 'clicked')"
    ).fetchall()
    assert channels == [("email", run["campaign_id"], run["version"])]
    per_run = statistics.summary(delivery_rows.events_frame(ws.store.cursor()), by=("run_id",)).row(0, named=True)
    assert (per_run["opens"], per_run["unique_opens"], per_run["clicks"], per_run["unique_clicks"]) == (3, 2, 2, 1)
    figures = ws.analytics.report(admin, run["campaign_id"]).figures
    assert (figures["opens"], figures["unique_opens"], figures["clicks"], figures["unique_clicks"]) == (3, 2, 2, 1)
    assert figures["click_to_open_rate"] == pytest.approx(0.5)


def test_tokens_of_an_unknown_run_record_nothing_but_a_signed_click_still_resolves() -> None:
    ws, _ = workspace(5)
    track = Tracking(ws.store, ws.clock)
    assert track.record_open(track.open_token(999, 1, 1, 1)) is False
    assert track.record_click(track.click_token(999, 1, 1, 1, "https://a.example/")) == "https://a.example/"
    run_id = _sandbox_run(ws)
    assert track.record_open(track.open_token(run_id, 2, 1, 1)) is False  # campaign does not match the run
    assert track.record_open(open_token(OTHER_KEY, run_id, 1, 1, 1)) is False  # another workspace's key
    assert track.record_click(click_token(OTHER_KEY, run_id, 1, 1, 1, "https://a.example/")) is None
    assert track.record_click(track.open_token(run_id, 1, 1, 1)) is None  # an open token is no click token
    assert track.record_open(track.click_token(run_id, 1, 1, 1, "https://a.example/")) is False
    assert engagement(ws) == []


# ---- SMTP runs ----------------------------------------------------------------------------------------


def _by_recipient(ws: Workspace, box: Mailbox) -> dict[int, Any]:
    ids = dict(ws.store.cursor().execute("SELECT email, profile_id FROM profiles").fetchall())
    return {ids[str(m["To"])]: m for m in box.received}


def emails_of_a_run(content: dict[str, str], *, tracking_on: bool) -> tuple[Workspace, Any, int, dict[int, Any]]:
    """A fresh workspace, its Administrator, one finished SMTP run of `content` and the emails the
    relay received from it, by profile id."""
    ws, admin = workspace()
    box = Mailbox()
    with smtp_server(box) as port:
        run_id = smtp_run(ws, admin, port, content, tracking_on=tracking_on)
    return ws, admin, run_id, _by_recipient(ws, box)


def test_an_smtp_run_with_tracking_sends_html_with_tracked_links_and_the_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tracking.PUBLIC_URL_ENV, PUBLIC)
    ws, admin, run_id, received = emails_of_a_run(HTML_CONTENT, tracking_on=True)
    run = run_row(ws, run_id)
    key = Tracking(ws.store).key
    assert len(received) >= 10
    for pid, message in received.items():
        assert message.get_content_type() == "text/html"
        body = message.get_content()
        assert "https://shop.example" not in body  # every link goes through the redirect
        assert 'src="https://cdn.example/logo.png"' in body  # images are not clicks
        clicks = [verify(key, t) for t in CLICK_RE.findall(body)]
        assert [c.url for c in clicks if c] == [f"https://shop.example/sale?who={pid}&src=mail", "https://shop.example/help"]
        assert {(c.run_id, c.campaign_id, c.version, c.profile_id) for c in clicks if c} == {
            (run_id, run["campaign_id"], run["version"], pid)}
        [pixel] = OPEN_RE.findall(body)
        assert verify(key, pixel) == tracking.Claims("open", run_id, run["campaign_id"], run["version"], pid)
        assert body.rstrip().endswith('alt=""></body></html>')


def test_an_smtp_run_with_tracking_tracks_plain_text_links_without_a_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tracking.PUBLIC_URL_ENV, PUBLIC)
    ws, _, _, received = emails_of_a_run(PLAIN_CONTENT, tracking_on=True)
    key = Tracking(ws.store).key
    for pid, message in received.items():
        assert message.get_content_type() == "text/plain"
        body = message.get_content().replace("\r\n", "\n")
        assert "shop.example" not in body and "<img" not in body and "/t/o/" not in body
        urls = [c.url for c in (verify(key, t) for t in CLICK_RE.findall(body)) if c and c.profile_id == pid]
        assert urls == [f"https://shop.example/sale?who={pid}", "https://shop.example/help"]
        assert re.search(r"/t/c/h1[A-Za-z0-9_-]+\.\nQuestions\? https://track", body)  # the full stop stays text


@pytest.mark.parametrize("content", [HTML_CONTENT, PLAIN_CONTENT], ids=["html", "plain"])
def test_with_tracking_off_the_emails_are_untouched(content: dict[str, str]) -> None:
    ws, _, _, received = emails_of_a_run(content, tracking_on=False)
    assert received
    firsts = dict(ws.store.cursor().execute("SELECT profile_id, coalesce(first_name, 'there') FROM profiles").fetchall())
    for pid, message in received.items():
        expected = content["body"].replace("{{profile.first_name|there}}", firsts[pid]).replace(
            "{{profile.profile_id}}", str(pid))
        assert message.get_content().replace("\r\n", "\n").rstrip("\n") == expected
        assert message.get_content_type() == ("text/html" if content is HTML_CONTENT else "text/plain")
    assert Secrets(ws.store).names(tracking.KEY_OWNER) == []  # no key needed, none made
