"""Deterministic synthetic marketing profiles for demos, tests and benchmarks.

All randomness comes from one numpy Generator consumed in a fixed order, and
strings are assembled by polars, so a given (n, seed, now) always yields the
same frame and a million rows build in about a second without Python row loops.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import numpy as np
import polars as pl

DEFAULT_SEED: int = 20261123
DEFAULT_NOW: datetime = datetime(2026, 11, 23, 9, 0)
_EPOCH = datetime(1970, 1, 1)
_US_PER_S = 1_000_000
_SIGNUP_SPAN_S = int(6 * 365.25 * 86_400)


class _Country(NamedTuple):
    """Per-country knobs; phone numbers are drawn from the national range [lo, hi)."""

    weight: float
    dial: str
    phone_lo: int
    phone_hi: int
    local_domain: str
    local_share: float
    languages: dict[str, float]
    cities: tuple[str, ...]


_COUNTRY_SPEC: dict[str, _Country] = {
    "US": _Country(0.30, "1", 2_000_000_000, 10_000_000_000, "comcast.net", 0.08, {"en": 0.9, "es": 0.1},
                   ("New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia")),
    "GB": _Country(0.12, "44", 7_000_000_000, 8_000_000_000, "btinternet.com", 0.10, {"en": 1.0},
                   ("London", "Birmingham", "Manchester", "Glasgow", "Leeds", "Bristol")),
    "DE": _Country(0.11, "49", 15_000_000_000, 18_000_000_000, "web.de", 0.30, {"de": 0.95, "en": 0.05},
                   ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Stuttgart")),
    "FR": _Country(0.09, "33", 600_000_000, 800_000_000, "orange.fr", 0.25, {"fr": 0.97, "en": 0.03},
                   ("Paris", "Marseille", "Lyon", "Toulouse", "Nice", "Nantes")),
    "ES": _Country(0.06, "34", 600_000_000, 700_000_000, "telefonica.net", 0.10, {"es": 0.95, "en": 0.05},
                   ("Madrid", "Barcelona", "Valencia", "Seville", "Zaragoza")),
    "IT": _Country(0.06, "39", 3_000_000_000, 4_000_000_000, "libero.it", 0.20, {"it": 0.96, "en": 0.04},
                   ("Rome", "Milan", "Naples", "Turin", "Palermo")),
    "NL": _Country(0.05, "31", 600_000_000, 700_000_000, "ziggo.nl", 0.12, {"nl": 0.8, "en": 0.2},
                   ("Amsterdam", "Rotterdam", "The Hague", "Utrecht", "Eindhoven")),
    "CA": _Country(0.05, "1", 2_000_000_000, 10_000_000_000, "rogers.com", 0.10, {"en": 0.95, "fr": 0.05},
                   ("Toronto", "Montreal", "Vancouver", "Calgary", "Ottawa")),
    "BR": _Country(0.04, "55", 11_900_000_000, 100_000_000_000, "uol.com.br", 0.15, {"pt": 0.96, "es": 0.02, "en": 0.02},
                   ("São Paulo", "Rio de Janeiro", "Brasília", "Salvador", "Fortaleza")),
    "AU": _Country(0.04, "61", 400_000_000, 500_000_000, "bigpond.com", 0.10, {"en": 1.0},
                   ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide")),
    "SE": _Country(0.03, "46", 700_000_000, 800_000_000, "telia.com", 0.10, {"sv": 0.85, "en": 0.15},
                   ("Stockholm", "Gothenburg", "Malmö", "Uppsala")),
    "JP": _Country(0.03, "81", 7_000_000_000, 10_000_000_000, "yahoo.co.jp", 0.30, {"ja": 0.96, "en": 0.04},
                   ("Tokyo", "Yokohama", "Osaka", "Nagoya", "Sapporo")),
    "IN": _Country(0.02, "91", 6_000_000_000, 10_000_000_000, "rediffmail.com", 0.10, {"en": 0.8, "hi": 0.2},
                   ("Mumbai", "Delhi", "Bengaluru", "Hyderabad", "Chennai", "Kolkata")),
}
# Montreal is mostly French-speaking, which is what makes CA "partly fr" overall (~20%).
_CITY_LANGUAGE_OVERRIDE: dict[str, dict[str, float]] = {"Montreal": {"fr": 0.8, "en": 0.2}}

_GLOBAL_DOMAINS: dict[str, float] = {
    "gmail.com": 0.52, "outlook.com": 0.13, "yahoo.com": 0.10, "icloud.com": 0.09,
    "hotmail.com": 0.08, "proton.me": 0.04, "aol.com": 0.04,
}

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Emma", "Olivia", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Hannah", "Lea", "Chloé",
    "Camille", "Manon", "Lucía", "Sofía", "María", "Giulia", "Francesca", "Chiara", "Sanne", "Fleur",
    "Ana", "Beatriz", "Yuki", "Sakura", "Priya", "Ananya", "Ingrid", "Astrid", "Aisha", "Grace",
)
MALE_FIRST_NAMES: tuple[str, ...] = (
    "Liam", "Noah", "Oliver", "James", "William", "Lucas", "Ethan", "Jack", "Harry", "Lukas",
    "Felix", "Jonas", "Louis", "Hugo", "Théo", "Mateo", "Pablo", "Alejandro", "Lorenzo", "Matteo",
    "Daan", "Sem", "João", "Gabriel", "Haruto", "Sota", "Arjun", "Rohan", "Erik", "Omar",
)
FIRST_NAMES: tuple[str, ...] = FEMALE_FIRST_NAMES + MALE_FIRST_NAMES
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark",
    "Harris", "Lewis", "Walker", "Robinson", "Evans", "Wright", "Thompson", "Patel", "O'Brien", "Murphy",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch",
    "Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent", "Girard", "García", "Fernández",
    "López", "González", "Sánchez", "Pérez", "Romero", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi",
    "Romano", "Colombo", "de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Silva", "Santos",
    "Oliveira", "Souza", "Costa", "Pereira", "Andersson", "Johansson", "Karlsson", "Nilsson", "Sato", "Suzuki",
    "Takahashi", "Tanaka", "Watanabe", "Sharma", "Singh", "Kumar", "Gupta", "Nguyen", "Kim", "Kowalski",
)

COUNTRIES: tuple[str, ...] = tuple(_COUNTRY_SPEC)
LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr", "it", "nl", "pt", "sv", "ja", "hi")
GENDERS: tuple[str, ...] = ("female", "male", "non_binary", "unknown")
LOYALTY_TIERS: tuple[str, ...] = ("none", "bronze", "silver", "gold", "platinum")
CITIES: tuple[str, ...] = tuple(c for spec in _COUNTRY_SPEC.values() for c in spec.cities)
EMAIL_DOMAINS: tuple[str, ...] = tuple(_GLOBAL_DOMAINS) + tuple(s.local_domain for s in _COUNTRY_SPEC.values())

PROFILE_COLUMNS: dict[str, str] = {
    "profile_id": "int", "first_name": "string", "last_name": "string", "email": "string",
    "phone": "string", "country": "enum", "city": "string", "language": "enum", "age": "int",
    "gender": "enum", "loyalty_tier": "enum", "lifetime_value": "float", "signup_at": "datetime",
    "last_purchase_at": "datetime", "email_opt_in": "bool", "sms_opt_in": "bool",
    "push_opt_in": "bool", "suppressed": "bool",
}

_GENDER_P = np.array([0.49, 0.46, 0.02, 0.03])
_TIER_P = np.array([0.40, 0.30, 0.18, 0.09, 0.03])
_TIER_LTV_MEDIAN = np.array([40.0, 150.0, 450.0, 1_200.0, 3_000.0])
# Chance of never having purchased, by tier; averages to ~25% with _TIER_P.
_TIER_NO_PURCHASE = np.array([0.45, 0.15, 0.08, 0.04, 0.02])
# Beta(a, 1) shape for where the last purchase falls in [signup, now]: higher tiers buy recently.
_TIER_RECENCY_A = np.array([1.2, 1.8, 2.5, 3.5, 5.0])
_P_EMAIL, _P_PHONE = 0.96, 0.88
_P_EMAIL_OPT, _P_SMS_OPT, _P_PUSH_OPT, _P_SUPPRESSED = 0.68, 0.35, 0.45, 0.015


def _slug(name: str) -> str:
    """Emails need ASCII local parts, so strip accents, spaces and apostrophes from a name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())


