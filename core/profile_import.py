"""Profile files (CSV or Parquet) checked column by column before anything is written.

Every problem is reported with its row and column; one problem refuses the whole file, so a bad
file never leaves half its rows behind. Checks are vectorised: no Python loop over rows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import polars as pl

from core.errors import HeraldError
from core.models import EMAIL_RE
from core.profiles import COUNTRIES, GENDERS, LANGUAGES, LOYALTY_TIERS, PROFILE_COLUMNS

MAX_REPORTED = 50
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "country": COUNTRIES,
    "language": LANGUAGES,
    "gender": GENDERS,
    "loyalty_tier": LOYALTY_TIERS,
}
BOOLEAN_COLUMNS = tuple(c for c, kind in PROFILE_COLUMNS.items() if kind == "bool")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class ImportProblem:
    row: int  # 1-based data row (the header is not counted)
    column: str
    value: str
    why: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.value!r} {self.why}"


class ProfileFileRefused(HeraldError):
    """The file was refused as a whole; `problems` lists the first ones, `total` counts them all."""

    def __init__(self, problems: list[ImportProblem], total: int, headline: str | None = None) -> None:
        self.problems = problems
        self.total = total
        listed = "; ".join(str(p) for p in problems[:5])
        more = f" (and {total - 5} more)" if total > 5 else ""
        super().__init__(headline or f"Nothing was imported: {total} problem(s) in the file. {listed}{more}")


def read_profile_file(data: bytes, filename: str) -> pl.DataFrame:
    """The file's cells as text, whatever its format, so every check below reads the same way."""
    name = filename.lower()
    try:
        if name.endswith(".parquet"):
            frame = pl.read_parquet(io.BytesIO(data))
            return frame.select(pl.all().cast(pl.String))
        if name.endswith(".csv"):
            return pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ProfileFileRefused([], 0, f"Nothing was imported: {filename} could not be read ({exc}).") from exc
    raise ProfileFileRefused([], 0, f"Nothing was imported: {filename} is neither a .csv nor a .parquet file.")


def validate_profiles(raw: pl.DataFrame) -> pl.DataFrame:
    """Typed profiles, or ProfileFileRefused naming every bad cell (first MAX_REPORTED of them)."""
    columns = [c.strip() for c in raw.columns]
    raw = raw.rename(dict(zip(raw.columns, columns, strict=True)))
    unknown = [c for c in columns if c not in PROFILE_COLUMNS]
    if unknown or "profile_id" not in columns:
        why = []
        if "profile_id" not in columns:
            why.append("a profile_id column is required")
        if unknown:
            why.append(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(PROFILE_COLUMNS)}")
        raise ProfileFileRefused([], 0, "Nothing was imported: " + "; ".join(why) + ".")
    if raw.is_empty():
        raise ProfileFileRefused([], 0, "Nothing was imported: the file has no rows.")
    text = raw.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in columns)
    typed = text.select(_typed(c) for c in columns)
    checks = [_bad(text, typed, c) for c in columns] + [_duplicates(typed), _missing_ids(text)]
    found = [frame for frame in checks if frame.height]
    if found:
        problems = pl.concat(found).sort("row", "column")
        first = [ImportProblem(**r) for r in problems.head(MAX_REPORTED).iter_rows(named=True)]
        raise ProfileFileRefused(first, problems.height)
    return typed


def _typed(column: str) -> pl.Expr:
    kind = PROFILE_COLUMNS[column]
    value = pl.col(column)
    if column == "profile_id" or kind == "int":
        dtype = pl.Int64 if column == "profile_id" else pl.Int16
        return value.cast(dtype, strict=False).alias(column)
    if kind == "float":
        return value.cast(pl.Float64, strict=False).alias(column)
    if kind == "bool":
        lowered = value.str.to_lowercase()
        return (
            pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)
        ).alias(column)
    if kind == "datetime":
        stamp = value.str.to_datetime(strict=False, time_unit="us", format="%Y-%m-%dT%H:%M:%S")
        spaced = value.str.to_datetime(strict=False, time_unit="us", format="%Y-%m-%d %H:%M:%S")
        day = value.str.to_date(strict=False, format="%Y-%m-%d").cast(pl.Datetime("us"))
        return pl.coalesce(stamp, spaced, day).alias(column)
    if kind == "enum":
        normal = value.str.to_uppercase() if column == "country" else value.str.to_lowercase()
        return pl.when(normal.is_in(ENUM_VALUES[column])).then(normal).alias(column)
    if column == "email":
        lowered = value.str.to_lowercase()
        return pl.when(lowered.str.contains(EMAIL_RE.pattern)).then(lowered).alias(column)
    if column == "phone":
        return pl.when(value.str.contains(PHONE_PATTERN)).then(value).alias(column)
    return value.alias(column)


_WHY = {
    "int": "is not a whole number",
    "float": "is not a number",
    "bool": "is not true/false (also accepted: yes/no, 1/0)",
    "datetime": "is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DD HH:MM:SS)",
    "string": "is not valid",
}


def _why(column: str) -> str:
    if column in ENUM_VALUES:
        return f"is not one of {', '.join(ENUM_VALUES[column])}"
    if column == "email":
        return "is not an email address"
    if column == "phone":
        return "is not an international phone number such as +14155550100"
    if column == "age":
        return "is not a whole number between 0 and 130"
    return _WHY[PROFILE_COLUMNS[column]]


def _bad(text: pl.DataFrame, typed: pl.DataFrame, column: str) -> pl.DataFrame:
    broken = text[column].is_not_null() & typed[column].is_null()
    if column == "age":
        broken = broken | (typed[column].is_not_null() & ~typed[column].is_between(0, 130))
    return _problems(text, broken, column, _why(column))


def _duplicates(typed: pl.DataFrame) -> pl.DataFrame:
    ids = typed["profile_id"]
    repeated = ids.is_not_null() & ids.is_duplicated()
    return _problems(typed.with_columns(pl.col("profile_id").cast(pl.String)), repeated, "profile_id",
                     "appears more than once in the file")


def _missing_ids(text: pl.DataFrame) -> pl.DataFrame:
    return _problems(text, text["profile_id"].is_null(), "profile_id", "is missing: every row needs a profile_id")


def _problems(frame: pl.DataFrame, mask: pl.Series, column: str, why: str) -> pl.DataFrame:
    return (
        frame.select(pl.col(column).cast(pl.String).fill_null("").alias("value"))
        .with_row_index("row", offset=1)
        .filter(mask)
        .select(pl.col("row").cast(pl.Int64), pl.lit(column).alias("column"), "value", pl.lit(why).alias("why"))
    )
