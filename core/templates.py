"""Personalisation tokens in campaign subjects and bodies: parsed and checked when a campaign is
saved, rendered for a whole audience at once with Polars string expressions.

Grammar (the only thing `{{ }}` may hold; anything else there is an error):

    {{profile.<attribute>}}            a profile column, e.g. {{profile.first_name}}
    {{profile.<attribute>|<fallback>}} fallback text used when the value is null or ""
    {{context.<key>}} / {{context.<key>|<fallback>}}
                                       a value of an API call's JSON context (API-triggered only)

* Whitespace is allowed just inside the braces and around `|` (`{{ profile.first_name | there }}`);
  the fallback is stripped of surrounding whitespace and may hold any text except braces and a
  second `|`. Names start with a letter and contain only letters, digits and `_`, so
  `{{profile.__class__}}` and `{{profile.first_name.upper()}}` are malformed, not "clever".
* Templates never execute anything: no eval, no Jinja, no str.format. A token is a column lookup.
* `{` and `}` that are not part of `{{ ... }}` are literal text. A `{{` with no later `}}` is an
  error, and so is a brace inside a token (`{{{profile.x}}}`, `{{ a {{profile.x}}`).
* Positions in messages are 1-based character numbers, as an editor shows them.

Rendering rules (one text form per type, identical in `render`, `preview` and context scalars):

* text, Enum, Categorical: as stored.
* integers: decimal digits, no separators (1234567, -5).
* floats (and Decimals, via Float64): rounded to 2 decimals - cents = (x * 100) rounded half to
  even - and printed without trailing zeros or a trailing point: 1.5 -> "1.5", 2.0 -> "2",
  1234.567 -> "1234.57", 0.1 + 0.2 -> "0.3", -0.001 -> "0". NaN, ±inf and |x| >= 9e16 (past what
  int64 cents hold) count as missing.
* booleans: "yes" / "no".
* datetimes: "YYYY-MM-DD HH:MM" (wall clock of the column's own time zone, no offset shown);
  dates "YYYY-MM-DD"; times "HH:MM".
* missing (null, or "" for text) -> the fallback, or "" when the token has none.
* `escape_html=True` escapes & < > " ' in substituted values only; literal template text and
  fallbacks are written by the campaign author and are kept as written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final, Literal

import polars as pl

from core.errors import InvalidInput
from core.segments import PROFILE_SCHEMA

Source = Literal["profile", "context"]
SOURCES: Final[tuple[Source, ...]] = ("profile", "context")
OPEN: Final = "{{"
CLOSE: Final = "}}"
RESULT_NAME: Final = "rendered"
MAX_FLOAT: Final = 9e16  # |x| * 100 must stay inside int64 cents
_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HTML_FROM: Final = ["&", "<", ">", '"', "'"]
_HTML_TO: Final = ["&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"]
_DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M"
_DATE_FORMAT: Final = "%Y-%m-%d"
_TIME_FORMAT: Final = "%H:%M"


@dataclass(frozen=True, slots=True)
class Token:
    """One `{{source.name|fallback}}`; `raw` is the text as written, `start` its 0-based offset."""

    source: Source
    name: str
    fallback: str | None
    raw: str
    start: int


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and tokens in order, so rendering never re-reads the text."""

    text: str
    parts: tuple[str | Token, ...]

    @property
    def tokens(self) -> list[Token]:
        return [p for p in self.parts if isinstance(p, Token)]

    @property
    def profile_attributes(self) -> set[str]:
        return {t.name for t in self.tokens if t.source == "profile"}

    @property
    def context_keys(self) -> set[str]:
        return {t.name for t in self.tokens if t.source == "context"}


# ---- parsing ----------------------------------------------------------------------------------


def _read_token(body: str) -> tuple[Source, str, str | None] | str:
    """The (source, name, fallback) a token body holds, or why it is malformed."""
    if not body.strip():
        return "empty token; write {{profile.<attribute>}} or {{context.<key>}}"
    if "{" in body or "}" in body:
        return "braces are not allowed inside a token"
    head, bar, fallback = body.partition("|")
    if "|" in fallback:
        return "only one '|' is allowed: it introduces the fallback text"
    head = head.strip()
    source, dot, name = head.partition(".")
    if not dot:
        hint = f" (did you mean {{{{profile.{head}}}}}?)" if _NAME_RE.fullmatch(head) else ""
        return f"tokens start with 'profile.' or 'context.'{hint}"
    if source not in SOURCES:
        return f"unknown source {source!r}; tokens start with 'profile.' or 'context.'"
    if not name:
        return f"missing {'attribute' if source == 'profile' else 'key'} name after '{source}.'"
    if not _NAME_RE.fullmatch(name):
        return (f"{name!r} is not a plain name: names start with a letter and use only letters, digits "
                "and '_' (no expressions, calls or attribute access)")
    return source, name, (fallback.strip() if bar else None)  # type: ignore[return-value]


