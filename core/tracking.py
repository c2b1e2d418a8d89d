"""Open and click tracking of real messages: signed tokens, tracked email bodies, recorded events.

No HTTP here (api/tracking.py serves the pixel and the redirect). What it does:

- **Signing key**: one random 256-bit key per workspace, created on first use and kept in the
  `secrets` table (owner "tracking:workspace", name "signing_key"; no migration). It never leaves
  the process: tokens carry a signature made with it, never the key.
- **Tokens**: `h1` + base64url (no padding) of `kind | run_id | campaign_id | version | profile_id
  [| target URL]` followed by HMAC-SHA256 of that payload, truncated to 128 bits (RFC 2104 §5 allows
  truncating to half the hash; 2^-128 per forgery attempt). `kind` is `o` (open) or `c` (click), so
  an open token is no click token. Only the canonical encoding verifies: a token whose text differs
  in any character from the one Herald issued is refused, even where base64 would decode it to the
  same bytes. The signature is compared in constant time (`hmac.compare_digest`). The same message
  always gets the same tokens, so a resumed run re-sends identical links.
- **Targets**: only absolute http(s) URLs with a host, no whitespace or control characters and at
  most `MAX_URL_CHARS` characters are ever signed (`javascript:`, `data:`, relative links... are
  refused when signing, and re-checked after verifying).
- **Bodies**: `tracked_body` (one body) and `track_messages` (a run's batch, in Polars) replace
  link targets by click redirects and append an open pixel to HTML bodies. Plain text: every
  http(s) URL becomes its redirect, no pixel. HTML: the `href` of every `<a>` / `<area>` whose
  target is http(s) becomes its redirect (entities such as `&amp;` are decoded before signing);
  image sources, stylesheets and the visible text stay as written, since rewriting an `<img src>`
  would count every image load as a click. The pixel goes before `</body>`, or at the end.
- **Recording**: `record_open` / `record_click` verify a token and insert an `opened` / `clicked`
  delivery event (channel, campaign and version from the run), which `core.statistics` counts like
  the sandbox's (unique opens = distinct (run, profile)). A forged, altered or truncated token
  records nothing; `record_click` then returns None, so the caller never redirects anywhere.

Cost: an HMAC per message (and per distinct link of a message) is Python work, one call per row in
a list comprehension (no HMAC in Polars), with the constant part of the MAC state precomputed and
copied. A real provider's batch is at most throttle × 10 s of messages, and each costs far more on
the wire than its ~2 µs of signing. Finding links, splitting bodies around them and stitching the
tracked bodies back together is done by Polars over the whole batch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html as html_lib
import os
import re
import secrets as random_source
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import polars as pl

from core.clock import Clock, utc_now
from core.errors import HeraldError, InvalidInput, StaleRevision
from core.store import Store
from core.store import delivery_rows as rows
from core.store import secret_rows

PUBLIC_URL_ENV = "HERALD_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8501"
OPEN_PATH = "/api/v1/t/o/{token}.gif"
CLICK_PATH = "/api/v1/t/c/{token}"

KEY_OWNER = "tracking:workspace"
KEY_NAME = "signing_key"
KEY_BYTES = 32
TOKEN_PREFIX = "h1"
TAG_BYTES = 16
MAX_URL_CHARS = 2048
MAX_TOKEN_CHARS = len(TOKEN_PREFIX) + 4 * (21 + 4 * MAX_URL_CHARS + TAG_BYTES) // 3 + 4

_CONTEXT = b"herald/tracking/v1\x00"  # domain separation: this key signs nothing else
_HEADER = struct.Struct(">ciiiq")  # kind, run_id, campaign_id, version, profile_id
_TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9_-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f-\x9f]")
_HTML_RE = re.compile(
    r"<!doctype\s+html|<(?:html|head|body|p|div|span|a|br|hr|img|table|tr|td|th|ul|ol|li|h[1-6]|strong|em|b|i|u"
    r"|center|font|section|article|header|footer|blockquote|pre|code)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)

# Polars (Rust regex) patterns: the marker NUL splits a body into text and link pieces.
_MARK = "\x00"
_PLAIN_URL = r"(?i)\bhttps?://[^\s<>\"'`\x00]*[^\s<>\"'`\x00.,;:!?)\]}]"
_HREF_PREFIX = r"(?i)(<(?:a|area)\s(?:[^>]*?\s)?href\s*=\s*"
# The whole attribute value must be the URL (closing delimiter included), with no whitespace, NUL or
# angle bracket: so a link never overlaps another one or `</body>`, and the markers stay in pairs.
_HREF_PATTERNS = (
    _HREF_PREFIX + r"\")(https?://[^\"\s\x00<>]+)(\")",  # href="..."
    _HREF_PREFIX + r"')(https?://[^'\s\x00<>]+)(')",  # href='...'
    _HREF_PREFIX + r")(https?://[^\s>\"'`\x00<]+)([\s>])",  # href=... (unquoted)
)
_BODY_END = r"(?i)</body\s*>"

Kind = Literal["open", "click"]
_KIND_BYTE: dict[str, bytes] = {"open": b"o", "click": b"c"}
_BYTE_KIND: dict[bytes, Kind] = {b"o": "open", b"c": "click"}


# ---- the key ------------------------------------------------------------------------------------

_KEYS: WeakKeyDictionary[Store, bytes] = WeakKeyDictionary()
_KEY_LOCK = threading.Lock()


def signing_key(store: Store, clock: Clock = utc_now) -> bytes:
    """The workspace's signing key, created (random, 256 bits) the first time it is needed."""
    cached = _KEYS.get(store)
    if cached is not None:
        return cached
    with _KEY_LOCK:  # one process owns the DuckDB file, so a process lock serialises creation
        value = secret_rows.secret(store.cursor(), KEY_OWNER, KEY_NAME)
        if value is None:
            try:
                with store.transaction() as cur:
                    value = secret_rows.secret(cur, KEY_OWNER, KEY_NAME)
                    if value is None:
                        value = _b64(random_source.token_bytes(KEY_BYTES))
                        secret_rows.put_secret(cur, KEY_OWNER, KEY_NAME, value, clock())
            except StaleRevision:  # created by someone else meanwhile: use theirs
                value = secret_rows.secret(store.cursor(), KEY_OWNER, KEY_NAME)
        key = _unb64(value or "")
        if key is None or len(key) < KEY_BYTES:
            raise HeraldError("the tracking signing key in the secrets table is damaged; delete it to make a new one")
        _KEYS[store] = key
        return key


