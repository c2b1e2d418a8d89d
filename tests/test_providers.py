"""Real providers against real local servers: aiosmtpd for SMTP, http.server for the webhook
gateway, both on 127.0.0.1 and a free port, stopped at the end of each test. Sleeps (pacing and
retry backoff) are injected, so the tests assert the delays without waiting for them."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from core.enums import Channel, Provider, Role
from core.errors import InvalidInput
from core.models import ChannelConfig, parse
from core.providers import EVENT_SCHEMA
from core.providers.smtp import SmtpSettings, send_smtp
from core.providers.throttle import Pacer
from core.providers.webhook import WebhookSettings, send_webhook
from core.secrets import PASSWORD, Secrets, channel_config_owner
from core.store import Store, workspace_rows

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

T0 = datetime(2026, 3, 2, 8, 0)
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class TickingClock:
    """Naive UTC, one second later at each call: shows which timestamps come from the clock."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> datetime:
        self.calls += 1
        return T0 + timedelta(seconds=self.calls - 1)


def never_waits() -> Callable[[], float]:
    """A monotonic clock a second apart per reading: the pacer never needs to sleep, so the
    recorded sleeps are the retry backoff alone."""
    counter = itertools.count()
    return lambda: float(next(counter))


class FakeTime:
    """monotonic + sleep for the pacer: sleeping moves time on, and every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def messages(*rows: tuple[int, str | None, str | None, str], ids: list[str] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows, schema={"profile_id": pl.Int64, "to": pl.String, "subject": pl.String, "body": pl.String}, orient="row"
    )
    return frame.with_columns(pl.Series("message_id", ids, dtype=pl.String)) if ids is not None else frame


def by_profile(events: pl.DataFrame) -> dict[int, list[tuple[str, str | None, str | None]]]:
    """Each profile's events in order, as (event, bounce, reason)."""
    out: dict[int, list[tuple[str, str | None, str | None]]] = {}
    for row in events.iter_rows(named=True):
        out.setdefault(row["profile_id"], []).append((row["event"], row["bounce"], row["reason"]))
    return out


# ---- SMTP: a real local server -------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler that records what arrives and refuses as scripted."""

    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> reply to RCPT, every time
    data_replies: dict[str, list[str]] = field(default_factory=dict)  # address -> replies to DATA, in turn
    drop_once: set[str] = field(default_factory=set)  # close the connection at this address's DATA, once
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    rcpt_attempts: Counter[str] = field(default_factory=Counter)
    peers: set[Any] = field(default_factory=set)
    tls_sessions: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.rcpt_attempts[address] += 1
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.add(session.peer)
        to = envelope.rcpt_tos[0]
        if to in self.drop_once:
            self.drop_once.discard(to)
            server.transport.close()
            return "250 never heard"
        if self.data_replies.get(to):
            return self.data_replies[to].pop(0)
        if session.ssl is not None:
            self.tls_sessions += 1
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.received]

    def recipients(self) -> list[str]:
        return [to for _, tos in self.envelopes for to in tos]