def _scan(text: str) -> tuple[list[str | Token], list[tuple[int, str]]]:
    """Split text into literal parts and tokens, collecting every malformed token (with its offset)."""
    parts: list[str | Token] = []
    errors: list[tuple[int, str]] = []
    literal_from = pos = 0
    while (start := text.find(OPEN, pos)) >= 0:
        end = text.find(CLOSE, start + len(OPEN))
        if end < 0:
            errors.append((start, f"unclosed '{OPEN}' at character {start + 1}: every '{OPEN}' needs a '{CLOSE}'"))
            break
        raw = text[start : end + len(CLOSE)]
        read = _read_token(text[start + len(OPEN) : end])
        if isinstance(read, str):
            errors.append((start, f"malformed token {raw!r} at character {start + 1}: {read}"))
        else:
            if start > literal_from:
                parts.append(text[literal_from:start])
            parts.append(Token(read[0], read[1], read[2], raw, start))
            literal_from = end + len(CLOSE)
        pos = end + len(CLOSE)
    if literal_from < len(text):
        parts.append(text[literal_from:])
    return parts, errors


def parse(text: str) -> Template:
    """Parse once at save/render time; raises ValueError listing every malformed token and its position."""
    parts, errors = _scan(text)
    if errors:
        raise ValueError("; ".join(message for _, message in errors))
    return Template(text, tuple(parts))


def tokens(text: str | Template) -> list[Token]:
    return _template(text).tokens


def profile_attributes(text: str | Template) -> set[str]:
    """Profile columns a render needs, so callers can load only those."""
    return _template(text).profile_attributes


def context_keys(text: str | Template) -> set[str]:
    """Context keys a render reads, so the API can tell a caller what its JSON context should hold."""
    return _template(text).context_keys


def _template(template: str | Template) -> Template:
    return template if isinstance(template, Template) else parse(template)


# ---- checking ---------------------------------------------------------------------------------


