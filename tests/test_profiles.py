"""Tests for the synthetic profile generator: contract (schema, determinism) and realism."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from core.profiles import (
    COUNTRIES,
    FEMALE_FIRST_NAMES,
    GENDERS,
    LANGUAGES,
    LOYALTY_TIERS,
    MALE_FIRST_NAMES,
    PROFILE_COLUMNS,
    generate_profiles,
)

N = 100_000
NOW = datetime(2026, 11, 23, 9, 0)

EXPECTED_SCHEMA: dict[str, pl.DataType] = {
    "profile_id": pl.Int64(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "email": pl.String(),
    "phone": pl.String(),
    "country": pl.String(),
    "city": pl.String(),
    "language": pl.String(),
    "age": pl.Int16(),
    "gender": pl.String(),
    "loyalty_tier": pl.String(),
    "lifetime_value": pl.Float64(),
    "signup_at": pl.Datetime("us"),
    "last_purchase_at": pl.Datetime("us"),
    "email_opt_in": pl.Boolean(),
    "sms_opt_in": pl.Boolean(),
    "push_opt_in": pl.Boolean(),
    "suppressed": pl.Boolean(),
}


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return generate_profiles(N, seed=7, now=NOW)


def _share(frame: pl.DataFrame, expr: pl.Expr) -> float:
    return float(frame.select(expr.cast(pl.Float64).mean()).item())


# --- determinism --------------------------------------------------------------------------


def test_same_inputs_give_identical_frames() -> None:
    assert generate_profiles(5_000, seed=1).equals(generate_profiles(5_000, seed=1))


def test_default_now_is_fixed() -> None:
    assert generate_profiles(1_000).equals(generate_profiles(1_000, now=NOW))


def test_different_seed_gives_different_frame() -> None:
    a, b = generate_profiles(5_000, seed=1), generate_profiles(5_000, seed=2)
    assert not a.equals(b)
    assert (a["email"] != b["email"]).sum() > 4_000


def test_dates_follow_now_anchor() -> None:
    later = datetime(2030, 1, 1)
    a, b = generate_profiles(2_000, now=NOW), generate_profiles(2_000, now=later)
    assert (b["signup_at"] - a["signup_at"]).unique().to_list() == [later - NOW]


# --- schema -------------------------------------------------------------------------------


def test_schema_exact(frame: pl.DataFrame) -> None:
    assert dict(frame.schema) == EXPECTED_SCHEMA
    assert list(frame.columns) == list(EXPECTED_SCHEMA)


def test_profile_columns_metadata_matches_frame(frame: pl.DataFrame) -> None:
    assert list(PROFILE_COLUMNS) == frame.columns
    assert set(PROFILE_COLUMNS.values()) <= {"int", "float", "string", "bool", "datetime", "enum"}
    for enum_col in ("country", "language", "gender", "loyalty_tier"):
        assert PROFILE_COLUMNS[enum_col] == "enum"


def test_empty_frame_keeps_schema() -> None:
    empty = generate_profiles(0)
    assert empty.height == 0
    assert dict(empty.schema) == EXPECTED_SCHEMA


def test_negative_n_rejected() -> None:
    with pytest.raises(ValueError):
        generate_profiles(-1)


def test_constants() -> None:
    assert GENDERS == ("female", "male", "non_binary", "unknown")
    assert LOYALTY_TIERS == ("none", "bronze", "silver", "gold", "platinum")
    assert len(set(COUNTRIES)) == len(COUNTRIES) and all(len(c) == 2 and c.isupper() for c in COUNTRIES)
    assert all(len(lang) == 2 and lang.islower() for lang in LANGUAGES)


# --- value domains ------------------------------------------------------------------------


def test_ids_are_one_to_n(frame: pl.DataFrame) -> None:
    assert frame["profile_id"].to_list() == list(range(1, N + 1))


def test_no_unexpected_nulls(frame: pl.DataFrame) -> None:
    nullable = {"email", "phone", "last_purchase_at"}
    nulls = frame.null_count().row(0, named=True)
    assert {c for c, k in nulls.items() if k} == nullable


def test_categorical_domains(frame: pl.DataFrame) -> None:
    assert set(frame["country"].unique()) <= set(COUNTRIES)
    assert set(frame["language"].unique()) <= set(LANGUAGES)
    assert set(frame["gender"].unique()) == set(GENDERS)
    assert set(frame["loyalty_tier"].unique()) == set(LOYALTY_TIERS)


def test_age_range(frame: pl.DataFrame) -> None:
    assert frame["age"].min() >= 18 and frame["age"].max() <= 90
    assert 35 <= frame["age"].mean() <= 41
    assert 10 <= frame["age"].std() <= 15


def test_first_names_match_gender(frame: pl.DataFrame) -> None:
    female = frame.filter(pl.col("gender") == "female")["first_name"]
    male = frame.filter(pl.col("gender") == "male")["first_name"]
    assert set(female.unique()) <= set(FEMALE_FIRST_NAMES)
    assert set(male.unique()) <= set(MALE_FIRST_NAMES)


def test_opt_ins_require_address(frame: pl.DataFrame) -> None:
    assert frame.filter(pl.col("email").is_null() & pl.col("email_opt_in")).height == 0
    assert frame.filter(pl.col("phone").is_null() & pl.col("sms_opt_in")).height == 0


def test_purchase_between_signup_and_now(frame: pl.DataFrame) -> None:
    bought = frame.filter(pl.col("last_purchase_at").is_not_null())
    assert (bought["last_purchase_at"] >= bought["signup_at"]).all()
    assert (bought["last_purchase_at"] <= NOW).all()
    assert frame["signup_at"].max() <= NOW
    assert frame["signup_at"].min() >= datetime(2020, 11, 1)


def test_recent_signups_more_frequent(frame: pl.DataFrame) -> None:
    years = frame["signup_at"].dt.year().value_counts().sort("signup_at")["count"].to_list()
    # Complete years 2021..2025 should grow monotonically.
    full_years = years[1:-1]
    assert full_years == sorted(full_years)


def test_emails_unique_lowercase_and_well_formed(frame: pl.DataFrame) -> None:
    emails = frame["email"].drop_nulls()
    assert emails.n_unique() == emails.len()
    assert (emails == emails.str.to_lowercase()).all()
    assert emails.str.contains(r"^[a-z]+\.[a-z]+[0-9]+@[a-z0-9-]+(\.[a-z0-9-]+)+$").all()


def test_email_local_part_matches_name(frame: pl.DataFrame) -> None:
    sample = frame.filter(pl.col("last_name") == "Smith", pl.col("email").is_not_null()).head(50)
    expected = pl.concat_str(pl.col("first_name").str.to_lowercase(), pl.lit(".smith"))
    ascii_names = sample.filter(pl.col("first_name").str.contains(r"^[A-Za-z]+$"))
    assert ascii_names.height > 0
    assert ascii_names.select(pl.col("email").str.starts_with(expected).all()).item()


def test_domain_mix_is_gmail_heavy(frame: pl.DataFrame) -> None:
    domains = frame["email"].drop_nulls().str.extract(r"@(.+)$")
    shares = domains.value_counts(normalize=True, sort=True)
    assert shares["email"][0] == "gmail.com"
    assert 0.35 <= shares["proportion"][0] <= 0.55
    assert {"outlook.com", "yahoo.com", "icloud.com", "proton.me", "web.de", "orange.fr"} <= set(domains)


def test_phones_e164_with_country_code(frame: pl.DataFrame) -> None:
    phones = frame.filter(pl.col("phone").is_not_null())
    assert phones["phone"].str.contains(r"^\+[1-9][0-9]{7,14}$").all()
    prefixes = {"US": "+1", "CA": "+1", "GB": "+44", "DE": "+49", "FR": "+33", "JP": "+81", "BR": "+55"}
    for country, prefix in prefixes.items():
        assert phones.filter(pl.col("country") == country)["phone"].str.starts_with(prefix).all(), country


def test_lifetime_value_has_two_decimals(frame: pl.DataFrame) -> None:
    ltv = frame["lifetime_value"]
    assert (ltv > 0).all()
    assert ((ltv * 100).round(0) - ltv * 100).abs().max() < 1e-6


# --- distributions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "lo", "hi"),
    [
        (pl.col("country") == "US", 0.27, 0.33),
        (pl.col("country") == "GB", 0.10, 0.14),
        (pl.col("country") == "IN", 0.01, 0.03),
        (pl.col("suppressed"), 0.01, 0.02),
        (pl.col("email").is_null(), 0.03, 0.05),
        (pl.col("phone").is_null(), 0.10, 0.14),
        (pl.col("last_purchase_at").is_null(), 0.21, 0.29),
        (pl.col("email_opt_in"), 0.65, 0.71),
        (pl.col("sms_opt_in"), 0.32, 0.38),
        (pl.col("push_opt_in"), 0.42, 0.48),
        (pl.col("gender") == "female", 0.47, 0.51),
        (pl.col("gender") == "non_binary", 0.01, 0.03),
        (pl.col("loyalty_tier") == "none", 0.38, 0.42),
        (pl.col("loyalty_tier") == "platinum", 0.02, 0.04),
    ],
)
def test_marginal_shares(frame: pl.DataFrame, expr: pl.Expr, lo: float, hi: float) -> None:
    assert lo <= _share(frame, expr) <= hi


def test_language_correlates_with_country(frame: pl.DataFrame) -> None:
    def lang_share(country: str, lang: str) -> float:
        sub = frame.filter(pl.col("country") == country)
        return _share(sub, pl.col("language") == lang)

    assert lang_share("DE", "de") > 0.9
    assert lang_share("JP", "ja") > 0.9
    assert lang_share("BR", "pt") > 0.9
    assert lang_share("US", "en") > 0.8
    assert 0.1 < lang_share("CA", "fr") < 0.35
    assert 0.05 < lang_share("NL", "en") < 0.35


def test_cities_belong_to_country_and_skew_to_biggest(frame: pl.DataFrame) -> None:
    per_city = frame.group_by("city").agg(pl.col("country").n_unique().alias("k"))
    assert (per_city["k"] == 1).all()
    for country, biggest in (("US", "New York"), ("GB", "London"), ("JP", "Tokyo")):
        counts = frame.filter(pl.col("country") == country)["city"].value_counts(sort=True)
        assert counts["city"][0] == biggest
        assert 3 <= counts.height <= 6


def test_ltv_median_increases_with_tier(frame: pl.DataFrame) -> None:
    medians = (
        frame.group_by("loyalty_tier")
        .agg(pl.col("lifetime_value").median())
        .sort(pl.col("loyalty_tier").replace_strict(LOYALTY_TIERS, list(range(len(LOYALTY_TIERS)))))
    )["lifetime_value"].to_list()
    assert medians == sorted(medians) and len(set(medians)) == len(medians)
    assert 25 <= medians[0] <= 60
    assert 2_000 <= medians[-1] <= 4_500


def test_tier_none_more_often_without_purchase(frame: pl.DataFrame) -> None:
    rates = frame.group_by("loyalty_tier").agg(pl.col("last_purchase_at").is_null().mean().alias("r"))
    rate = dict(zip(rates["loyalty_tier"], rates["r"]))
    assert rate["none"] > rate["bronze"] > rate["platinum"]
