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

How rendering stays fast (1M ~750-character messages in a fraction of a second): each distinct
token becomes one or two String columns through whole-column Polars operations - floats through
int64 cents plus a 100-entry table of decimals, datetimes through tables of the days present and
of the 1,440 minutes of a day, Enums by formatting their few categories and gathering by code -
and one `pl.concat_str` over those columns and the literal text writes each message once. Big
frames are split into row slices rendered on Polars' threads and appended in slice order, so row
order is kept by construction. No Python code runs per row.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final, Literal, TypeVar

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
            message = f"unknown profile attribute {token.name!r} in {token.raw}{hint}; known: {', '.join(known)}"
            problems.append((token.start, message))
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


_FRACTIONS: Final = pl.Series("fraction", [""] + [f".{c:02d}".rstrip("0") for c in range(1, 100)])
_CLOCK: Final = pl.Series("clock", [f" {h:02d}:{m:02d}" for h in range(24) for m in range(60)])
_PER_MINUTE: Final = {"ns": 60_000_000_000, "us": 60_000_000, "ms": 60_000}
MAX_DAY_TABLE: Final = 200_000  # ~550 years of dates formatted once; wider spans use strftime per row
PARALLEL_MIN_ROWS: Final = 100_000  # below this, threads cost more than they save

_Key = tuple[str, str, str | None]  # (source, name, fallback): tokens that render identically
T = TypeVar("T")
R = TypeVar("R")


def _eval(series: pl.Series, *exprs: pl.Expr) -> list[pl.Series]:
    """Evaluate expressions on one column (named "v") eagerly, once each, in row order."""
    return series.alias("v").to_frame().select(*exprs).get_columns()