def _cumulative(rows: list[list[float]]) -> np.ndarray:
    """Row-normalised CDFs with an exact 1.0 last column, as _pick relies on it."""
    width = max(len(r) for r in rows)
    probs = np.array([r + [0.0] * (width - len(r)) for r in rows])
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    return cum


def _pick(rng: np.random.Generator, cum: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Draw a category per row from its group's CDF with one searchsorted (no n x K temp)."""
    n_groups, width = cum.shape
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    return np.searchsorted(flat, groups + rng.random(groups.size), side="right") - groups * width


_COUNTRY_P = np.array([s.weight for s in _COUNTRY_SPEC.values()])
_CITY_OFFSET = np.cumsum([0] + [len(s.cities) for s in _COUNTRY_SPEC.values()])[:-1]
_CITY_CUM = _cumulative([[1.0 / (rank + 1) for rank in range(len(s.cities))] for s in _COUNTRY_SPEC.values()])
_CITY_LANG_CUM = _cumulative([
    [_CITY_LANGUAGE_OVERRIDE.get(city, spec.languages).get(lang, 0.0) for lang in LANGUAGES]
    for spec in _COUNTRY_SPEC.values() for city in spec.cities
])
_DIAL = pl.Series([s.dial for s in _COUNTRY_SPEC.values()])
_PHONE_LO = np.array([s.phone_lo for s in _COUNTRY_SPEC.values()], dtype=np.int64)
_PHONE_HI = np.array([s.phone_hi for s in _COUNTRY_SPEC.values()], dtype=np.int64)
_LOCAL_SHARE = np.array([s.local_share for s in _COUNTRY_SPEC.values()])
_LOCAL_DOMAIN_IDX = len(_GLOBAL_DOMAINS) + np.arange(len(COUNTRIES))
_GLOBAL_DOMAIN_P = np.array(list(_GLOBAL_DOMAINS.values())) / sum(_GLOBAL_DOMAINS.values())
_FIRST_SLUGS = pl.Series([_slug(x) for x in FIRST_NAMES])
_LAST_SLUGS = pl.Series([_slug(x) for x in LAST_NAMES])


def _lookup(name: str, values: tuple[str, ...] | pl.Series, idx: np.ndarray) -> pl.Series:
    """Codes -> strings in Rust; gather on a tiny Series beats building Python strings."""
    return pl.Series(name, values, dtype=pl.String).gather(idx)


def generate_profiles(n: int, seed: int = DEFAULT_SEED, now: datetime | None = None) -> pl.DataFrame:
    """Build n demo profiles; anchored to `now` (naive UTC) so relative dates stay stable."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    now = DEFAULT_NOW if now is None else now
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    now_us = (now - _EPOCH) // timedelta(microseconds=1)
    rng = np.random.default_rng(seed)

    country = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P)
    city = _CITY_OFFSET[country] + _pick(rng, _CITY_CUM, country)
    language = _pick(rng, _CITY_LANG_CUM, city)
    gender = rng.choice(len(GENDERS), size=n, p=_GENDER_P)
    # Female names for female, male names for male, either list for everyone else.
    n_female = len(FEMALE_FIRST_NAMES)
    name_lo = np.where(gender == 1, n_female, 0)
    name_span = np.where(gender == 0, n_female, np.where(gender == 1, len(MALE_FIRST_NAMES), len(FIRST_NAMES)))
    first = name_lo + (rng.random(n) * name_span).astype(np.int64)
    last = rng.integers(0, len(LAST_NAMES), n)
    age = np.clip(np.rint(rng.normal(38.0, 13.0, n)), 18, 90).astype(np.int16)
    tier = rng.choice(len(LOYALTY_TIERS), size=n, p=_TIER_P)
    ltv = np.round(rng.lognormal(np.log(_TIER_LTV_MEDIAN[tier]), 0.9), 2)

    # Beta(1, 1.8) has a falling density, so recent signups are the most frequent.
    signup_us = now_us - (rng.beta(1.0, 1.8, n) * _SIGNUP_SPAN_S).astype(np.int64) * _US_PER_S
    has_purchase = rng.random(n) >= _TIER_NO_PURCHASE[tier]
    tenure_s = (now_us - signup_us) // _US_PER_S
    purchase_us = signup_us + (rng.beta(_TIER_RECENCY_A[tier], 1.0) * tenure_s).astype(np.int64) * _US_PER_S

    has_email = rng.random(n) < _P_EMAIL
    has_phone = rng.random(n) < _P_PHONE
    # Opt-in rates are conditional on having the address so the overall rates hit the targets.
    email_opt_in = has_email & (rng.random(n) < _P_EMAIL_OPT / _P_EMAIL)
    sms_opt_in = has_phone & (rng.random(n) < _P_SMS_OPT / _P_PHONE)
    push_opt_in = rng.random(n) < _P_PUSH_OPT
    suppressed = rng.random(n) < _P_SUPPRESSED
    # A permutation of 1..n makes every local part unique without exposing profile_id.
    email_number = rng.permutation(n) + 1
    domain = np.where(rng.random(n) < _LOCAL_SHARE[country], _LOCAL_DOMAIN_IDX[country],
                      rng.choice(len(_GLOBAL_DOMAINS), size=n, p=_GLOBAL_DOMAIN_P))
    phone_number = rng.integers(_PHONE_LO[country], _PHONE_HI[country])

    raw = pl.DataFrame([
        pl.Series("profile_id", np.arange(1, n + 1, dtype=np.int64)),
        _lookup("first_name", FIRST_NAMES, first),
        _lookup("last_name", LAST_NAMES, last),
        _lookup("_first_slug", _FIRST_SLUGS, first),
        _lookup("_last_slug", _LAST_SLUGS, last),
        pl.Series("_email_number", email_number),
        _lookup("_domain", EMAIL_DOMAINS, domain),
        pl.Series("_has_email", has_email),
        _lookup("_dial", _DIAL, country),
        pl.Series("_phone_number", phone_number),
        pl.Series("_has_phone", has_phone),
        _lookup("country", COUNTRIES, country),
        _lookup("city", CITIES, city),
        _lookup("language", LANGUAGES, language),
        pl.Series("age", age),
        _lookup("gender", GENDERS, gender),
        _lookup("loyalty_tier", LOYALTY_TIERS, tier),
        pl.Series("lifetime_value", ltv),
        pl.Series("signup_at", signup_us.view("datetime64[us]")),
        pl.Series("_purchase_at", purchase_us.view("datetime64[us]")),
        pl.Series("_has_purchase", has_purchase),
        pl.Series("email_opt_in", email_opt_in),
        pl.Series("sms_opt_in", sms_opt_in),
        pl.Series("push_opt_in", push_opt_in),
        pl.Series("suppressed", suppressed),
    ])
    email = pl.concat_str(pl.col("_first_slug"), pl.lit("."), pl.col("_last_slug"),
                          pl.col("_email_number").cast(pl.String), pl.lit("@"), pl.col("_domain"))
    phone = pl.concat_str(pl.lit("+"), pl.col("_dial"), pl.col("_phone_number").cast(pl.String))
    return raw.select(
        "profile_id", "first_name", "last_name",
        pl.when(pl.col("_has_email")).then(email).alias("email"),
        pl.when(pl.col("_has_phone")).then(phone).alias("phone"),
        "country", "city", "language", "age", "gender", "loyalty_tier", "lifetime_value", "signup_at",
        pl.when(pl.col("_has_purchase")).then(pl.col("_purchase_at")).alias("last_purchase_at"),
        "email_opt_in", "sms_opt_in", "push_opt_in", "suppressed",
    )