# ---- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    """What a verified token says: which message, and for a click, where to."""

    kind: Kind
    run_id: int
    campaign_id: int
    version: int
    profile_id: int
    url: str | None = None


def safe_target(url: str) -> str | None:
    """`url` if Herald may sign it as a click target (absolute http/https with a host, no
    whitespace or control characters, at most MAX_URL_CHARS), else None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS or _CONTROL_RE.search(url):
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "\\" in parts.netloc:  # browsers read "\" as "/": http://a\@b would go to b
        return None
    return url


def _mac(key: bytes) -> hmac.HMAC:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(_CONTEXT)
    return mac


def _sign(key: bytes, payload: bytes) -> str:
    mac = _mac(key)
    mac.update(payload)
    return TOKEN_PREFIX + _b64(payload + mac.digest()[:TAG_BYTES])


def _header(kind: Kind, run_id: int, campaign_id: int, version: int, profile_id: int) -> bytes:
    try:
        return _HEADER.pack(_KIND_BYTE[kind], int(run_id), int(campaign_id), int(version), int(profile_id))
    except struct.error as exc:
        raise InvalidInput({"token": f"an id does not fit a tracking token: {exc}"}) from None


def open_token(key: bytes, run_id: int, campaign_id: int, version: int, profile_id: int) -> str:
    """The signed open token of one delivered message."""
    return _sign(key, _header("open", run_id, campaign_id, version, profile_id))


def click_token(key: bytes, run_id: int, campaign_id: int, version: int, profile_id: int, url: str) -> str:
    """The signed click token of one link of one message; refuses any target but http(s)."""
    target = safe_target(url)
    if target is None:
        raise InvalidInput({"url": f"only http(s) links can be tracked, not {str(url)[:80]!r}"})
    return _sign(key, _header("click", run_id, campaign_id, version, profile_id) + target.encode("utf-8"))


def verify(key: bytes, token: str) -> Claims | None:
    """The token's claims if Herald signed exactly this text with `key`; None otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not _TOKEN_RE.match(token):
        return None
    text = token[len(TOKEN_PREFIX):]
    raw = _unb64(text)
    if raw is None or _b64(raw) != text or len(raw) < _HEADER.size + TAG_BYTES:
        return None  # not canonical base64url: some character was altered
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    mac = _mac(key)
    mac.update(payload)
    if not hmac.compare_digest(mac.digest()[:TAG_BYTES], tag):
        return None
    kind_byte, run_id, campaign_id, version, profile_id = _HEADER.unpack_from(payload)
    kind = _BYTE_KIND.get(kind_byte)
    rest = payload[_HEADER.size:]
    if kind == "open" and not rest:
        return Claims("open", run_id, campaign_id, version, profile_id)
    if kind == "click" and rest:
        try:
            url = rest.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if safe_target(url) is not None:
            return Claims("click", run_id, campaign_id, version, profile_id, url)
    return None