def check(text: str, *, allow_context: bool, attributes: Iterable[str] = tuple(PROFILE_SCHEMA)) -> list[str]:
    """Every problem in a template as a sentence for the person editing it; [] when it is fine."""
    parts, problems = _scan(text)
    known = list(dict.fromkeys(attributes))
    known_set = set(known)
    for token in (p for p in parts if isinstance(p, Token)):
        if token.source == "profile" and token.name not in known_set:
            close = difflib.get_close_matches(token.name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append((token.start, f"unknown profile attribute {token.name!r} in {token.raw}{hint}; "
                                          f"known: {', '.join(known)}"))
        elif token.source == "context" and not allow_context:
            problems.append((token.start, f"{token.raw} is only available in API-triggered campaigns"))
    return list(dict.fromkeys(message for _, message in sorted(problems)))


def validate_content(
    subject: str | None,
    body: str,
    *,
    allow_context: bool,
    attributes: Iterable[str] = tuple(PROFILE_SCHEMA),
) -> None:
    """Refuse to save content whose tokens could not render, naming content.subject / content.body."""
    known = tuple(attributes)
    problems: dict[str, str] = {}
    for field, text in (("content.subject", subject), ("content.body", body)):
        found = check(text, allow_context=allow_context, attributes=known) if text else []
        if found:
            problems[field] = "; ".join(found)
    if problems:
        raise InvalidInput(problems)


# ---- rendering --------------------------------------------------------------------------------


def _cents_text(x: pl.Expr) -> pl.Expr:
    """Float -> '1234.5' through int64 cents: exact, locale-free and never in scientific notation."""
    x = x.cast(pl.Float64)
    scaled = x * 100.0
    cents = (
        pl.when(scaled.abs() < MAX_FLOAT * 100.0)  # NaN compares false, so NaN and ±inf drop out here
        .then(scaled.round(0, mode="half_to_even"))
        .cast(pl.Int64, strict=False)
    )
    magnitude = cents.abs()
    frac = magnitude % 100
    decimals = (
        pl.when(frac == 0).then(pl.lit(""))
        .when(frac % 10 == 0).then(pl.concat_str(pl.lit("."), (frac // 10).cast(pl.String)))
        .otherwise(pl.concat_str(pl.lit("."), frac.cast(pl.String).str.zfill(2)))
    )
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(sign, (magnitude // 100).cast(pl.String), decimals)


def _text(expr: pl.Expr, dtype: pl.DataType, what: str) -> tuple[pl.Expr, bool]:
    """The documented text form of a column (null stays null) and whether it can be free text."""
    if dtype == pl.String:
        return expr, True
    if isinstance(dtype, pl.Enum | pl.Categorical):
        return expr.cast(pl.String), True
    if dtype == pl.Null:
        return pl.lit(None, pl.String), False
    if dtype == pl.Boolean:
        return pl.when(expr).then(pl.lit("yes")).when(expr.not_()).then(pl.lit("no")), False
    if dtype.is_integer():
        return expr.cast(pl.String), False
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return _cents_text(expr), False
    if isinstance(dtype, pl.Datetime):
        return expr.dt.to_string(_DATETIME_FORMAT), False
    if dtype == pl.Date:
        return expr.dt.to_string(_DATE_FORMAT), False
    if dtype == pl.Time:
        return expr.dt.to_string(_TIME_FORMAT), False
    raise ValueError(f"{what} has type {dtype}, which templates cannot show; use text, a number, "
                     "a yes/no or a date/time")


def _fragment(expr: pl.Expr, dtype: pl.DataType, fallback: str | None, escape_html: bool, what: str) -> pl.Expr:
    """One token's text per row: formatted, escaped if asked, and never null (fallback or '')."""
    text, free_text = _text(expr, dtype, what)
    if escape_html and free_text:
        text = text.str.replace_many(_HTML_FROM, _HTML_TO)
    if not fallback:
        return text.fill_null(pl.lit(""))
    if free_text:  # "" counts as missing too; a null length compares null, which picks the fallback
        return pl.when(text.str.len_bytes() > 0).then(text).otherwise(pl.lit(fallback))
    return text.fill_null(pl.lit(fallback))


_SCALARS: Final = (str, bool, int, float, Decimal, datetime, date, time)


def _scalar_fragment(key: str, value: Any, fallback: str | None, escape_html: bool) -> str:
    """A context value shared by every row, formatted once with the same rules as a column."""
    if value is not None and not isinstance(value, _SCALARS):
        raise ValueError(f"context value {key!r} is a {type(value).__name__}; templates can show text, "
                         "numbers, yes/no and dates/times")
    series = pl.Series("v", [value])
    return str(pl.DataFrame([series]).select(
        _fragment(pl.col("v"), series.dtype, fallback, escape_html, f"context value {key!r}")
    ).item())


def render(
    template: Template | str,
    profiles: pl.DataFrame,
    context: Mapping[str, Any] | pl.DataFrame | None = None,
    *,
    escape_html: bool = False,
) -> pl.Series:
    """One message per row of `profiles`, in row order, as a single `pl.concat_str` (no Python row loop).

    `context` is one JSON object for every recipient (a Mapping) or a per-recipient DataFrame with
    one row per profile row. Missing context keys render like missing values.
    """
    tpl = _template(template)
    if isinstance(context, pl.DataFrame) and context.height != profiles.height:
        raise ValueError(f"context has {context.height} rows but there are {profiles.height} profiles")
    columns: dict[str, pl.Series] = {}
    pieces: list[str | pl.Expr] = []
    for part in tpl.parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        if part.source == "profile":
            if part.name not in profiles.columns:
                raise ValueError(f"{part.raw} needs the profile column {part.name!r}, which is not loaded")
            series, what = profiles.get_column(part.name), f"profile attribute {part.name!r}"
        elif isinstance(context, pl.DataFrame) and part.name in context.columns:
            series, what = context.get_column(part.name), f"context value {part.name!r}"
        else:
            values = context if isinstance(context, Mapping) else {}
            pieces.append(_scalar_fragment(part.name, values.get(part.name), part.fallback, escape_html))
            continue
        alias = f"{part.source}.{part.name}"
        columns[alias] = series.alias(alias)
        pieces.append(_fragment(pl.col(alias), series.dtype, part.fallback, escape_html, what))
    exprs = list(_merge_literals(pieces))
    if not columns:
        text = "".join(p for p in pieces if isinstance(p, str))
        return pl.repeat(text, profiles.height, dtype=pl.String, eager=True).alias(RESULT_NAME)
    frame = pl.DataFrame(list(columns.values()))
    return frame.select(pl.concat_str(exprs, ignore_nulls=False).alias(RESULT_NAME)).to_series()


def _merge_literals(pieces: list[str | pl.Expr]) -> Iterator[pl.Expr]:
    """Adjacent literal text (including resolved context scalars) becomes one pl.lit."""
    pending: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            pending.append(piece)
            continue
        if "".join(pending):
            yield pl.lit("".join(pending))
        pending = []
        yield piece
    if "".join(pending):
        yield pl.lit("".join(pending))


def preview(
    template: Template | str,
    profile: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    *,
    escape_html: bool = False,
) -> str:
    """The message one sample profile would get, rendered by the same code path as a real send."""
    tpl = _template(template)
    needed = tpl.profile_attributes
    frame = pl.DataFrame({name: pl.Series(name, [profile.get(name)]) for name in sorted(needed)})
    if not needed:
        frame = pl.DataFrame({"_": [None]})
    return str(render(tpl, frame, context, escape_html=escape_html).item())
