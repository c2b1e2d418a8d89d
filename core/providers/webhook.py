"""SMS, push, in-app and webhook messages through an HTTP gateway, with the sandbox's events contract.

Each message is one POST of JSON {"profile_id", "to", "subject", "body", "message_id"}, with
`Authorization: Bearer <token>` when a token is stored and `Idempotency-Key: <message_id>` so a
gateway can drop the duplicate when a retry follows a request it did receive (e.g. a timeout).

What the events mean here: a 2xx answer is `sent` and also `delivered`, because the gateway is
the end of Herald's responsibility: it accepted the message and owns it from then on (a gateway
that reports handset delivery later would need a callback, which Herald does not take). A 4xx
(other than 408/429) is an `error` carrying the status and the start of the answer's body: the
request itself is wrong, so retrying cannot help. 408, 429, 5xx, timeouts and connection
failures are retried with exponential backoff (honouring a numeric Retry-After, capped), then
become an `error`. Redirects are not followed: a POST must not silently turn into a GET.
Uses urllib only: no new dependency; a connection per request is fine at gateway rates.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import polars as pl
from pydantic import Field, SecretStr, field_validator

from core.models import Strict
from core.providers import Event, events_frame, message_rows, reveal, scrub
from core.providers.throttle import Pacer

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_CAP_SECONDS = 30.0
SNIPPET_CHARS = 200
_READ_LIMIT = 65_536
_RESERVED_HEADERS = {"authorization", "content-type", "content-length", "host", "idempotency-key"}
USER_AGENT = "Herald/1 (+campaign delivery)"


class WebhookSettings(Strict):
    """Where the gateway is; stored as channel_configs.settings. The bearer token is a secret,
    kept apart (core.secrets): neither a header nor the URL may carry credentials."""

    url: str = Field(min_length=8, max_length=2000)
    timeout: float = Field(default=10.0, gt=0, le=120)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)  # doubled at each retry
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// address")
        if parts.username or parts.password:
            raise ValueError("the address must not carry credentials: store a token instead")
        if any(c.isspace() for c in value):
            raise ValueError("the address must not contain spaces")
        return value

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name or not all(33 <= ord(c) < 127 and c != ":" for c in name):
                raise ValueError(f"{name!r} is not a header name")
            if not all(32 <= ord(c) < 127 or c == "\t" for c in text):
                raise ValueError(f"the {name} header must be one line of printable ASCII")
            if name.lower() in _RESERVED_HEADERS:
                hint = ": store the token as the configuration's secret" if name.lower() == "authorization" else ""
                raise ValueError(f"the {name} header is set by Herald{hint}")
        return value


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow: urllib would turn a redirected POST into a GET without the payload."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def send_webhook(
    messages: pl.DataFrame,
    settings: WebhookSettings,
    token: SecretStr | None,
    clock: Callable[[], datetime],
    per_second: float,
    sleep: Callable[[float], None] = time.sleep,
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> pl.DataFrame:
    """POST every message at `per_second`; the events (sandbox schema) of each.

    `sleep` serves both the pacing and the retry backoff, so tests inject a recorder and never
    wait. A `message_id` column, when present, is sent as is (make it stable per run and
    profile, so a resumed run re-sends with the same id); otherwise a random id per message.
    """
    secret = reveal(token)
    pacer = Pacer(per_second, monotonic=monotonic, sleep=sleep)
    events: list[Event] = []
    # http.client would refuse such a token with an error quoting it: refuse it here, unquoted.
    unusable = secret is not None and not all(32 < ord(c) < 127 for c in secret)
    for row in message_rows(messages):
        pid = int(row["profile_id"])  # type: ignore[arg-type]
        if unusable:
            reason = "the stored token cannot go in an HTTP header: it must be printable ASCII without spaces"
            events.append(Event(pid, "error", None, reason, clock()))
            continue
        message_id = str(row["message_id"] or uuid.uuid4())
        payload = {
            "profile_id": pid,
            "to": row["to"],
            "subject": row["subject"],
            "body": row["body"],
            "message_id": message_id,
        }
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            **settings.headers,
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message_id,
            "User-Agent": settings.headers.get("User-Agent", USER_AGENT),
        }
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        pacer.wait()
        handed_at = clock()
        ok, reason = _post(settings, data, headers, sleep)
        if ok:
            events.append(Event(pid, "sent", None, None, handed_at))
            events.append(Event(pid, "delivered", None, None, clock()))
        else:
            events.append(Event(pid, "error", None, scrub(reason or "failed", secret), clock()))
    return events_frame(events)


def _post(
    settings: WebhookSettings, data: bytes, headers: Mapping[str, str], sleep: Callable[[float], None]
) -> tuple[bool, str | None]:
    """(accepted, reason) after up to 1 + max_retries attempts."""
    attempts = settings.max_retries + 1
    delay = 0.0
    reason = "not attempted"
    for attempt in range(attempts):
        if attempt:
            sleep(delay)
        backoff = settings.backoff_seconds * 2**attempt
        request = urllib.request.Request(settings.url, data=data, headers=dict(headers), method="POST")
        try:
            with _OPENER.open(request, timeout=settings.timeout) as answer:
                answer.read(_READ_LIMIT)  # drain, so the server sees a clean end of exchange
                status = answer.status
            if 200 <= status < 300:
                return True, None
            reason, retry = f"HTTP {status}: unexpected answer", False
        except urllib.error.HTTPError as exc:
            status = exc.code
            snippet = _snippet(exc)
            reason = f"HTTP {status} {exc.reason}" + (f": {snippet}" if snippet else "")
            if 300 <= status < 400:
                reason = f"HTTP {status}: the gateway redirects to {exc.headers.get('Location', '?')}; update the address"
            retry = status in RETRY_STATUSES
            delay = max(backoff, _retry_after(exc.headers.get("Retry-After")))
            if retry and attempt + 1 < attempts:
                continue
            if retry:
                reason = f"{reason} (after {attempts} attempts)"
            return False, reason
        except TimeoutError as exc:
            reason, retry = f"no answer within {settings.timeout:g} s ({exc})", True
        except urllib.error.URLError as exc:
            why = exc.reason
            if isinstance(why, TimeoutError):
                reason = f"no answer within {settings.timeout:g} s ({why})"
            else:
                reason = f"cannot reach {urlsplit(settings.url).netloc}: {why}"
            retry = not isinstance(why, ssl.SSLCertVerificationError)  # waiting will not fix a certificate
        except (http.client.HTTPException, OSError) as exc:  # dropped mid-answer, reset, ...
            reason, retry = f"connection to {urlsplit(settings.url).netloc} failed: {exc!r}", True
        delay = backoff
        if not retry:
            return False, reason
    return False, f"{reason} (after {attempts} attempts)"


def _snippet(exc: urllib.error.HTTPError) -> str:
    """The start of the gateway's answer, one line: usually says what was wrong."""
    try:
        raw = exc.read(_READ_LIMIT)
    except (OSError, http.client.HTTPException):
        return ""
    finally:
        exc.close()
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def _retry_after(value: str | None) -> float:
    """Seconds a 429/503 asks us to wait (numeric form only), capped so a run cannot stall."""
    try:
        return min(RETRY_AFTER_CAP_SECONDS, max(0.0, float(value))) if value else 0.0
    except ValueError:
        return 0.0
