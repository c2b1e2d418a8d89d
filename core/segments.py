"""Audience segment rules: validated AND/OR trees of conditions on profile attributes.

A rule is a `Group` of `Condition`s and nested groups. Validation happens once, in the
models, against `PROFILE_SCHEMA`; the compilers then trust the tree and turn it into a
Polars expression (the in-memory frame) or a parameterised DuckDB WHERE clause (the
store). Both must select exactly the same profiles, so they share these semantics:

* NULL: any comparison against a missing attribute value is false, including
  `not_equals` and `not_in`. Only `is_empty` (true for NULL, and for "" on text
  attributes) and `is_not_empty` (its exact negation) look at missing values. Every
  condition is wrapped so neither backend can produce NULL (Polars `fill_null(False)`,
  SQL `coalesce(..., false)`), which keeps AND/OR two-valued.
* Empty groups are refused: an empty "all" would silently target everyone.
* Text: `equals`/`in` are exact; `contains`/`starts_with` are case-insensitive, each
  backend lowercasing both sides itself. Polars and DuckDB lowercase identically except
  for Turkish dotted capital I (U+0130) and Greek final sigma, which we accept.
  Text values are stripped of surrounding spaces; enum values match case-insensitively
  and are stored in their canonical spelling.
* Dates (`now` and every stored timestamp are naive UTC; aware inputs are converted):
  `before D` ⇔ value < D 00:00 (date) or value < D (date-time);
  `after D` ⇔ value >= (D + 1 day) 00:00 (date, i.e. from the next day on) or value > D (date-time);
  `within_last_days N` ⇔ value >= now - N days (future values also match);
  `more_than_days_ago N` ⇔ value < now - N days.
"""

from __future__ import annotations

import math
import operator as op_
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from core.models import Strict, sub_field
from core.profiles import COUNTRIES, GENDERS, LANGUAGES, LOYALTY_TIERS, PROFILE_COLUMNS

MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_LIST_ITEMS = 1_000
MAX_TEXT_CHARS = 500
MAX_NUMBER = 10**15  # well inside int64 and exact as a double, so both backends agree
MAX_DAYS = 36_500
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    BETWEEN = "between"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"
    BEFORE = "before"
    AFTER = "after"
    WITHIN_LAST_DAYS = "within_last_days"
    MORE_THAN_DAYS_AGO = "more_than_days_ago"


class Kind(StrEnum):
    """Attribute types; the values are the ones core.profiles.PROFILE_COLUMNS uses."""

    INT = "int"
    FLOAT = "float"
    STRING = "string"
    ENUM = "enum"
    BOOL = "bool"
    DATETIME = "datetime"


Op = Operator
_NO_VALUE = frozenset({Op.IS_EMPTY, Op.IS_NOT_EMPTY, Op.IS_TRUE, Op.IS_FALSE})
_LISTS = frozenset({Op.IN, Op.NOT_IN})
_DAYS = frozenset({Op.WITHIN_LAST_DAYS, Op.MORE_THAN_DAYS_AGO})
_TEXT_MATCH = frozenset({Op.CONTAINS, Op.STARTS_WITH})
_EMPTINESS = (Op.IS_EMPTY, Op.IS_NOT_EMPTY)
_NUMBER_OPS = (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.BETWEEN, *_EMPTINESS)

