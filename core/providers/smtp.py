"""Email through an SMTP relay, with the sandbox's events contract.

What the events mean here: `sent` is "handed to the relay"; a message the relay accepts (250
after DATA) is then also `delivered`, which is what email tools call a successful delivery:
sent and not bounced (SMTP reports nothing later on the connection; a bounce message would arrive
by mail, which Herald does not read). Without it a real campaign's open and click rates, whose
denominator is `delivered`, would stay empty however many opens the tracking pixel records,
and the webhook provider counts a gateway's acceptance the same way. Refusals the relay gives at once are
recorded: 5xx on RCPT/DATA → `sent` + `bounced` hard, 4xx (after retries) → `sent` + `bounced`
soft, both with the relay's reply as the reason, the way the sandbox records them. A problem
that is not the recipient's (sender refused, malformed message, lost connection) is an `error`
for that message; a connection, TLS or authentication failure is an `error` for every message
not yet handed over. Nothing raises for the batch: the run records what happened and goes on.

One connection serves the whole batch (a TLS handshake and login per message would be slow and
look like abuse to the relay); it is reopened when the relay drops it.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any, Literal

import polars as pl
from pydantic import Field, SecretStr, field_validator, model_validator

from core.models import EMAIL_RE, Strict
from core.providers import Event, events_frame, message_rows, reveal, scrub
from core.providers.throttle import Pacer
from core.tracking import is_html

Security = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")
_ID_RE = re.compile(r"[^A-Za-z0-9._\-]")


class SmtpSettings(Strict):
    """How to reach the relay; stored as channel_configs.settings. The password is a secret and
    is kept apart (core.secrets), so this model refuses a `password` field (extra="forbid")."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    security: Security = "starttls"
    username: str | None = Field(default=None, max_length=254)
    from_address: str = Field(min_length=3, max_length=254)
    from_name: str = Field(default="", max_length=120)
    reply_to: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=300)
    max_retries: int = Field(default=2, ge=0, le=10)  # for 4xx refusals and dropped connections
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)  # doubled at each retry

    @model_validator(mode="before")
    @classmethod
    def _default_port(cls, data: Any) -> Any:
        """The usual port for the chosen security, so a form can leave it empty."""
        if isinstance(data, dict) and data.get("port") in (None, ""):
            return {**data, "port": DEFAULT_PORTS.get(str(data.get("security") or "starttls"), 587)}
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST_RE.match(value):
            raise ValueError(f"{value!r} is not a host name or address")
        return value

    @field_validator("from_address", "reply_to")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value and not EMAIL_RE.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value or None

    @field_validator("username")
    @classmethod
    def _blank_username_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("the sender name must be one line")
        return value

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class _Fatal(Exception):
    """The relay cannot be used at all: every message not yet handed over gets this reason.

    `retryable`: the relay could not be reached (refused, timed out), which a moment may cure;
    a failed login or an untrusted certificate will not cure itself, so it is not retried.
    """

    def __init__(self, reason: str, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable


def _describe(exc: BaseException) -> str:
    """The relay's own words when it gave some ("535 5.7.8 ..."), else the exception's."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"


class _Connection:
    """The batch's one connection: opened on first use, reopened after the relay drops it."""

    def __init__(self, settings: SmtpSettings, password: str | None, tls_context: ssl.SSLContext | None) -> None:
        self.settings = settings
        self.password = password
        self.tls_context = tls_context
        self.smtp: smtplib.SMTP | None = None
        self.opened = 0  # connections made: tests and logs use it

    def ensure(self) -> smtplib.SMTP:
        if self.smtp is not None and getattr(self.smtp, "sock", None) is not None:
            return self.smtp
        self.drop()
        self.smtp = self._open()
        self.opened += 1
        return self.smtp

    def _context(self) -> ssl.SSLContext:
        return self.tls_context or ssl.create_default_context()

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except ssl.SSLError as exc:
            raise _Fatal(f"SMTP TLS handshake with {s.where} failed: {_describe(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Fatal(f"SMTP connection to {s.where} failed: {_describe(exc)}", retryable=True) from None
        try:
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise _Fatal(f"SMTP server {s.where} does not offer STARTTLS; choose another security setting")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username:
                if not self.password:
                    raise _Fatal("SMTP password is not set: an Administrator must store it for this configuration")
                smtp.login(s.username, self.password)
        except _Fatal:
            _close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise _Fatal(f"SMTP authentication failed: {_describe(exc)}") from None
        except UnicodeError:  # smtplib's AUTH encodes as ASCII; the error would quote the password
            _close(smtp)
            raise _Fatal("SMTP authentication failed: the user name and password must be ASCII") from None
        except smtplib.SMTPNotSupportedError as exc:
            _close(smtp)
            raise _Fatal(f"SMTP server {s.where} refused the session setup: {_describe(exc)}") from None
        except ssl.SSLError as exc:
            _close(smtp)
            raise _Fatal(f"SMTP TLS handshake with {s.where} failed: {_describe(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            _close(smtp)
            raise _Fatal(f"SMTP session setup with {s.where} failed: {_describe(exc)}") from None
        return smtp

    def reset(self) -> None:
        """Back to a clean state between messages after an unexpected reply."""
        if self.smtp is None:
            return
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.drop()

    def drop(self) -> None:
        if self.smtp is not None:
            _close(self.smtp)
            self.smtp = None

    def quit(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        _close(self.smtp)
        self.smtp = None


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


def build_message(row: dict[str, Any], settings: SmtpSettings, now: datetime) -> EmailMessage:
    """An RFC 5322 message: From with name, To, Subject, Date, Message-ID and a UTF-8 body, sent as
    text/html when the row's `html` says so (absent or None: when the body looks like HTML, per
    core.tracking.is_html), else text/plain.

    A `message_id` in the row becomes the Message-ID, so a resumed run re-sends with the same id
    and receivers can spot the duplicate. Line breaks in a (rendered) subject are folded into
    spaces: a header is one line, and nothing a profile holds can inject another header.
    """
    domain = settings.from_address.rpartition("@")[2]
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=settings.from_name, addr_spec=settings.from_address)
    msg["To"] = str(row["to"])
    subject = " ".join(str(row["subject"] or "").split())
    if subject:
        msg["Subject"] = subject
    msg["Date"] = format_datetime(now.replace(tzinfo=UTC))
    given = _ID_RE.sub("", str(row["message_id"] or ""))
    msg["Message-ID"] = f"<{given}@{domain}>" if given else make_msgid(domain=domain)
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    body = str(row["body"])
    html = row.get("html")
    msg.set_content(body, subtype="html" if (is_html(body) if html is None else html) else "plain")
    return msg


def send_smtp(
    messages: pl.DataFrame,
    settings: SmtpSettings,
    password: SecretStr | None,
    clock: Callable[[], datetime],
    per_second: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    tls_context: ssl.SSLContext | None = None,
) -> pl.DataFrame:
    """Hand every message to the relay at `per_second`; the events (sandbox schema) of each.

    `tls_context` defaults to the system's trust store with hostname checks; pass one that trusts
    a private CA rather than turning verification off. `sleep`/`monotonic` drive the pacing and
    the retry backoff (tests inject fakes).
    """
    secret = reveal(password)
    rows = message_rows(messages)
    html_flags = messages.get_column("html").to_list() if "html" in messages.columns else [None] * len(rows)
    pacer = Pacer(per_second, monotonic=monotonic, sleep=sleep)
    conn = _Connection(settings, secret, tls_context)
    events: list[Event] = []
    fatal: str | None = None
    try:
        for row, html in zip(rows, html_flags):
            pid = int(row["profile_id"])  # type: ignore[arg-type]
            if fatal is not None:
                events.append(Event(pid, "error", None, fatal, clock()))
                continue
            to = str(row["to"] or "").strip()
            if not EMAIL_RE.match(to) or "\r" in to or "\n" in to:
                events.append(Event(pid, "error", None, f"not an email address: {to[:80]!r}", clock()))
                continue
            try:
                msg = build_message({**row, "to": to, "html": html}, settings, clock())
            except (ValueError, TypeError, IndexError) as exc:
                events.append(Event(pid, "error", None, scrub(f"malformed message: {exc}", secret), clock()))
                continue
            pacer.wait()
            handed_at = clock()
            try:
                outcome, reason = _deliver(conn, msg, to, settings, sleep)
            except _Fatal as exc:
                fatal = scrub(str(exc), secret)
                events.append(Event(pid, "error", None, fatal, clock()))
                continue
            reason = scrub(reason, secret) if reason else None
            if outcome == "sent":
                events.append(Event(pid, "sent", None, None, handed_at))
                events.append(Event(pid, "delivered", None, None, clock()))
            elif outcome in ("hard", "soft"):
                events.append(Event(pid, "sent", None, None, handed_at))
                events.append(Event(pid, "bounced", outcome, reason, clock()))
            else:
                events.append(Event(pid, "error", None, reason, clock()))
    finally:
        conn.quit()
    return events_frame(events)


def _deliver(
    conn: _Connection, msg: EmailMessage, to: str, settings: SmtpSettings, sleep: Callable[[float], None]
) -> tuple[str, str | None]:
    """("sent" | "hard" | "soft" | "error", reason) for one message; retries 4xx and lost
    connections with exponential backoff. Raises _Fatal when the relay cannot be reached."""
    last: tuple[str, str | None] = ("error", "not attempted")
    for attempt in range(settings.max_retries + 1):
        if attempt:
            sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        try:
            smtp = conn.ensure()
        except _Fatal as exc:
            if exc.retryable and attempt < settings.max_retries:
                continue
            raise
        try:
            smtp.send_message(msg, from_addr=settings.from_address, to_addrs=[to])
            return "sent", None
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b"refused"))
            last, retry = (_refusal(int(code)), _reply(code, text)), _temporary(int(code))
        except smtplib.SMTPSenderRefused as exc:
            last = ("error", f"sender {settings.from_address} refused: {_describe(exc)}")
            retry = _temporary(exc.smtp_code)
        except smtplib.SMTPDataError as exc:
            last, retry = (_refusal(exc.smtp_code), _describe(exc)), _temporary(exc.smtp_code)
        except smtplib.SMTPNotSupportedError as exc:  # e.g. an internationalised address, no SMTPUTF8
            conn.reset()
            return "error", f"the server cannot take this message: {_describe(exc)}"
        except (ValueError, UnicodeError) as exc:  # the message cannot be written out as SMTP wants
            conn.reset()
            return "error", f"malformed message: {exc}"
        except smtplib.SMTPResponseException as exc:  # an unexpected reply to some command
            conn.reset()
            last, retry = ("error", _describe(exc)), _temporary(exc.smtp_code)
        except (OSError, smtplib.SMTPException) as exc:  # dropped, timed out, reset, garbled
            conn.drop()
            last, retry = ("error", f"connection to {settings.where} lost: {_describe(exc)}"), True
        if not retry:
            return last
    return last


def _temporary(code: int) -> bool:
    return 400 <= code < 500


def _refusal(code: int) -> str:
    """A refusal's kind: 5xx permanent (hard), 4xx temporary (soft, retried), else an error."""
    if 500 <= code < 600:
        return "hard"
    if 400 <= code < 500:
        return "soft"
    return "error"