def _number_pieces(series: pl.Series) -> list[pl.Series]:
    """Float -> ['-1234', '.5'] through int64 cents: exact, locale-free, never scientific notation.

    Cents are materialised once; the whole part is one int->text cast and the decimals come from a
    100-entry table, so there is no per-row string surgery.
    """
    scaled = pl.col("v").cast(pl.Float64) * 100.0
    # NaN and ±inf fail the comparison, so they and out-of-range values become null (missing).
    (cents,) = _eval(series, pl.when(scaled.abs() < MAX_FLOAT * 100.0)
                     .then(scaled.round(0, mode="half_to_even")).cast(pl.Int64))
    c = pl.col("v")
    whole = (c.abs() // 100 * c.sign()).cast(pl.String)
    return _eval(
        cents,
        pl.when((c < 0) & (c > -100)).then(pl.lit("-0")).otherwise(whole).alias("whole"),  # -0.5 keeps its sign
        pl.lit(_FRACTIONS).gather(c.abs() % 100).alias("decimals"),
    )


def _day_table(first: int, last: int) -> pl.Series:
    """'YYYY-MM-DD' for every day in [first, last] (days since 1970-01-01), formatted once."""
    days = pl.Series("day", range(first, last + 1), dtype=pl.Int32).cast(pl.Date)
    return days.dt.to_string(_DATE_FORMAT)


def _day_span(days: pl.Series) -> tuple[int, int] | None:
    """First and last day present, or None when all are missing or too far apart for a table."""
    low, high = days.min(), days.max()
    if low is None or high is None or int(high) - int(low) > MAX_DAY_TABLE:  # type: ignore[arg-type]
        return None
    return int(low), int(high)  # type: ignore[arg-type]


def _datetime_pieces(series: pl.Series) -> list[pl.Series]:
    """Datetime -> ['YYYY-MM-DD', ' HH:MM'] by table lookups: strftime per row is ~8x slower."""
    dtype = series.dtype
    assert isinstance(dtype, pl.Datetime)
    if dtype.time_zone is not None:  # show the wall clock of the column's own zone
        series = series.dt.replace_time_zone(None)
    per_minute = _PER_MINUTE[dtype.time_unit or "us"]
    (minutes,) = _eval(series, pl.col("v").to_physical() // per_minute)
    span = _day_span(minutes // 1440)
    if span is None:
        return _eval(series, pl.col("v").dt.to_string(_DATETIME_FORMAT))
    m = pl.col("v")
    return _eval(
        minutes,
        pl.lit(_day_table(*span)).gather(m // 1440 - span[0]).alias("date"),
        pl.lit(_CLOCK).gather(m % 1440).alias("clock"),
    )


def _date_pieces(series: pl.Series) -> list[pl.Series]:
    """Date -> 'YYYY-MM-DD' from a table of the days present (Dates are int32 days underneath)."""
    days = series.to_physical()
    span = _day_span(days)
    if span is None:
        return _eval(series, pl.col("v").dt.to_string(_DATE_FORMAT))
    return _eval(days, pl.lit(_day_table(*span)).gather(pl.col("v") - span[0]))


def _pieces(series: pl.Series, what: str) -> tuple[list[pl.Series], bool]:
    """A column's documented text form as consecutive String pieces, and whether it is free text.

    The first piece is null exactly when the value is missing and the others are null then too,
    so a fallback replaces the first and the rest become "". Separate pieces (rather than a nested
    concat_str) let the final concat_str write each message once.
    """
    dtype, v = series.dtype, pl.col("v")
    if dtype == pl.String:
        return [series], True
    if isinstance(dtype, pl.Categorical):  # Enums never get here: _fragment works on their categories
        return [series.cast(pl.String)], True
    if dtype == pl.Null:
        return [series.cast(pl.String)], False
    if dtype == pl.Boolean:
        return _eval(series, pl.when(v).then(pl.lit("yes")).when(v.not_()).then(pl.lit("no"))), False
    if dtype.is_integer():
        return [series.cast(pl.String)], False
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return _number_pieces(series), False
    if isinstance(dtype, pl.Datetime):
        return _datetime_pieces(series), False
    if dtype == pl.Date:
        return _date_pieces(series), False
    if dtype == pl.Time:
        return _eval(series, v.dt.to_string(_TIME_FORMAT)), False
    raise ValueError(f"{what} has type {dtype}, which templates cannot show; use text, a number, "
                     "a yes/no or a date/time")


def _fragment(series: pl.Series, fallback: str | None, escape_html: bool, what: str) -> list[pl.Series]:
    """One token's text per row as String columns: formatted, escaped if asked, never null."""
    v = pl.col("v")
    if isinstance(series.dtype, pl.Enum):  # the store's frame: do the work per category, then gather by code
        (shown,) = _fragment(series.dtype.categories, fallback, escape_html, what)
        return _eval(series.to_physical(), pl.lit(shown).gather(v).fill_null(pl.lit(fallback or "")))
    pieces, free_text = _pieces(series, what)
    if free_text:
        (text,) = pieces
        # Scanning is ~2x cheaper than rewriting, and most columns (names, cities) hold nothing to
        # escape. Materialised before the fallback below, which reads it twice.
        if escape_html and text.str.contains_any(_HTML_FROM).any():
            (text,) = _eval(text, v.str.replace_many(_HTML_FROM, _HTML_TO))
        if fallback:  # "" is missing too; a null length compares null, which also picks the fallback
            return _eval(text, pl.when(v.str.len_bytes() > 0).then(v).otherwise(pl.lit(fallback)))
        return _eval(text, v.fill_null(pl.lit("")))
    first, *rest = pieces
    return [*_eval(first, v.fill_null(pl.lit(fallback or ""))), *(p.fill_null("") for p in rest)]


_SCALARS: Final = (str, bool, int, float, Decimal, datetime, date, time)


def _scalar_fragment(key: str, value: Any, fallback: str | None, escape_html: bool) -> str:
    """A context value shared by every row, formatted once by the same code as a column."""
    if value is not None and not isinstance(value, _SCALARS):
        raise ValueError(f"context value {key!r} is a {type(value).__name__}; templates can show text, "
                         "numbers, yes/no and dates/times")
    pieces = _fragment(pl.Series("v", [value]), fallback, escape_html, f"context value {key!r}")
    return "".join(str(piece[0]) for piece in pieces)


def render(
    template: Template | str,
    profiles: pl.DataFrame,
    context: Mapping[str, Any] | pl.DataFrame | None = None,
    *,
    escape_html: bool = False,
) -> pl.Series:
    """One message per row of `profiles`, in row order, as one `pl.concat_str` (no Python row loop).

    Each token's text is materialised once as String columns (Series ops over the whole column),
    then a single concat_str stitches literals and those columns. `context` is one JSON object for
    every recipient (a Mapping) or a per-recipient DataFrame with one row per profile row; missing
    context keys render like missing values (fallback or "").
    """
    tpl = _template(template)
    if isinstance(context, pl.DataFrame) and context.height != profiles.height:
        raise ValueError(f"context has {context.height} rows but there are {profiles.height} profiles")
    literal: dict[_Key, str] = {}  # tokens whose text is the same on every row
    columns: dict[_Key, tuple[pl.Series, str]] = {}  # tokens read from a column, by (source, name, fallback)
    for token in tpl.tokens:
        key = (token.source, token.name, token.fallback)
        if key in literal or key in columns:
            continue
        if token.source == "profile":
            if token.name not in profiles.columns:
                raise ValueError(f"{token.raw} needs the profile column {token.name!r}, which is not loaded")
            columns[key] = profiles.get_column(token.name), f"profile attribute {token.name!r}"
        elif isinstance(context, pl.DataFrame) and token.name in context.columns:
            columns[key] = context.get_column(token.name), f"context value {token.name!r}"
        else:
            values = context if isinstance(context, Mapping) else {}
            literal[key] = _scalar_fragment(token.name, values.get(token.name), token.fallback, escape_html)

    def fragment(item: tuple[_Key, tuple[pl.Series, str]]) -> list[pl.Series]:
        (_, _, fallback), (series, what) = item
        return _fragment(series, fallback, escape_html, what)

    texts: list[pl.Series] = []
    exprs: dict[_Key, list[pl.Expr]] = {}
    for key, fragment_texts in zip(columns, _parallel_map(fragment, list(columns.items()), profiles.height)):
        names = [f"_{len(texts) + i}" for i in range(len(fragment_texts))]
        exprs[key] = [pl.col(name) for name in names]
        texts.extend(text.alias(name) for name, text in zip(names, fragment_texts))
    pieces: list[str | pl.Expr] = []
    for part in tpl.parts:
        if isinstance(part, str):
            pieces.append(part)
        else:
            key = (part.source, part.name, part.fallback)
            pieces.extend(exprs[key] if key in exprs else [literal[key]])
    if not texts:
        text = "".join(p for p in pieces if isinstance(p, str))
        return pl.repeat(text, profiles.height, dtype=pl.String, eager=True).alias(RESULT_NAME)
    expr = pl.concat_str(list(_merge_literals(pieces)), ignore_nulls=False).alias(RESULT_NAME)
    frame = pl.DataFrame(texts)
    if frame.height < 2 * PARALLEL_MIN_ROWS:
        return frame.select(expr).to_series()
    # concat_str walks its rows on one thread: render disjoint row slices side by side and append
    # them in slice order, which keeps row order by construction (no streaming engine involved).
    step = -(-frame.height // pl.thread_pool_size())
    slices = [frame.slice(offset, step) for offset in range(0, frame.height, step)]
    parts = _parallel_map(lambda part: part.select(expr).to_series(), slices, frame.height)
    return pl.concat(parts, rechunk=False)


def _parallel_map(call: Callable[[T], R], items: list[T], rows: int) -> list[R]:
    """Results in input order; threads only pay off on big frames (Polars releases the GIL)."""
    workers = min(pl.thread_pool_size(), len(items))
    if workers <= 1 or rows < PARALLEL_MIN_ROWS:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, items))


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


# ---- a few rows of a big frame, fast (API triggers) --------------------------------------------


def context_text(key: str, value: Any, fallback: str | None, escape_html: bool = False) -> str:
    """What `render` shows for a JSON context value (text, whole number, number, true/false, null),
    computed in plain Python: the same text as `_scalar_fragment`, without a Polars call per value.

    Other types (dates, Decimals) go through `_scalar_fragment` itself."""
    if value is None:
        return fallback or ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            return _scalar_fragment(key, value, fallback, escape_html)
        return str(value)
    if isinstance(value, float):
        scaled = value * 100.0
        if not abs(scaled) < MAX_FLOAT * 100.0:  # NaN, ±inf, too big: missing
            return fallback or ""
        cents = round(scaled)  # round-half-to-even on the same double, as Polars' half_to_even
        whole = "-0" if -100 < cents < 0 else str(abs(cents) // 100 * (1 if cents > 0 else -1 if cents < 0 else 0))
        return whole + _FRACTION_TEXT[abs(cents) % 100]
    if isinstance(value, str):
        if escape_html:
            for plain, escaped in zip(_HTML_FROM, _HTML_TO):
                value = value.replace(plain, escaped)
        if fallback:
            return value if value else fallback
        return value
    return _scalar_fragment(key, value, fallback, escape_html)


_FRACTION_TEXT: Final = tuple(_FRACTIONS.to_list())


class RowRenderer:
    """Messages for a few rows of one (big, long-lived) profile frame: each profile token's text is
    computed once for every row by the code `render` uses, so a message is then a join of strings.

    `render(rows, context)` equals `render(template, profiles[rows], context)` for JSON context
    values (tests/test_templates_rows.py checks it); it costs microseconds per message instead of a
    Polars pipeline per call, which is what an API trigger for one recipient needs.
    """

    def __init__(self, template: Template | str, profiles: pl.DataFrame, *, escape_html: bool = False) -> None:
        tpl = _template(template)
        self.template = tpl
        self.escape_html = escape_html
        pieces: dict[_Key, list[pl.Series]] = {}
        for token in tpl.tokens:
            key = (token.source, token.name, token.fallback)
            if token.source != "profile" or key in pieces:
                continue
            if token.name not in profiles.columns:
                raise ValueError(f"{token.raw} needs the profile column {token.name!r}, which is not loaded")
            pieces[key] = _fragment(profiles.get_column(token.name), token.fallback, escape_html,
                                    f"profile attribute {token.name!r}")
        self._parts: list[str | list[pl.Series] | tuple[str, str | None]] = []
        for part in tpl.parts:
            if isinstance(part, str):
                self._parts.append(part)
            elif part.source == "profile":
                self._parts.append(pieces[(part.source, part.name, part.fallback)])
            else:
                self._parts.append((part.name, part.fallback))

    def render(self, rows: Sequence[int], context: Mapping[str, Any] | None = None) -> list[str]:
        values = context or {}
        shared: dict[tuple[str, str | None], str] = {}
        columns: list[str | list[list[Any]] | str] = []
        few = len(rows) <= 8
        index = pl.Series(rows, dtype=pl.Int64) if not few else None
        for part in self._parts:
            if isinstance(part, str):
                columns.append(part)
            elif isinstance(part, tuple):
                name, fallback = part
                if part not in shared:
                    shared[part] = context_text(name, values.get(name), fallback, self.escape_html)
                columns.append(shared[part])
            elif few:
                columns.append([[piece[r] for r in rows] for piece in part])
            else:
                columns.append([piece.gather(index).to_list() for piece in part])
        messages = []
        for i in range(len(rows)):
            text = []
            for column in columns:
                if isinstance(column, str):
                    text.append(column)
                else:
                    text.extend(piece[i] for piece in column)
            messages.append("".join(text))
        return messages