KIND_OPERATORS: dict[Kind, tuple[Operator, ...]] = {
    Kind.INT: _NUMBER_OPS,
    Kind.FLOAT: _NUMBER_OPS,
    Kind.STRING: (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.STARTS_WITH, *_EMPTINESS),
    Kind.ENUM: (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, *_EMPTINESS),
    Kind.BOOL: (Op.IS_TRUE, Op.IS_FALSE, *_EMPTINESS),
    Kind.DATETIME: (Op.BEFORE, Op.AFTER, Op.WITHIN_LAST_DAYS, Op.MORE_THAN_DAYS_AGO, *_EMPTINESS),
}
_KIND_NOUN: dict[Kind, str] = {
    Kind.INT: "a number", Kind.FLOAT: "a number", Kind.STRING: "text", Kind.ENUM: "a fixed choice",
    Kind.BOOL: "yes or no", Kind.DATETIME: "a date",
}


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One profile column as segments see it: its type, its choices (enums) and a label for people."""

    name: str
    label: str
    kind: Kind
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind is Kind.ENUM and not self.values:
            raise ValueError(f"enum attribute {self.name!r} needs its allowed values")

    @property
    def operators(self) -> tuple[Operator, ...]:
        return KIND_OPERATORS[self.kind]


_ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "country": COUNTRIES, "language": LANGUAGES, "gender": GENDERS, "loyalty_tier": LOYALTY_TIERS,
}
_LABELS: dict[str, str] = {
    "profile_id": "Profile ID", "signup_at": "Signup date", "last_purchase_at": "Last purchase date",
    "email_opt_in": "Email opt-in", "sms_opt_in": "SMS opt-in", "push_opt_in": "Push opt-in",
}


def _build_schema() -> dict[str, AttributeSpec]:
    """Derive from PROFILE_COLUMNS so a new profile column becomes segmentable without edits here."""
    return {
        name: AttributeSpec(name, _LABELS.get(name, name.replace("_", " ").capitalize()), Kind(kind),
                            _ENUM_VALUES.get(name, ()))
        for name, kind in PROFILE_COLUMNS.items()
    }


PROFILE_SCHEMA: dict[str, AttributeSpec] = _build_schema()


# --- value normalisation ---------------------------------------------------------------------------
# Wrong types raise ValueError too: pydantic turns only ValueError into a field error with a path.


def _shown(value: Any) -> str:
    """A short rendering of a refused value with its JSON-ish type, for error messages."""
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    if type(value) in (int, float):
        return text
    kinds = {bool: "true/false", str: "text", list: "a list", tuple: "a list", dict: "an object", type(None): "nothing"}
    return f"{text} ({kinds.get(type(value), type(value).__name__)})"


def _number(spec: AttributeSpec, value: Any) -> int | float:
    """int attributes take whole numbers (42.0 is fine, "42" is not); float attributes any finite number."""
    whole = spec.kind is Kind.INT
    wanted = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{spec.label} needs {wanted}; got {_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{spec.label} needs a finite number; got {value}")
    if whole and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{spec.label} needs a whole number; got {value}")
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"{value} is out of range; numbers go from -{MAX_NUMBER:,} to {MAX_NUMBER:,}")
    return int(value) if whole else float(value)


def _text(spec: AttributeSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{spec.label} needs text; got {_shown(value)}")
    text = value.strip()
    if not text:
        raise ValueError(f"the value is empty; to find profiles without a {spec.label}, use 'is_empty'")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text values are at most {MAX_TEXT_CHARS} characters (this one has {len(text)})")
    return text


def _choice(spec: AttributeSpec, value: Any) -> str:
    """Match case-insensitively but keep the canonical spelling the store uses."""
    if isinstance(value, str):
        for allowed in spec.values:
            if allowed.casefold() == value.strip().casefold():
                return allowed
    shown = repr(value) if isinstance(value, str) else _shown(value)
    raise ValueError(f"{shown} is not a {spec.label}; allowed: {', '.join(spec.values)}")


def _scalar(spec: AttributeSpec, value: Any) -> int | float | str:
    if spec.kind is Kind.ENUM:
        return _choice(spec, value)
    if spec.kind is Kind.STRING:
        return _text(spec, value)
    return _number(spec, value)


def _each(value: Any, check: Callable[[Any], Any]) -> list[Any]:
    """Check every item, reporting a refusal against its index (value.2)."""
    items = []
    for index, item in enumerate(value):
        try:
            items.append(check(item))
        except ValueError as exc:
            raise sub_field(str(index), str(exc)) from None
    return items


def _value_list(spec: AttributeSpec, operator: Operator, value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"'{operator}' needs a list of values; got {_shown(value)}")
    if not value:
        raise ValueError(f"'{operator}' needs at least one value")
    if len(value) > MAX_LIST_ITEMS:
        raise ValueError(f"'{operator}' takes at most {MAX_LIST_ITEMS} values (this one has {len(value)})")
    return tuple(dict.fromkeys(_each(value, lambda item: _scalar(spec, item))))


def _range(spec: AttributeSpec, value: Any) -> tuple[int | float, int | float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"'between' needs two numbers [low, high]; got {_shown(value)}")
    low, high = _each(value, lambda item: _number(spec, item))
    if low > high:
        raise ValueError(f"low ({low}) is above high ({high}); put the smaller number first")
    return low, high


def _moment(spec: AttributeSpec, value: Any) -> date | datetime:
    """An ISO date or date-time (or the Python object); aware date-times become naive UTC."""
    moment: date | datetime | None = value if isinstance(value, date) else None
    if isinstance(value, str):
        moment = _parse_iso(value.strip())
    if moment is None:
        raise ValueError(f"{spec.label} needs an ISO date such as 2026-01-31 or a date-time such as "
                         f"2026-01-31T09:00; got {_shown(value)}")
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    day = moment.date() if isinstance(moment, datetime) else moment
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"dates go from {EARLIEST_DATE} to {LATEST_DATE}; got {day}")
    return moment


def _parse_iso(text: str) -> date | datetime | None:
    for parser in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parser(text)
        except ValueError:
            continue
    return None


def _days(operator: Operator, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ValueError(f"'{operator}' needs a whole number of days from 1 to {MAX_DAYS}; got {_shown(value)}")
    return value


def _normalise(spec: AttributeSpec, operator: Operator, value: Any) -> Any:
    """The value in the one canonical shape the compilers expect for this operator."""
    if operator in _NO_VALUE:
        if value is not None:
            raise ValueError(f"'{operator}' takes no value; leave value out")
        return None
    if value is None:
        raise ValueError(f"'{operator}' needs a value")
    if operator in _LISTS:
        return _value_list(spec, operator, value)
    if operator is Op.BETWEEN:
        return _range(spec, value)
    if operator in _DAYS:
        return _days(operator, value)
    if operator in (Op.BEFORE, Op.AFTER):
        return _moment(spec, value)
    if operator in _TEXT_MATCH:
        return _text(spec, value)
    return _scalar(spec, value)


# --- the rule models -----------------------------------------------------------------------------


class Condition(Strict):
    """One test on one profile attribute, e.g. {"attribute": "age", "operator": "gte", "value": 30}."""

    attribute: str
    operator: Operator
    value: Any = Field(default=None, validate_default=True)

    @property
    def spec(self) -> AttributeSpec:
        return PROFILE_SCHEMA[self.attribute]

    @field_validator("attribute")
    @classmethod
    def _known_attribute(cls, value: str) -> str:
        if value not in PROFILE_SCHEMA:
            raise ValueError(f"attribute {value!r} is not a profile attribute; known: {', '.join(PROFILE_SCHEMA)}")
        return value

    @field_validator("operator")
    @classmethod
    def _operator_fits(cls, value: Operator, info: ValidationInfo) -> Operator:
        spec = PROFILE_SCHEMA.get(info.data.get("attribute", ""))
        if spec is not None and value not in spec.operators:
            raise ValueError(f"'{value}' does not apply to {spec.label} ({_KIND_NOUN[spec.kind]}); "
                             f"use one of: {', '.join(spec.operators)}")
        return value

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        attribute, operator = info.data.get("attribute"), info.data.get("operator")
        if attribute is None or operator is None:
            return value  # the attribute or operator is already refused; judging the value would be noise
        return _normalise(PROFILE_SCHEMA[attribute], operator, value)


def _as_rule(value: Any, handler: ValidatorFunctionWrapHandler) -> Condition | Group:
    """Pick the model by shape; a plain union would put its member names into error paths (rules.0.Group.rules)."""
    if isinstance(value, Condition | Group):
        return value
    if isinstance(value, dict):
        model = Group if "rules" in value or "match" in value else Condition
        return model.model_validate(value)  # its ValidationError keeps paths relative to this item
    raise ValueError(f"a rule is a condition {{attribute, operator, value}} or a group {{match, rules}}; "
                     f"got {_shown(value)}")


class Group(Strict):
    """Rules joined by AND ("all") or OR ("any"); groups nest to build any boolean combination."""

    match: Literal["all", "any"] = "all"
    rules: tuple[Annotated[Condition | Group, WrapValidator(_as_rule)], ...]

    @field_validator("rules")
    @classmethod
    def _not_empty(cls, value: tuple[Condition | Group, ...]) -> tuple[Condition | Group, ...]:
        if not value:
            raise ValueError("a group needs at least one rule")
        return value

    @model_validator(mode="after")
    def _within_limits(self) -> Group:
        if (depth := self.depth) > MAX_DEPTH:
            raise sub_field("rules", f"groups nest at most {MAX_DEPTH} deep (this one nests {depth})")
        if (count := sum(1 for _ in self.conditions())) > MAX_CONDITIONS:
            raise sub_field("rules", f"a segment has at most {MAX_CONDITIONS} conditions (this one has {count})")
        return self

    @property
    def depth(self) -> int:
        """Levels of groups, this one included: a flat group has depth 1."""
        return 1 + max((rule.depth for rule in self.rules if isinstance(rule, Group)), default=0)

    def conditions(self) -> Iterator[Condition]:
        for rule in self.rules:
            if isinstance(rule, Group):
                yield from rule.conditions()
            else:
                yield rule


# --- shared semantics ----------------------------------------------------------------------------


def _naive_utc(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo is not None else now


def _comparison(cond: Condition, now: datetime) -> tuple[str, Any]:
    """Reduce a plain comparison or a date operator to (SQL symbol, operand), so both backends share the date rules."""
    value, operator = cond.value, cond.operator
    if operator is Op.BEFORE:
        return "<", _start_of(value)
    if operator is Op.AFTER:
        return (">", value) if isinstance(value, datetime) else (">=", _start_of(value + timedelta(days=1)))
    if operator is Op.WITHIN_LAST_DAYS:
        return ">=", now - timedelta(days=value)
    if operator is Op.MORE_THAN_DAYS_AGO:
        return "<", now - timedelta(days=value)
    return _SYMBOLS[operator], value


def _start_of(moment: date | datetime) -> datetime:
    return moment if isinstance(moment, datetime) else datetime.combine(moment, time())


_SYMBOLS: dict[Operator, str] = {
    Op.EQUALS: "=", Op.NOT_EQUALS: "<>", Op.LT: "<", Op.LTE: "<=", Op.GT: ">", Op.GTE: ">=",
}


# --- Polars --------------------------------------------------------------------------------------

_PL_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "=": op_.eq, "<>": op_.ne, "<": op_.lt, "<=": op_.le, ">": op_.gt, ">=": op_.ge,
}
# Integer and Enum columns are compared as they are: their values are validated whole numbers
# and allowed choices, which Polars compares to any integer width or to an Enum's codes directly
# (casting a 10-million-row Int16 column to Int64 first would cost more than the comparison, and
# Enum codes are ~40x faster than text). Floats and text are cast so every frame flavour agrees.
_PL_CAST: dict[Kind, pl.DataType] = {Kind.FLOAT: pl.Float64(), Kind.STRING: pl.String()}


def _pl_column(spec: AttributeSpec) -> pl.Expr:
    column = pl.col(spec.name)
    return column.cast(_PL_CAST[spec.kind]) if spec.kind in _PL_CAST else column


def _pl_empty(column: pl.Expr, spec: AttributeSpec) -> pl.Expr:
    return column.is_null() | (column == "") if spec.kind is Kind.STRING else column.is_null()


def _pl_lower(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase()


_PL_SPECIAL: dict[Operator, Callable[[pl.Expr, Any, AttributeSpec], pl.Expr]] = {
    Op.IN: lambda col, value, _: col.is_in(list(value)),
    Op.NOT_IN: lambda col, value, _: ~col.is_in(list(value)),
    Op.BETWEEN: lambda col, value, _: col.is_between(pl.lit(value[0]), pl.lit(value[1]), closed="both"),
    Op.CONTAINS: lambda col, value, _: _pl_lower(col).str.contains(_pl_lower(pl.lit(value)), literal=True),
    Op.STARTS_WITH: lambda col, value, _: _pl_lower(col).str.starts_with(_pl_lower(pl.lit(value))),
    Op.IS_EMPTY: lambda col, _, spec: _pl_empty(col, spec),
    Op.IS_NOT_EMPTY: lambda col, _, spec: ~_pl_empty(col, spec),
    Op.IS_TRUE: lambda col, _, __: col,
    Op.IS_FALSE: lambda col, _, __: ~col,
}


def _pl_condition(cond: Condition, now: datetime) -> pl.Expr:
    column = _pl_column(cond.spec)
    if cond.operator in _PL_SPECIAL:
        expr = _PL_SPECIAL[cond.operator](column, cond.value, cond.spec)
    else:
        symbol, operand = _comparison(cond, now)
        expr = _PL_COMPARE[symbol](column, pl.lit(operand))
    return expr.fill_null(False)


def _pl_rule(rule: Condition | Group, now: datetime) -> pl.Expr:
    if isinstance(rule, Condition):
        return _pl_condition(rule, now)
    parts = [_pl_rule(child, now) for child in rule.rules]
    return pl.all_horizontal(parts) if rule.match == "all" else pl.any_horizontal(parts)


def to_polars(rule: Group, now: datetime) -> pl.Expr:
    """A never-null boolean expression named "in_segment", for frame.filter(...) or with_columns(...)."""
    return _pl_rule(rule, _naive_utc(now)).alias("in_segment")


# --- DuckDB SQL ----------------------------------------------------------------------------------

Sql = tuple[str, list[Any]]


def _quote(name: str) -> str:
    """Identifiers only ever come from PROFILE_SCHEMA; quoting still keeps them literal."""
    return '"' + name.replace('"', '""') + '"'


def _sql_empty(column: str, spec: AttributeSpec) -> str:
    return f"({column} IS NULL OR {column} = '')" if spec.kind is Kind.STRING else f"({column} IS NULL)"


def _sql_list(column: str, values: tuple[Any, ...], negate: bool) -> Sql:
    marks = ", ".join("?" * len(values))
    return f"{column} {'NOT IN' if negate else 'IN'} ({marks})", list(values)


_SQL_SPECIAL: dict[Operator, Callable[[str, Any, AttributeSpec], Sql]] = {
    Op.IN: lambda col, value, _: _sql_list(col, value, negate=False),
    Op.NOT_IN: lambda col, value, _: _sql_list(col, value, negate=True),
    Op.BETWEEN: lambda col, value, _: (f"{col} BETWEEN ? AND ?", list(value)),
    Op.CONTAINS: lambda col, value, _: (f"contains(lower({col}), lower(?))", [value]),
    Op.STARTS_WITH: lambda col, value, _: (f"starts_with(lower({col}), lower(?))", [value]),
    Op.IS_EMPTY: lambda col, _, spec: (_sql_empty(col, spec), []),
    Op.IS_NOT_EMPTY: lambda col, _, spec: (f"NOT {_sql_empty(col, spec)}", []),
    Op.IS_TRUE: lambda col, _, __: (col, []),
    Op.IS_FALSE: lambda col, _, __: (f"NOT {col}", []),
}


def _sql_condition(cond: Condition, now: datetime) -> Sql:
    column = _quote(cond.attribute)
    if cond.operator in _SQL_SPECIAL:
        sql, params = _SQL_SPECIAL[cond.operator](column, cond.value, cond.spec)
    else:
        symbol, operand = _comparison(cond, now)
        sql, params = f"{column} {symbol} ?", [operand]
    return f"coalesce({sql}, false)", params


def _sql_rule(rule: Condition | Group, now: datetime) -> Sql:
    if isinstance(rule, Condition):
        return _sql_condition(rule, now)
    parts = [_sql_rule(child, now) for child in rule.rules]
    joiner = " AND " if rule.match == "all" else " OR "
    return "(" + joiner.join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]


def to_sql(rule: Group, now: datetime) -> Sql:
    """A DuckDB WHERE clause over the profiles table with `?` placeholders, and its parameters in order."""
    return _sql_rule(rule, _naive_utc(now))


# --- plain English -------------------------------------------------------------------------------

_PHRASES: dict[Operator, str] = {
    Op.EQUALS: "is {}", Op.NOT_EQUALS: "is not {}", Op.IN: "is one of {}", Op.NOT_IN: "is none of {}",
    Op.LT: "is less than {}", Op.LTE: "is at most {}", Op.GT: "is more than {}", Op.GTE: "is at least {}",
    Op.BETWEEN: "is between {}", Op.CONTAINS: "contains {}", Op.STARTS_WITH: "starts with {}",
    Op.IS_EMPTY: "is empty", Op.IS_NOT_EMPTY: "is not empty", Op.IS_TRUE: "is true", Op.IS_FALSE: "is false",
    Op.BEFORE: "is before {}", Op.AFTER: "is after {}",
    Op.WITHIN_LAST_DAYS: "is within the last {}", Op.MORE_THAN_DAYS_AGO: "is more than {} ago",
}


def _show_value(spec: AttributeSpec, value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if value.second or value.microsecond else "minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(value).removesuffix(".0")
    if spec.kind is Kind.STRING:
        return f'"{value}"'
    return str(value)


def _describe_value(cond: Condition) -> str:
    value = cond.value
    if value is None:
        return ""
    if cond.operator in _DAYS:
        return f"{value} day" + ("" if value == 1 else "s")
    if cond.operator is Op.BETWEEN:
        return " and ".join(_show_value(cond.spec, v) for v in value)
    if cond.operator in _LISTS:
        return ", ".join(_show_value(cond.spec, v) for v in value)
    return _show_value(cond.spec, value)


def _describe_rule(rule: Condition | Group, nested: bool) -> str:
    if isinstance(rule, Condition):
        return f"{rule.spec.label} {_PHRASES[rule.operator].format(_describe_value(rule))}"
    text = (" and " if rule.match == "all" else " or ").join(_describe_rule(r, nested=True) for r in rule.rules)
    return f"({text})" if nested and len(rule.rules) > 1 else text


def describe(rule: Group) -> str:
    """One sentence for people, e.g. "Loyalty tier is one of gold, platinum and Country is US"."""
    return _describe_rule(rule, nested=False)