def open_tokens(key: bytes, run_id: int, campaign_id: int, version: int, profile_ids: pl.Series) -> pl.Series:
    """`open_token` for a whole batch (one HMAC per row; the constant MAC state is shared)."""
    head = _mac(key)
    fixed = _header("open", run_id, campaign_id, version, 0)[:-8]
    head.update(fixed)
    tokens = []
    for pid in profile_ids.cast(pl.Int64).to_list():  # an HMAC per row: no Polars expression does it
        tail = struct.pack(">q", pid)
        mac = head.copy()
        mac.update(tail)
        tokens.append(TOKEN_PREFIX + _b64(fixed + tail + mac.digest()[:TAG_BYTES]))
    return pl.Series("open_token", tokens, dtype=pl.String)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


# ---- URLs ---------------------------------------------------------------------------------------


def public_url() -> str:
    """The app's public base URL (HERALD_PUBLIC_URL, default http://127.0.0.1:8501), no trailing /."""
    base = (os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise HeraldError(f"{PUBLIC_URL_ENV}={base!r} is not an http(s) base URL such as https://herald.example.com")
    return base


def open_url(token: str, base_url: str | None = None) -> str:
    return (base_url or public_url()) + OPEN_PATH.format(token=token)


def click_url(token: str, base_url: str | None = None) -> str:
    return (base_url or public_url()) + CLICK_PATH.format(token=token)


# ---- bodies -------------------------------------------------------------------------------------


def is_html(body: str | None) -> bool:
    """Whether a body (or a template) is HTML: a doctype, or a common HTML tag anywhere."""
    return bool(body) and _HTML_RE.search(str(body)) is not None


def pixel(url: str) -> str:
    """The 1×1 open pixel for an HTML body."""
    return f'<img src="{html_lib.escape(url, quote=True)}" width="1" height="1" alt="">'


def tracked_body(
    body: str, open_url: str | None, click_url_for: Callable[[str], str | None], *, html: bool | None = None
) -> str:
    """`body` with its links replaced by `click_url_for(target)` and, if HTML, the pixel of
    `open_url` appended (before `</body>` when there is one). A target for which `click_url_for`
    returns None stays as it was. `html` defaults to `is_html(body)`. Same code as track_messages."""
    flag = is_html(body) if html is None else html

    def sign(targets: pl.DataFrame) -> list[str | None]:
        return [click_url_for(url) for url in targets.get_column("target").to_list()]

    frame = pl.DataFrame({"body": [body], "html": [flag], "open_url": [open_url]},
                         schema={"body": pl.String, "html": pl.Boolean, "open_url": pl.String})
    return str(_rewrite(frame, sign).item())


def track_messages(
    messages: pl.DataFrame, key: bytes, run_id: int, campaign_id: int, version: int, *,
    html: bool, base_url: str | None = None,
) -> pl.DataFrame:
    """A batch of messages (profile_id, body, ...) with tracked bodies: each one's links signed for
    its recipient, and for HTML the recipient's open pixel."""
    if messages.height == 0:
        return messages
    base = base_url or public_url()
    opens = open_tokens(key, run_id, campaign_id, version, messages.get_column("profile_id"))
    head = _header("click", run_id, campaign_id, version, 0)[:-8]

    def sign(targets: pl.DataFrame) -> list[str | None]:
        mac = _mac(key)
        mac.update(head)
        urls = targets.get_column("target").to_list()
        safe = {url: safe_target(url) for url in set(urls)}  # links repeat across recipients
        out: list[str | None] = []
        # an HMAC per (message, link): no Polars expression does it
        for pid, url in zip(targets.get_column("profile_id").to_list(), urls):
            target = safe[url]
            if target is None:
                out.append(None)
                continue
            tail = struct.pack(">q", pid) + target.encode("utf-8")
            signer = mac.copy()
            signer.update(tail)
            out.append(base + CLICK_PATH.format(token=TOKEN_PREFIX + _b64(head + tail + signer.digest()[:TAG_BYTES])))
        return out

    before, _, after = OPEN_PATH.partition("{token}")
    pixels = (base + before + opens + after) if html else pl.repeat(None, messages.height, dtype=pl.String, eager=True)
    frame = messages.select("body", "profile_id", pl.lit(html).alias("html"), pixels.alias("open_url"))
    return messages.with_columns(_rewrite(frame, sign).alias("body"))


def _rewrite(frame: pl.DataFrame, sign: Callable[[pl.DataFrame], list[str | None]]) -> pl.Series:
    """Tracked bodies of frame(body, html, open_url[, profile_id]), in row order.

    Links are bracketed by NUL markers (Polars regex replace), each body is split on them, so odd
    pieces are links and even ones text; an empty odd piece is where the pixel goes. The distinct
    (row, link) pairs are signed by `sign(frame(row, target[, profile_id]))` (None: leave as is),
    and the pieces joined back per row. A body that already holds a NUL is left as it is.
    """
    body, html = pl.col("body"), pl.col("html")
    plain_marked = body.str.replace_all(_PLAIN_URL, _MARK + "${0}" + _MARK)
    html_marked = body
    for pattern in _HREF_PATTERNS:
        html_marked = html_marked.str.replace_all(pattern, "${1}" + _MARK + "${2}" + _MARK + "${3}")
    slot = _MARK + _MARK  # an empty link piece: the pixel's place
    with_pixel = (
        pl.when(html_marked.str.contains(_BODY_END))
        .then(html_marked.str.replace(_BODY_END, slot + "${0}"))
        .otherwise(html_marked + pl.lit(slot))
    )
    marked = (
        pl.when(body.str.contains(_MARK, literal=True)).then(pl.concat_list(body))  # left as it is
        .when(html & pl.col("open_url").is_not_null()).then(with_pixel.str.split(_MARK))
        .when(html).then(html_marked.str.split(_MARK))
        .otherwise(plain_marked.str.split(_MARK))
    )
    keep = [c for c in ("profile_id",) if c in frame.columns]
    pieces = (
        frame.with_row_index("row")
        .select("row", "html", "open_url", *keep, marked.alias("piece"))
        .explode("piece")
        .with_columns(pl.int_range(pl.len()).over("row").alias("pos"))
        .with_columns(((pl.col("pos") % 2 == 1) & (pl.col("piece") != "")).alias("is_link"))
    )
    links = pieces.filter("is_link").select(
        "row", *keep, "html", pl.col("piece").alias("raw")
    ).unique(["row", "raw"], maintain_order=True)
    if links.height:
        raws, flags = links.get_column("raw").to_list(), links.get_column("html").to_list()
        decoded = {r: html_lib.unescape(r) for r in set(raws)}
        targets = [decoded[r] if f else r for r, f in zip(raws, flags)]
        signed = sign(links.with_columns(pl.Series("target", targets, dtype=pl.String)))
        shown = [
            raw if url is None else (html_lib.escape(url, quote=True) if f else url)
            for raw, url, f in zip(raws, signed, flags)
        ]
        links = links.select("row", "raw", pl.Series("tracked", shown, dtype=pl.String))
    else:
        links = links.select("row", "raw", pl.lit(None, pl.String).alias("tracked"))
    pixel_html = (
        pl.lit('<img src="')
        + pl.col("open_url").str.replace_many(["&", '"', "<", ">"], ["&amp;", "&quot;", "&lt;", "&gt;"])
        + pl.lit('" width="1" height="1" alt="">')
    )
    joined = (
        pieces.join(links, left_on=["row", "piece"], right_on=["row", "raw"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("is_link")).then(pl.col("tracked").fill_null(pl.col("piece")))
            .when((pl.col("pos") % 2 == 1) & pl.col("html") & pl.col("open_url").is_not_null()).then(pixel_html)
            .otherwise(pl.col("piece"))
            .alias("piece")
        )
        .group_by("row", maintain_order=True)
        .agg(pl.col("piece").str.join(""))
        .sort("row")
    )
    return joined.get_column("piece").alias("body")


# ---- recording ----------------------------------------------------------------------------------


def record_open(store: Store, token: str, clock: Clock = utc_now) -> bool:
    """Record an `opened` event if `token` is a genuine open token of an existing run."""
    claims = verify(signing_key(store, clock), token)
    if claims is None or claims.kind != "open":
        return False
    return _record(store, claims, "opened", clock)


def record_click(store: Store, token: str, clock: Clock = utc_now) -> str | None:
    """The signed target of a genuine click token (recording a `clicked` event when its run
    exists), or None for anything else, which records nothing."""
    claims = verify(signing_key(store, clock), token)
    if claims is None or claims.kind != "click" or claims.url is None:
        return None
    _record(store, claims, "clicked", clock)
    return claims.url  # signed by this workspace: safe to redirect to, even if the run is gone


def _record(store: Store, claims: Claims, event: str, clock: Clock) -> bool:
    with store.transaction() as cur:
        run = rows.run(cur, claims.run_id)
        if run is None or int(run["campaign_id"]) != claims.campaign_id or int(run["version"]) != claims.version:
            return False
        rows.insert_events(cur, pl.DataFrame({
            "run_id": [claims.run_id], "campaign_id": [claims.campaign_id], "version": [claims.version],
            "profile_id": [claims.profile_id], "channel": [str(run["channel"])], "event": [event],
            "bounce": [None], "reason": [None], "occurred_at": [clock()],
        }, schema={"run_id": pl.Int32, "campaign_id": pl.Int32, "version": pl.Int32, "profile_id": pl.Int64,
                   "channel": pl.String, "event": pl.String, "bounce": pl.String, "reason": pl.String,
                   "occurred_at": pl.Datetime("us")}))
    return True


class Tracking:
    """The workspace's tracking, bound to its store and clock (the key is loaded once)."""

    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    @property
    def key(self) -> bytes:
        return signing_key(self.store, self.clock)

    def open_token(self, run_id: int, campaign_id: int, version: int, profile_id: int) -> str:
        return open_token(self.key, run_id, campaign_id, version, profile_id)

    def click_token(self, run_id: int, campaign_id: int, version: int, profile_id: int, url: str) -> str:
        return click_token(self.key, run_id, campaign_id, version, profile_id, url)

    def verify(self, token: str) -> Claims | None:
        return verify(self.key, token)

    def record_open(self, token: str) -> bool:
        return record_open(self.store, token, self.clock)

    def record_click(self, token: str) -> str | None:
        return record_click(self.store, token, self.clock)

    def track_messages(self, messages: pl.DataFrame, run_id: int, campaign_id: int, version: int, *,
                       html: bool, base_url: str | None = None) -> pl.DataFrame:
        return track_messages(messages, self.key, run_id, campaign_id, version, html=html, base_url=base_url)
