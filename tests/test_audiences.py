"""Audience sizes, reach, overlap, uploads, profile imports and suppression, checked against
independent DuckDB SQL on generated profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pytest

from core.audiences import CHANNEL_NEEDS, match_upload
from core.enums import Channel, Role
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import User
from core.profile_import import ProfileFileRefused
from core.profiles import generate_profiles
from core.store import Store
from core.store import workspace_rows
from core.workspace import Workspace

NOW = datetime(2026, 11, 23, 9, 0)
N = 20_000


@pytest.fixture
def ws() -> Workspace:
    store = Store(":memory:")
    workspace = Workspace(store, clock=lambda: NOW)
    admin = workspace.add_user(None, "Ada Admin", "ada@herald.example", Role.ADMINISTRATOR)
    for name, email, role in (("Mia", "mia@herald.example", Role.MANAGER), ("Vera", "vera@herald.example", Role.VIEWER)):
        workspace.add_user(admin, name, email, role)
    workspace.replace_profiles(admin, generate_profiles(N, seed=7, now=NOW))
    return workspace


def user(ws: Workspace, role: Role) -> User:
    return next(u for u in ws.users() if u.role is role)


def sql_count(ws: Workspace, where: str, params: list[Any] | None = None) -> int:
    """Hand-written SQL: independent of core.segments and of the Polars path."""
    row = ws.store.cursor().execute(f"SELECT count(*) FROM profiles WHERE {where}", params or []).fetchall()
    return int(row[0][0])


RULES: list[tuple[dict[str, Any], str, list[Any]]] = [
    ({"match": "all", "rules": [{"attribute": "country", "operator": "in", "value": ["US", "CA"]}]},
     "country IN ('US', 'CA')", []),
    ({"match": "all", "rules": [{"attribute": "loyalty_tier", "operator": "in", "value": ["gold", "platinum"]},
                                {"attribute": "age", "operator": "between", "value": [25, 40]}]},
     "loyalty_tier IN ('gold', 'platinum') AND age BETWEEN 25 AND 40", []),
    ({"match": "any", "rules": [{"attribute": "lifetime_value", "operator": "gte", "value": 1000},
                                {"attribute": "city", "operator": "starts_with", "value": "par"}]},
     "lifetime_value >= 1000 OR lower(city) LIKE 'par%'", []),
    ({"match": "all", "rules": [{"attribute": "signup_at", "operator": "within_last_days", "value": 30}]},
     "signup_at >= ?", [datetime(2026, 10, 24, 9, 0)]),
    ({"match": "all", "rules": [{"attribute": "last_purchase_at", "operator": "more_than_days_ago", "value": 180},
                                {"attribute": "email", "operator": "is_not_empty"}]},
     "last_purchase_at < ? AND email IS NOT NULL AND email <> ''", [datetime(2026, 5, 27, 9, 0)]),
]


@pytest.mark.parametrize(("rule", "where", "params"), RULES)
def test_estimate_equals_sql(ws: Workspace, rule: dict[str, Any], where: str, params: list[Any]) -> None:
    expected = sql_count(ws, where, params)
    assert expected > 0
    assert ws.audiences.estimate(user(ws, Role.VIEWER), rule) == expected


@pytest.mark.parametrize(("rule", "where", "params"), RULES)
def test_reach_per_channel_equals_sql(ws: Workspace, rule: dict[str, Any], where: str, params: list[Any]) -> None:
    reach = {r.channel: r for r in ws.audiences.reach(user(ws, Role.VIEWER), rule)}
    base = f"({where})"
    size = sql_count(ws, base, params)
    suppressed = sql_count(ws, f"{base} AND suppressed", params)
    for channel, (address, consent) in CHANNEL_NEEDS.items():
        no_address = sql_count(ws, f"{base} AND NOT suppressed AND {address} IS NULL", params) if address else 0
        has = f" AND {address} IS NOT NULL" if address else ""
        no_consent = sql_count(ws, f"{base} AND NOT suppressed{has} AND NOT {consent}", params) if consent else 0
        r = reach[channel]
        assert (r.size, r.suppressed, r.no_address, r.no_consent) == (size, suppressed, no_address, no_consent)
        assert r.reachable == size - suppressed - no_address - no_consent
    assert reach[Channel.EMAIL].reachable == sql_count(
        ws, f"{base} AND NOT suppressed AND email IS NOT NULL AND email_opt_in", params
    )


def test_saved_audience_persists_size_reach_and_time(ws: Workspace) -> None:
    mia = user(ws, Role.MANAGER)
    saved = ws.audiences.create_from_rule(mia, "North America", "US and Canada", RULES[0][0])
    assert saved.size == sql_count(ws, "country IN ('US', 'CA')")
    assert saved.computed_at == NOW
    reach = ws.audiences.saved_reach(mia)[saved.id or 0]
    assert {r.channel for r in reach} == set(Channel)


def test_overlap_equals_sql(ws: Workspace) -> None:
    mia = user(ws, Role.MANAGER)
    a = ws.audiences.create_from_rule(mia, "NA", "", RULES[0][0])
    b = ws.audiences.create_from_rule(mia, "Top tiers", "", {"match": "all", "rules": [
        {"attribute": "loyalty_tier", "operator": "in", "value": ["gold", "platinum"]}]})
    frame = ws.audiences.overlap(mia, [a.id or 0, b.id or 0])
    shared = sql_count(ws, "country IN ('US', 'CA') AND loyalty_tier IN ('gold', 'platinum')")
    row = frame.filter((pl.col("audience") == "NA") & (pl.col("other") == "Top tiers")).row(0, named=True)
    assert row["shared"] == shared
    assert row["share_pct"] == round(100 * shared / (a.size or 1), 1)
    diagonal = frame.filter(pl.col("audience") == pl.col("other"))
    assert diagonal["share_pct"].to_list() == [100.0, 100.0]


def test_upload_reports_matched_unmatched_and_duplicates(ws: Workspace) -> None:
    mia = user(ws, Role.MANAGER)
    emails = ws.audiences.profiles().drop_nulls("email").head(3)["email"].to_list()
    data = ("email\n" + "\n".join([emails[0].upper(), emails[1], emails[1], "nobody@nowhere.example"])).encode()
    audience, report = ws.audiences.create_from_upload(mia, "Event list", "", data, "list.csv")
    assert (report.rows, report.matched, report.unmatched, report.duplicates) == (4, 2, 1, 1)
    assert report.unmatched_sample == ("nobody@nowhere.example",)
    assert audience.size == 2
    assert ws.audiences.reach(mia, audience.id or 0)[0].size == 2


def test_upload_by_profile_id_and_refusals(ws: Workspace) -> None:
    profiles = ws.audiences.profiles()
    ids, report = match_upload(profiles, b"profile_id\n1\n2\n999999999\n", "ids.csv")
    assert sorted(ids.to_list()) == [1, 2] and report.unmatched == 1 and report.matched_by == "profile_id"
    with pytest.raises(InvalidInput, match="neither profile ids nor email addresses"):
        match_upload(profiles, b"1\nabc\n", "ids.csv")
    before = len(ws.audiences.list(user(ws, Role.ADMINISTRATOR)))
    with pytest.raises(InvalidInput, match="none of the 1 value"):
        ws.audiences.create_from_upload(user(ws, Role.MANAGER), "Nobody", "", b"999999999\n", "x.csv")
    assert len(ws.audiences.list(user(ws, Role.ADMINISTRATOR))) == before


def test_bad_profile_file_changes_nothing(ws: Workspace) -> None:
    admin = user(ws, Role.ADMINISTRATOR)
    before = ws.store.cursor().sql("SELECT * FROM profiles ORDER BY profile_id").pl()
    data = b"profile_id,email,age,country\n1,new@herald.example,30,US\n2,bad-address,31,US\n3,c@herald.example,old,XX\n"
    with pytest.raises(ProfileFileRefused) as refused:
        ws.audiences.import_profiles(admin, data, "profiles.csv")
    problems = {(p.row, p.column) for p in refused.value.problems}
    assert problems == {(2, "email"), (3, "age"), (3, "country")}
    assert "row 2, column email: 'bad-address' is not an email address" in str(refused.value)
    assert ws.store.cursor().sql("SELECT * FROM profiles ORDER BY profile_id").pl().equals(before)


def test_good_profile_file_inserts_and_updates(ws: Workspace) -> None:
    admin = user(ws, Role.ADMINISTRATOR)
    size_before = ws.audiences.estimate(admin, RULES[0][0])
    data = f"profile_id,country,email_opt_in\n1,US,yes\n{N + 1},CA,no\n".encode()
    report = ws.audiences.import_profiles(admin, data, "profiles.csv")
    assert (report.rows, report.inserted, report.updated) == (2, 1, 1)
    row = ws.store.cursor().execute(
        "SELECT country::VARCHAR, email_opt_in, sms_opt_in, suppressed FROM profiles WHERE profile_id = ?", [N + 1]
    ).fetchall()
    assert row == [("CA", False, False, False)]
    assert ws.audiences.profiles().height == N + 1  # the cached frame followed the change
    assert ws.audiences.estimate(admin, RULES[0][0]) == sql_count(ws, "country IN ('US', 'CA')")
    assert ws.audiences.estimate(admin, RULES[0][0]) >= size_before


def test_parquet_import(ws: Workspace, tmp_path: Any) -> None:
    admin = user(ws, Role.ADMINISTRATOR)
    path = tmp_path / "p.parquet"
    pl.DataFrame({"profile_id": [N + 5], "age": [44], "loyalty_tier": ["gold"]}).write_parquet(path)
    report = ws.audiences.import_profiles(admin, path.read_bytes(), "p.parquet")
    assert report.inserted == 1
    assert sql_count(ws, "profile_id = ? AND age = 44 AND loyalty_tier = 'gold'", [N + 5]) == 1


def test_suppression_excludes_and_unsuppression_restores(ws: Workspace) -> None:
    mia, admin = user(ws, Role.MANAGER), user(ws, Role.ADMINISTRATOR)
    rule = {"match": "all", "rules": [{"attribute": "profile_id", "operator": "lte", "value": 50}]}
    target = ws.store.cursor().execute(
        "SELECT email FROM profiles WHERE profile_id <= 50 AND NOT suppressed AND email_opt_in "
        "AND email IS NOT NULL ORDER BY profile_id LIMIT 1"
    ).fetchall()[0][0]
    before = ws.audiences.reach(mia, rule)[0]
    assert ws.audiences.suppress(mia, "email", [target.upper()], "spam complaint") == 1
    after = ws.audiences.reach(mia, rule)[0]
    assert (after.suppressed, after.reachable) == (before.suppressed + 1, before.reachable - 1)
    with pytest.raises(PermissionDenied, match="Only Administrator may remove from the suppression list"):
        ws.audiences.unsuppress(mia, "email", target)
    ws.audiences.unsuppress(admin, "email", target)
    assert ws.audiences.reach(mia, rule)[0] == before
    with pytest.raises(NotFound):
        ws.audiences.unsuppress(admin, "email", target)


def test_suppression_refuses_bad_values_and_missing_reason(ws: Workspace) -> None:
    mia = user(ws, Role.MANAGER)
    with pytest.raises(InvalidInput, match="not a valid phone"):
        ws.audiences.suppress(mia, "phone", ["0612"], "asked")
    with pytest.raises(InvalidInput, match="say why"):
        ws.audiences.suppress(mia, "email", ["a@b.co"], "  ")
    assert ws.audiences.suppressions(mia).is_empty()


def test_rule_problems_are_reported_by_field(ws: Workspace) -> None:
    with pytest.raises(InvalidInput) as refused:
        ws.audiences.estimate(user(ws, Role.VIEWER), {"match": "all", "rules": [
            {"attribute": "shoe_size", "operator": "equals", "value": 42}]})
    assert "rules.0.attribute" in refused.value.problems


def test_viewer_may_look_but_not_create(ws: Workspace) -> None:
    vera = user(ws, Role.VIEWER)
    assert ws.audiences.estimate(vera, RULES[0][0]) > 0
    with pytest.raises(PermissionDenied, match="Only Manager, Approver or Administrator may create audiences"):
        ws.audiences.create_from_rule(vera, "Mine", "", RULES[0][0])
    assert workspace_rows.audiences(ws.store.cursor()) == []