def authenticator(user: str, password: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    return check


@contextmanager
def smtp_server(handler: Mailbox, **options: Any) -> Iterator[int]:
    """aiosmtpd on 127.0.0.1 and a free port for the duration of the block; yields the port."""
    port = _free_port()
    controller = Controller(handler, hostname=HOST, port=port, server_hostname="mx.herald.test", **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_settings(port: int, **overrides: Any) -> SmtpSettings:
    return SmtpSettings.model_validate(
        {
            "host": HOST,
            "port": port,
            "security": "none",
            "from_address": "news@herald.example",
            "from_name": "Herald Café",
            "timeout": 5,
            **overrides,
        }
    )


THREE = messages(
    (1, "ana@example.com", "Réduction ✓", "Bonjour Ana, -20 % sur tout ✓"),
    (2, "ben@example.com", "Hello Ben", "Plain ASCII body."),
    (3, "chloe@example.com", "日本語の件名", "本文です。"),
)


def test_smtp_sends_rfc_messages_utf8_safe_over_one_connection() -> None:
    box = Mailbox()
    clock = TickingClock()
    with smtp_server(box) as port:
        events = send_smtp(
            THREE.with_columns(pl.Series("message_id", ["run7-1", None, "run7-3"])),
            smtp_settings(port, reply_to="help@herald.example"),
            None, clock, per_second=1000, monotonic=never_waits(), sleep=lambda s: None,
        )
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert events["event"].to_list() == ["sent", "delivered"] * 3  # accepted by the relay: delivered
    assert events["profile_id"].to_list() == [1, 1, 2, 2, 3, 3]
    assert events["bounce"].null_count() == 6 and events["reason"].null_count() == 6
    assert all(T0 <= t <= T0 + timedelta(seconds=clock.calls) for t in events["occurred_at"])
    assert box.recipients() == ["ana@example.com", "ben@example.com", "chloe@example.com"]
    assert {mail_from for mail_from, _ in box.envelopes} == {"news@herald.example"}
    assert box.subjects() == ["Réduction ✓", "Hello Ben", "日本語の件名"]
    first = box.received[0]
    assert first["From"].addresses[0].display_name == "Herald Café"
    assert first["From"].addresses[0].addr_spec == "news@herald.example"
    assert str(first["To"]) == "ana@example.com"
    assert str(first["Reply-To"]) == "help@herald.example"
    assert first.get_content_type() == "text/plain"
    assert first.get_content_charset() == "utf-8"
    assert first.get_content().rstrip("\r\n") == "Bonjour Ana, -20 % sur tout ✓"
    assert box.received[2].get_content().rstrip("\r\n") == "本文です。"
    assert first["Date"].datetime.replace(tzinfo=None) >= T0
    ids = [str(m["Message-ID"]) for m in box.received]
    assert ids[0] == "<run7-1@herald.example>" and ids[2] == "<run7-3@herald.example>"
    assert ids[1].startswith("<") and ids[1].endswith("@herald.example>") and len(set(ids)) == 3
    assert len(box.peers) == 1  # one connection for the batch


def test_smtp_permanent_refusal_is_sent_then_hard_bounced_and_the_others_arrive() -> None:
    reply = "550 5.1.1 <ben@example.com>: Recipient address rejected: User unknown"
    box = Mailbox(refuse_rcpt={"ben@example.com": reply})
    sleeps: list[float] = []
    with smtp_server(box) as port:
        events = send_smtp(THREE, smtp_settings(port), None, TickingClock(), 1000,
                           monotonic=never_waits(), sleep=sleeps.append)
    outcome = by_profile(events)
    assert outcome[2] == [("sent", None, None), ("bounced", "hard", reply)]
    assert outcome[1] == outcome[3] == [("sent", None, None), ("delivered", None, None)]
    assert box.recipients() == ["ana@example.com", "chloe@example.com"]
    assert box.rcpt_attempts["ben@example.com"] == 1 and sleeps == []  # a 5xx is never retried
    bounced = events.filter(pl.col("event") == "bounced").row(0, named=True)
    sent = events.filter((pl.col("event") == "sent") & (pl.col("profile_id") == 2)).row(0, named=True)
    assert bounced["occurred_at"] >= sent["occurred_at"]


def test_smtp_permanent_refusal_after_data_is_a_hard_bounce() -> None:
    box = Mailbox(data_replies={"ana@example.com": ["554 5.7.1 Message rejected as spam"]})
    with smtp_server(box) as port:
        events = send_smtp(THREE, smtp_settings(port), None, TickingClock(), 1000, monotonic=never_waits())
    assert by_profile(events)[1] == [("sent", None, None), ("bounced", "hard", "554 5.7.1 Message rejected as spam")]
    assert box.recipients() == ["ben@example.com", "chloe@example.com"]


def test_smtp_temporary_refusal_is_retried_with_backoff_then_soft_bounced() -> None:
    box = Mailbox(refuse_rcpt={"ana@example.com": "451 4.3.0 Try again later"})
    sleeps: list[float] = []
    with smtp_server(box) as port:
        events = send_smtp(THREE, smtp_settings(port, max_retries=2, backoff_seconds=0.5), None, TickingClock(),
                           1000, monotonic=never_waits(), sleep=sleeps.append)
    assert by_profile(events)[1] == [("sent", None, None), ("bounced", "soft", "451 4.3.0 Try again later")]
    assert box.rcpt_attempts["ana@example.com"] == 3
    assert sleeps == [0.5, 1.0]
    assert box.recipients() == ["ben@example.com", "chloe@example.com"]


def test_smtp_temporary_refusal_that_clears_on_retry_is_sent() -> None:
    box = Mailbox(data_replies={"ben@example.com": ["452 4.2.2 Mailbox full, try later"]})
    sleeps: list[float] = []
    with smtp_server(box) as port:
        events = send_smtp(THREE, smtp_settings(port), None, TickingClock(), 1000,
                           monotonic=never_waits(), sleep=sleeps.append)
    assert events["event"].to_list() == ["sent", "delivered"] * 3
    assert sleeps == [0.5]
    assert box.recipients() == ["ana@example.com", "ben@example.com", "chloe@example.com"]


@pytest.mark.parametrize("how", ["dropped", "421"])
def test_smtp_reconnects_when_the_server_drops_the_connection(how: str) -> None:
    box = Mailbox()
    if how == "dropped":
        box.drop_once.add("ben@example.com")
    else:
        box.data_replies["ben@example.com"] = ["421 4.3.2 Service shutting down, closing channel"]
    sleeps: list[float] = []
    with smtp_server(box) as port:
        events = send_smtp(THREE, smtp_settings(port), None, TickingClock(), 1000,
                           monotonic=never_waits(), sleep=sleeps.append)
    assert events["event"].to_list() == ["sent", "delivered"] * 3
    assert box.recipients() == ["ana@example.com", "ben@example.com", "chloe@example.com"]
    assert len(box.peers) == 2  # a second connection after the first was lost
    assert sleeps == [0.5]


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_smtp_authentication_failure_makes_every_message_an_error(password: str | None) -> None:
    box = Mailbox()
    sleeps: list[float] = []
    with smtp_server(box, authenticator=authenticator("herald", "s3cret-pass"), auth_required=True,
                     auth_require_tls=False) as port:
        events = send_smtp(THREE, smtp_settings(port, username="herald"),
                           SecretStr(password) if password else None, TickingClock(), 1000,
                           monotonic=never_waits(), sleep=sleeps.append)
    assert events["event"].to_list() == ["error"] * 3
    assert sleeps == []  # a refused login is not tried again
    reasons = set(events["reason"].to_list())
    assert len(reasons) == 1
    reason = reasons.pop()
    if password:
        assert reason.startswith("SMTP authentication failed: 535 ")
        assert "wrong-password" not in reason
    else:
        assert reason.startswith("SMTP password is not set")
    assert box.received == []


def test_smtp_non_ascii_password_is_an_error_that_does_not_quote_it() -> None:
    box = Mailbox()
    with smtp_server(box, authenticator=authenticator("herald", "s3cret-pass"), auth_required=True,
                     auth_require_tls=False) as port:
        events = send_smtp(THREE, smtp_settings(port, username="herald"), SecretStr("pässwörd-ünicode"),
                           TickingClock(), 1000, monotonic=never_waits())
    assert set(events["reason"].to_list()) == {"SMTP authentication failed: the user name and password must be ASCII"}


def test_smtp_authentication_with_the_right_password_sends() -> None:
    box = Mailbox()
    with smtp_server(box, authenticator=authenticator("herald", "s3cret-pass"), auth_required=True,
                     auth_require_tls=False) as port:
        events = send_smtp(THREE, smtp_settings(port, username="herald"), SecretStr("s3cret-pass"),
                           TickingClock(), 1000, monotonic=never_waits())
    assert events["event"].to_list() == ["sent", "delivered"] * 3
    assert len(box.received) == 3


def test_smtp_logs_in_with_the_password_from_the_secrets_store() -> None:
    """The path a run takes: the Administrator stored the password; the provider reads it."""
    store = Store(":memory:")
    try:
        with store.transaction() as cur:
            admin = workspace_rows.insert_user(cur, "Ada", "ada@herald.example", Role.ADMINISTRATOR, T0)
            config = workspace_rows.insert_channel_config(
                cur, ChannelConfig(name="Email · relay", channel=Channel.EMAIL, provider=Provider.SMTP,
                                   sender_address="news@herald.example"), T0)
        secrets = Secrets(store, TickingClock())
        owner = channel_config_owner(config.id or 0)
        secrets.put(admin, owner, PASSWORD, "s3cret-pass")
        box = Mailbox()
        with smtp_server(box, authenticator=authenticator("herald", "s3cret-pass"), auth_required=True,
                         auth_require_tls=False) as port:
            events = send_smtp(THREE, smtp_settings(port, username="herald"), secrets.get(owner, PASSWORD),
                               TickingClock(), 1000, monotonic=never_waits())
        assert events["event"].to_list() == ["sent", "delivered"] * 3
    finally:
        store.close()


def test_smtp_unreachable_server_makes_every_message_an_error() -> None:
    port = _free_port()  # nothing listens there
    sleeps: list[float] = []
    events = send_smtp(THREE, smtp_settings(port, timeout=2), None, TickingClock(), 1000,
                       monotonic=never_waits(), sleep=sleeps.append)
    assert sleeps == [0.5, 1.0]  # tried again, once for the batch, not per message
    assert events["event"].to_list() == ["error"] * 3
    assert set(events["reason"].to_list()) == {
        f"SMTP connection to {HOST}:{port} failed: [Errno 111] Connection refused"
    }


def test_smtp_bad_addresses_are_errors_and_headers_cannot_be_injected() -> None:
    box = Mailbox()
    batch = messages(
        (1, "not-an-address", "Hi", "Body"),
        (2, None, "Hi", "Body"),
        (3, "ana@example.com", "Hi\r\nBcc: victim@example.com", "Body"),
    )
    with smtp_server(box) as port:
        events = send_smtp(batch, smtp_settings(port), None, TickingClock(), 1000, monotonic=never_waits())
    outcome = by_profile(events)
    assert outcome[1] == [("error", None, "not an email address: 'not-an-address'")]
    assert outcome[2] == [("error", None, "not an email address: ''")]
    assert outcome[3] == [("sent", None, None), ("delivered", None, None)]
    assert box.recipients() == ["ana@example.com"]
    assert box.subjects() == ["Hi Bcc: victim@example.com"] and box.received[0]["Bcc"] is None


def test_smtp_paces_hand_offs_at_the_throttle_rate() -> None:
    box = Mailbox()
    fake = FakeTime()
    with smtp_server(box) as port:
        send_smtp(THREE, smtp_settings(port), None, TickingClock(), per_second=2,
                  monotonic=fake.monotonic, sleep=fake.sleep)
    assert fake.sleeps == [0.5, 0.5]


def test_smtp_empty_batch_gives_an_empty_events_frame_without_connecting() -> None:
    events = send_smtp(messages(), smtp_settings(_free_port()), None, TickingClock(), 10)
    assert events.height == 0 and events.schema == pl.Schema(EVENT_SCHEMA)


def test_smtp_settings_defaults_and_refusals() -> None:
    assert SmtpSettings(host="smtp.example.com", from_address="a@b.example").port == 587
    assert parse(SmtpSettings, {"host": "h.example", "security": "tls", "from_address": "a@b.example"}).port == 465
    assert parse(SmtpSettings, {"host": "h.example", "security": "none", "from_address": "a@b.example"}).port == 25
    with pytest.raises(InvalidInput) as refused:
        parse(SmtpSettings, {"host": "h.example", "from_address": "a@b.example", "password": "hunter2hunter2"})
    assert "password" in refused.value.problems and "hunter2hunter2" not in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        parse(SmtpSettings, {"host": "bad host", "from_address": "nope", "security": "ssl"})
    assert set(refused.value.problems) == {"host", "from_address", "security"}


# ---- SMTP over TLS: a self-signed certificate made for the test ------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (cert, key).

    The `cryptography` package is not a dependency of this project, so the certificate comes
    from the openssl command line; without it the TLS tests skip rather than fake a handshake.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("TLS not tested: no `openssl` command (and `cryptography` is not installed) to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_smtp_starttls_verifies_the_certificate_then_logs_in(certificate: tuple[Path, Path]) -> None:
    box = Mailbox()
    trusted = ssl.create_default_context(cafile=str(certificate[0]))  # hostname checks stay on
    with smtp_server(box, tls_context=_server_context(certificate), require_starttls=True,
                     authenticator=authenticator("herald", "s3cret-pass"), auth_required=True) as port:
        events = send_smtp(THREE, smtp_settings(port, security="starttls", username="herald"),
                           SecretStr("s3cret-pass"), TickingClock(), 1000, monotonic=never_waits(),
                           tls_context=trusted)
    assert events["event"].to_list() == ["sent", "delivered"] * 3
    assert box.tls_sessions == 3  # every message went over the encrypted session


def test_smtp_starttls_refuses_an_untrusted_certificate(certificate: tuple[Path, Path]) -> None:
    box = Mailbox()
    with smtp_server(box, tls_context=_server_context(certificate), require_starttls=True) as port:
        events = send_smtp(THREE, smtp_settings(port, security="starttls"), None, TickingClock(), 1000,
                           monotonic=never_waits())  # the system's trust store: the test CA is not in it
    assert events["event"].to_list() == ["error"] * 3
    reason = events["reason"][0]
    assert reason.startswith(f"SMTP TLS handshake with {HOST}:") and "CERTIFICATE_VERIFY_FAILED" in reason
    assert box.received == []


def test_smtp_starttls_not_offered_is_an_error() -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        events = send_smtp(THREE, smtp_settings(port, security="starttls"), None, TickingClock(), 1000,
                           monotonic=never_waits())
    assert set(events["reason"].to_list()) == {
        f"SMTP server {HOST}:{port} does not offer STARTTLS; choose another security setting"
    }


def test_smtp_implicit_tls(certificate: tuple[Path, Path]) -> None:
    box = Mailbox()
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    with smtp_server(box, ssl_context=_server_context(certificate)) as port:
        events = send_smtp(THREE, smtp_settings(port, security="tls"), None, TickingClock(), 1000,
                           monotonic=never_waits(), tls_context=trusted)
    assert events["event"].to_list() == ["sent", "delivered"] * 3
    assert box.subjects() == ["Réduction ✓", "Hello Ben", "日本語の件名"]


# ---- webhook: a real local HTTP gateway -----------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: str = '{"accepted": true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # answer late: lets a client time out


class Gateway(ThreadingHTTPServer):
    """Records every request; answers from `script` in turn, then 200."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _GatewayHandler)
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/hooks/herald"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test) is expected: stay quiet."""


class _GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "json": json.loads(body)}
            )
            reply = self.server.script.pop(0) if self.server.script else Reply()
        if reply.delay:
            threading.Event().wait(reply.delay)
        raw = reply.body.replace("{auth}", self.headers.get("Authorization", "")).encode()
        self.send_response(reply.status)
        for name, value in {"Content-Type": "application/json", **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # loopback only, whatever the environment says
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


TOKEN = SecretStr("tok_live_5f1c2a9e7b3f9a")
SMS = messages(
    (11, "+15550101", None, "Your code is 4821 ✓"),
    (12, "+15550102", "Sale", "Réduction de 20 %"),
    ids=["run3-11", "run3-12"],
)


def webhook_settings(url: str, **overrides: Any) -> WebhookSettings:
    return WebhookSettings.model_validate({"url": url, "timeout": 2, **overrides})


def test_webhook_posts_json_payloads_with_the_bearer_token(gateway: Gateway) -> None:
    sleeps: list[float] = []
    clock = TickingClock()
    events = send_webhook(SMS, webhook_settings(gateway.url, headers={"X-Tenant": "acme"}), TOKEN, clock,
                          per_second=1000, sleep=sleeps.append, monotonic=never_waits())
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert by_profile(events) == {11: [("sent", None, None), ("delivered", None, None)],
                                  12: [("sent", None, None), ("delivered", None, None)]}
    assert [r["json"] for r in gateway.requests] == [
        {"profile_id": 11, "to": "+15550101", "subject": None, "body": "Your code is 4821 ✓", "message_id": "run3-11"},
        {"profile_id": 12, "to": "+15550102", "subject": "Sale", "body": "Réduction de 20 %", "message_id": "run3-12"},
    ]
    first = gateway.requests[0]
    assert first["path"] == "/hooks/herald"
    assert first["headers"]["Authorization"] == "Bearer tok_live_5f1c2a9e7b3f9a"
    assert first["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert first["headers"]["Idempotency-Key"] == "run3-11"
    assert first["headers"]["X-Tenant"] == "acme"
    assert sleeps == []
    assert events["occurred_at"].to_list() == [T0 + timedelta(seconds=s) for s in range(4)]


def test_webhook_unusable_token_is_an_error_without_a_request(gateway: Gateway) -> None:
    events = send_webhook(SMS, webhook_settings(gateway.url), SecretStr("tök en"), TickingClock(), 1000,
                          monotonic=never_waits())
    assert events["event"].to_list() == ["error", "error"]
    assert "tök" not in events["reason"][0] and gateway.requests == []


def test_webhook_without_a_token_sends_no_authorization(gateway: Gateway) -> None:
    events = send_webhook(SMS.drop("message_id"), webhook_settings(gateway.url), None, TickingClock(), 1000,
                          monotonic=never_waits())
    assert events.filter(pl.col("event") == "sent").height == 2
    assert all("Authorization" not in r["headers"] for r in gateway.requests)
    ids = [r["json"]["message_id"] for r in gateway.requests]
    assert len(set(ids)) == 2 and all(ids)  # generated when the frame has none


def test_webhook_retries_a_server_error_with_the_same_message_id(gateway: Gateway) -> None:
    gateway.script = [Reply(500, "oops")]
    sleeps: list[float] = []
    events = send_webhook(SMS.head(1), webhook_settings(gateway.url), TOKEN, TickingClock(), 1000,
                          sleep=sleeps.append, monotonic=never_waits())
    assert by_profile(events) == {11: [("sent", None, None), ("delivered", None, None)]}
    assert sleeps == [0.5]
    assert [r["json"]["message_id"] for r in gateway.requests] == ["run3-11", "run3-11"]


def test_webhook_gives_up_after_max_retries_with_exponential_backoff(gateway: Gateway) -> None:
    gateway.script = [Reply(503, '{"error": "maintenance"}')] * 10
    sleeps: list[float] = []
    events = send_webhook(SMS.head(1), webhook_settings(gateway.url), TOKEN, TickingClock(), 1000,
                          sleep=sleeps.append, monotonic=never_waits())
    assert by_profile(events) == {
        11: [("error", None, 'HTTP 503 Service Unavailable: {"error": "maintenance"} (after 4 attempts)')]
    }
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(gateway.requests) == 4


def test_webhook_client_error_is_not_retried_and_carries_status_and_body(gateway: Gateway) -> None:
    gateway.script = [Reply(400, '{"error": "invalid phone number", "token_seen": "{auth}"}')]
    sleeps: list[float] = []
    events = send_webhook(SMS, webhook_settings(gateway.url), TOKEN, TickingClock(), 1000,
                          sleep=sleeps.append, monotonic=never_waits())
    outcome = by_profile(events)
    assert outcome[11] == [("error", None,
                            'HTTP 400 Bad Request: {"error": "invalid phone number", "token_seen": "Bearer ••••••"}')]
    assert outcome[12] == [("sent", None, None), ("delivered", None, None)]
    assert len(gateway.requests) == 2 and sleeps == []
    assert not events["reason"].str.contains(TOKEN.get_secret_value()).any()  # the echoed token is scrubbed


@pytest.mark.parametrize(("headers", "expected"), [({}, [0.5]), ({"Retry-After": "3"}, [3.0]),
                                                   ({"Retry-After": "9999"}, [30.0])])
def test_webhook_rate_limited_is_retried_honouring_retry_after(
    gateway: Gateway, headers: dict[str, str], expected: list[float]
) -> None:
    gateway.script = [Reply(429, "slow down", headers)]
    sleeps: list[float] = []
    events = send_webhook(SMS.head(1), webhook_settings(gateway.url), TOKEN, TickingClock(), 1000,
                          sleep=sleeps.append, monotonic=never_waits())
    assert events["event"].to_list() == ["sent", "delivered"]
    assert sleeps == expected


def test_webhook_timeout_is_retried(gateway: Gateway) -> None:
    gateway.script = [Reply(delay=1.0)]
    sleeps: list[float] = []
    events = send_webhook(SMS.head(1), webhook_settings(gateway.url, timeout=0.2), TOKEN, TickingClock(), 1000,
                          sleep=sleeps.append, monotonic=never_waits())
    assert events["event"].to_list() == ["sent", "delivered"]
    assert sleeps == [0.5] and len(gateway.requests) == 2


def test_webhook_timeouts_exhausted_are_an_error(gateway: Gateway) -> None:
    gateway.script = [Reply(delay=0.6)] * 2
    sleeps: list[float] = []
    events = send_webhook(SMS.head(1), webhook_settings(gateway.url, timeout=0.15, max_retries=1), TOKEN,
                          TickingClock(), 1000, sleep=sleeps.append, monotonic=never_waits())
    reason = events["reason"][0]
    assert events["event"].to_list() == ["error"]
    assert reason.startswith("no answer within 0.15 s") and reason.endswith("(after 2 attempts)")
    assert sleeps == [0.5]


def test_webhook_redirect_is_not_followed(gateway: Gateway) -> None:
    gateway.script = [Reply(302, "", {"Location": "http://elsewhere.example/hook"})]
    events = send_webhook(SMS.head(1), webhook_settings(gateway.url), TOKEN, TickingClock(), 1000,
                          monotonic=never_waits())
    assert events["reason"].to_list() == [
        "HTTP 302: the gateway redirects to http://elsewhere.example/hook; update the address"
    ]
    assert len(gateway.requests) == 1


def test_webhook_unreachable_gateway_is_retried_then_an_error() -> None:
    port = _free_port()
    sleeps: list[float] = []
    events = send_webhook(SMS.head(1), webhook_settings(f"http://{HOST}:{port}/x", max_retries=2), TOKEN,
                          TickingClock(), 1000, sleep=sleeps.append, monotonic=never_waits())
    assert events["reason"].to_list() == [
        f"cannot reach {HOST}:{port}: [Errno 111] Connection refused (after 3 attempts)"
    ]
    assert sleeps == [0.5, 1.0]


def test_webhook_paces_hand_offs_at_the_throttle_rate(gateway: Gateway) -> None:
    fake = FakeTime()
    send_webhook(SMS, webhook_settings(gateway.url), None, TickingClock(), per_second=4,
                 sleep=fake.sleep, monotonic=fake.monotonic)
    assert fake.sleeps == [0.25]


def test_webhook_settings_refuse_credentials_outside_the_secret() -> None:
    assert WebhookSettings(url="https://gw.example/hook").max_retries == 3
    assert WebhookSettings(url="https://gw.example/hook").backoff_seconds == 0.5
    cases = {
        "url": {"url": "ftp://gw.example/hook"},
        "url ": {"url": "https://user:pa55@gw.example/hook"},
        "headers": {"url": "https://gw.example/hook", "headers": {"Authorization": "Bearer abc"}},
        "headers ": {"url": "https://gw.example/hook", "headers": {"X-Note": "a\r\nInjected: 1"}},
    }
    for key, data in cases.items():
        with pytest.raises(InvalidInput) as refused:
            parse(WebhookSettings, data)
        assert key.strip() in refused.value.problems
        assert "pa55" not in str(refused.value) and "Bearer abc" not in str(refused.value)


# ---- pacing ---------------------------------------------------------------------------------------


def test_pacer_spaces_hand_offs_evenly() -> None:
    fake = FakeTime()
    pacer = Pacer(4, monotonic=fake.monotonic, sleep=fake.sleep)
    times = []
    for _ in range(5):
        pacer.wait()
        times.append(fake.now)
    assert times == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert fake.sleeps == [0.25] * 4


def test_pacer_does_not_wait_after_slow_hand_offs_nor_save_up_idle_time() -> None:
    fake = FakeTime()
    pacer = Pacer(2, monotonic=fake.monotonic, sleep=fake.sleep)
    assert pacer.wait() == 0.0
    fake.now += 0.8  # the hand-off itself took longer than the spacing
    assert pacer.wait() == 0.0
    fake.now += 10  # idle: no burst is saved up beyond one
    assert [pacer.wait(), pacer.wait(), pacer.wait()] == [0.0, 0.5, 0.5]


def test_pacer_burst_then_steady_rate() -> None:
    fake = FakeTime()
    pacer = Pacer(10, burst=3, monotonic=fake.monotonic, sleep=fake.sleep)
    waits = [pacer.wait() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.1])


def test_pacer_slow_rates_and_short_sleeps_never_exceed_the_rate() -> None:
    fake = FakeTime()
    pacer = Pacer(0.5, monotonic=fake.monotonic, sleep=fake.sleep)
    assert [pacer.wait(), pacer.wait()] == [0.0, 2.0]
    stuck = FakeTime()
    lazy = Pacer(4, monotonic=stuck.monotonic, sleep=lambda s: None)  # a sleep that returns at once
    assert [lazy.wait() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]  # the debt grows: asks for more


@pytest.mark.parametrize("bad", [0, -1.0])
def test_pacer_refuses_a_rate_that_is_not_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="per_second must be positive"):
        Pacer(bad)
