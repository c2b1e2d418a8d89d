"""Audiences: who a rule or an uploaded list selects, how many that is, and how many of them each
channel can actually reach after suppression, missing addresses and consent.

Everything is computed with Polars over the profile table held in memory; the frame is reloaded
only when the profiles (or the suppression list) change, which the store counts as a revision.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from core import roles
from core.clock import Clock, utc_now
from core.enums import Action, Channel
from core.errors import InvalidInput, NotFound
from core.models import Audience, Strict, User, parse
from core.profile_import import BOOLEAN_COLUMNS, ENUM_VALUES, read_profile_file, validate_profiles
from core.segments import Group, to_polars
from core.store import Store
from core.store import audience_rows as rows
from core.store import workspace_rows as ws

EXCLUSION_REASONS = ("suppressed", "no_address", "no_consent")
# (address column, consent column) per channel; None where the channel needs none.
CHANNEL_NEEDS: dict[Channel, tuple[str | None, str | None]] = {
    Channel.EMAIL: ("email", "email_opt_in"),
    Channel.SMS: ("phone", "sms_opt_in"),
    Channel.PUSH: (None, "push_opt_in"),
    Channel.IN_APP: (None, None),
    Channel.WEBHOOK: (None, None),
}
SUPPRESSION_KINDS = ("profile", "email", "phone")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class ChannelReach(Strict):
    """One channel's funnel for one audience: size → excluded by reason → reachable."""

    channel: Channel
    size: int
    suppressed: int
    no_address: int
    no_consent: int
    reachable: int

    @property
    def excluded(self) -> dict[str, int]:
        return {reason: getattr(self, reason) for reason in EXCLUSION_REASONS}


@dataclass(frozen=True)
class UploadReport:
    rows: int
    matched: int
    unmatched: int
    duplicates: int
    unmatched_sample: tuple[str, ...]
    matched_by: str


@dataclass(frozen=True)
class ImportReport:
    rows: int
    inserted: int
    updated: int


class _ProfileCache:
    """The profile frame for one store, reloaded when the profiles revision moves on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.revision: int | None = None
        self.frame: pl.DataFrame | None = None


_CACHES: dict[int, _ProfileCache] = {}
_CACHES_LOCK = threading.Lock()


class Audiences:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock
        with _CACHES_LOCK:
            self._cache = _CACHES.setdefault(id(store), _ProfileCache())

    # ---- the profile frame -----------------------------------------------------------------

    def profiles(self) -> pl.DataFrame:
        """Profiles with `suppressed` widened to the suppression list; cached per revision."""
        cur = self.store.cursor()
        revision = self.store.memo("profiles_revision", lambda: rows.profiles_revision(cur))
        cache = self._cache
        if cache.revision == revision and cache.frame is not None:
            return cache.frame
        with cache.lock:
            if cache.revision != revision or cache.frame is None:
                frame = rows.profiles_frame(cur, ENUM_VALUES)
                cache.frame = _with_suppressions(frame, rows.suppressions_frame(cur))
                cache.revision = revision
            return cache.frame

    # ---- reads --------------------------------------------------------------------------------

    def list(self, actor: User) -> list[Audience]:
        self._authorise(actor, Action.VIEW)
        return ws.audiences(self.store.cursor())

    def get(self, actor: User, audience_id: int) -> Audience:
        self._authorise(actor, Action.VIEW)
        return self._audience(audience_id)

    def saved_reach(self, actor: User) -> dict[int, list[ChannelReach]]:
        """The reach persisted with each audience's last size computation."""
        self._authorise(actor, Action.VIEW)
        return {
            audience_id: [ChannelReach.model_validate(r) for r in reach]
            for audience_id, reach in rows.reach_of(self.store.cursor()).items()
        }

    def estimate(self, actor: User, rule: Group | Mapping[str, Any]) -> int:
        """Live size of a rule being built: nothing is saved."""
        self._authorise(actor, Action.VIEW)
        return self.size_of(_rule(rule))

    def size_of(self, rule: Group) -> int:
        """How many profiles a rule selects (suppressed ones included: reach tells them apart)."""
        return int(self.profiles().select(to_polars(rule, self.clock()).sum()).item())

    def reach(self, actor: User, selection: Group | Mapping[str, Any] | int) -> list[ChannelReach]:
        """Per channel: size → excluded by reason → reachable, for a rule or a saved audience id."""
        self._authorise(actor, Action.VIEW)
        return channel_reach(self.profiles(), self.mask(selection))

    def overlap(self, actor: User, audience_ids: list[int]) -> pl.DataFrame:
        """Pairwise shared profiles: audience, other, shared, share of the audience (%)."""
        self._authorise(actor, Action.VIEW)
        audiences = [self._audience(i) for i in audience_ids]
        frame = self.profiles()
        masks = frame.select(self.mask(a.id or 0).alias(f"a{i}") for i, a in enumerate(audiences))
        pairs = masks.select(
            (pl.col(f"a{i}") & pl.col(f"a{j}")).sum().alias(f"{i}_{j}")
            for i in range(len(audiences))
            for j in range(len(audiences))
        ).row(0, named=True)
        sizes = {i: pairs[f"{i}_{i}"] for i in range(len(audiences))}
        return pl.DataFrame(
            [
                {
                    "audience": a.name,
                    "other": b.name,
                    "shared": int(pairs[f"{i}_{j}"]),
                    "share_pct": round(100.0 * pairs[f"{i}_{j}"] / sizes[i], 1) if sizes[i] else 0.0,
                }
                for i, a in enumerate(audiences)
                for j, b in enumerate(audiences)
            ],
            schema={"audience": pl.String, "other": pl.String, "shared": pl.Int64, "share_pct": pl.Float64},
        )

    def suppressions(self, actor: User) -> pl.DataFrame:
        self._authorise(actor, Action.VIEW)
        return rows.suppressions_frame(self.store.cursor())

    # ---- writes ---------------------------------------------------------------------------------

    def create_from_rule(
        self, actor: User, name: str, description: str, rule: Group | Mapping[str, Any]
    ) -> Audience:
        rule = _rule(rule)
        audience = parse(
            Audience, {"name": name, "description": description, "kind": "rules", "definition": _dump(rule)}
        )
        with self.store.transaction() as cur:
            user = self._authorise(actor, Action.MANAGE_AUDIENCES, cur)
            _check_name(cur, audience.name)
            saved = ws.insert_audience(cur, audience, self.clock(), user.id)
            assert saved.id is not None
            self._save_size(cur, saved.id, self.mask(rule))
        return self._audience(saved.id)

    def create_from_upload(
        self, actor: User, name: str, description: str, data: bytes, filename: str = "list.csv"
    ) -> tuple[Audience, UploadReport]:
        """An audience from a CSV of profile ids or email addresses; says what matched and what not."""
        self._authorise(actor, Action.MANAGE_AUDIENCES)
        audience = parse(Audience, {"name": name, "description": description, "kind": "upload"})
        ids, report = match_upload(self.profiles(), data, filename)
        if report.matched == 0:
            raise InvalidInput({"file": f"none of the {report.rows} value(s) matched a profile; nothing was created"})
        with self.store.transaction() as cur:
            user = self._authorise(actor, Action.MANAGE_AUDIENCES, cur)
            _check_name(cur, audience.name)
            saved = ws.insert_audience(
                cur,
                audience.model_copy(update={"definition": {"matched_by": report.matched_by, "rows": report.rows}}),
                self.clock(),
                user.id,
            )
            assert saved.id is not None
            rows.insert_members(cur, saved.id, ids)
            self._save_size(cur, saved.id, pl.col("profile_id").is_in(ids.implode()))
        return self._audience(saved.id), report

    def refresh(self, actor: User, audience_ids: list[int] | None = None) -> list[Audience]:
        """Recompute and persist sizes and reach (all audiences by default)."""
        self._authorise(actor, Action.VIEW)
        with self.store.transaction() as cur:
            targets = ws.audiences(cur) if audience_ids is None else [self._audience(i) for i in audience_ids]
            for audience in targets:
                assert audience.id is not None
                self._save_size(cur, audience.id, self.mask(audience.id))
        return self.list(actor)

    def import_profiles(self, actor: User, data: bytes, filename: str) -> ImportReport:
        """Add or update profiles from a CSV/Parquet file: all rows, or none if any cell is bad."""
        self._authorise(actor, Action.IMPORT_PROFILES)
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInput({"file": f"files up to {MAX_UPLOAD_BYTES // 2**20} MB; this one is larger"})
        frame = validate_profiles(read_profile_file(data, filename))
        with self.store.transaction() as cur:
            self._authorise(actor, Action.IMPORT_PROFILES, cur)
            inserted, updated = rows.upsert_profiles(cur, frame, {c: False for c in BOOLEAN_COLUMNS})
            rows.bump_profiles_revision(cur)
        self.refresh(actor)
        return ImportReport(rows=frame.height, inserted=inserted, updated=updated)

    def suppress(self, actor: User, kind: str, values: list[str], reason: str) -> int:
        """Put profiles or addresses on the suppression list: they never receive anything again."""
        cleaned = _suppression_values(kind, values)
        if not reason.strip():
            raise InvalidInput({"reason": "say why (e.g. 'asked to be forgotten', 'spam complaint')"})
        with self.store.transaction() as cur:
            user = self._authorise(actor, Action.SUPPRESS, cur)
            added = rows.add_suppressions(cur, kind, cleaned, reason.strip(), self.clock(), user.id)
            rows.bump_profiles_revision(cur)
        self.refresh(actor)
        return added

    def unsuppress(self, actor: User, kind: str, value: str) -> None:
        with self.store.transaction() as cur:
            self._authorise(actor, Action.UNSUPPRESS, cur)
            if not rows.remove_suppression(cur, kind, value.strip().lower() if kind == "email" else value.strip()):
                raise NotFound(f"{value!r} is not on the suppression list as a {kind}.")
            rows.bump_profiles_revision(cur)
        self.refresh(actor)

    # ---- machinery ------------------------------------------------------------------------------

    def _authorise(self, actor: User, action: Action, cur: Any = None) -> User:
        """Inside a write transaction read the user afresh; on reads, the memo of the users table."""
        if cur is None:
            users = self.store.memo("users", lambda: {u.id: u for u in ws.users(self.store.cursor())})
            user = users.get(actor.id)
        else:
            user = ws.user(cur, actor.id)
        return roles.require_user(user, actor, action)

    def _audience(self, audience_id: int) -> Audience:
        audience = ws.audience(self.store.cursor(), audience_id)
        if audience is None:
            raise NotFound(f"There is no audience {audience_id}.")
        return audience

    def mask(self, selection: Group | Mapping[str, Any] | int) -> pl.Expr:
        """Who a rule or a saved audience selects, as an expression over profiles()."""
        if not isinstance(selection, int):
            return to_polars(_rule(selection), self.clock())
        audience = self._audience(selection)
        if audience.kind == "upload":
            return pl.col("profile_id").is_in(rows.member_ids(self.store.cursor(), selection).implode())
        return to_polars(_rule(audience.definition), self.clock())

    def _save_size(self, cur: Any, audience_id: int, mask: pl.Expr) -> None:
        reach = channel_reach(self.profiles(), mask)
        size = reach[0].size if reach else 0
        rows.save_size(cur, audience_id, size, [r.model_dump(mode="json") for r in reach], self.clock())


def _lacks(channel: Channel) -> tuple[pl.Expr, pl.Expr]:
    """(no address, no consent) for `channel`, as expressions over the profile frame."""
    address, consent = CHANNEL_NEEDS[channel]
    no_address = pl.col(address).is_null() if address else pl.lit(False)
    no_consent = ~pl.col(consent).fill_null(False) if consent else pl.lit(False)
    return no_address, no_consent


def exclusion_reason(channel: Channel) -> pl.Expr:
    """Why a profile cannot get `channel` (first reason in EXCLUSION_REASONS order), else null.

    Runs use this per recipient; channel_reach counts the very same conditions.
    """
    no_address, no_consent = _lacks(channel)
    return (
        pl.when(pl.col("suppressed")).then(pl.lit("suppressed"))
        .when(no_address).then(pl.lit("no_address"))
        .when(no_consent).then(pl.lit("no_consent"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("reason")
    )


def channel_reach(profiles: pl.DataFrame, mask: pl.Expr) -> list[ChannelReach]:
    """One pass over the profiles for every channel's exclusion funnel (reasons in order)."""
    inside = mask.fill_null(False)
    suppressed = pl.col("suppressed")
    exprs: list[pl.Expr] = [inside.sum().alias("size"), (inside & suppressed).sum().alias("suppressed")]
    for channel in CHANNEL_NEEDS:
        no_address, no_consent = _lacks(channel)
        live = inside & ~suppressed
        exprs += [
            (live & no_address).sum().alias(f"{channel.value}:no_address"),
            (live & ~no_address & no_consent).sum().alias(f"{channel.value}:no_consent"),
        ]
    counts = profiles.select(exprs).row(0, named=True)
    result = []
    for channel in CHANNEL_NEEDS:
        no_address, no_consent = counts[f"{channel.value}:no_address"], counts[f"{channel.value}:no_consent"]
        result.append(
            ChannelReach(
                channel=channel,
                size=counts["size"],
                suppressed=counts["suppressed"],
                no_address=no_address,
                no_consent=no_consent,
                reachable=counts["size"] - counts["suppressed"] - no_address - no_consent,
            )
        )
    return result


def match_upload(profiles: pl.DataFrame, data: bytes, filename: str) -> tuple[pl.Series, UploadReport]:
    """Profile ids matched by a one-column CSV of profile ids or email addresses."""
    if not filename.lower().endswith((".csv", ".txt")):
        raise InvalidInput({"file": f"{filename} is not a CSV file"})
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema=False, has_header=False, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise InvalidInput({"file": f"{filename} could not be read as CSV ({exc})"}) from exc
    if raw.width != 1 or raw.is_empty():
        raise InvalidInput({"file": "expected one column of profile ids or email addresses, one per row"})
    values = raw.to_series().str.strip_chars().drop_nulls()
    header = (values[0] or "").lower() if values.len() else ""
    if header in ("profile_id", "id", "email", "email_address"):
        values = values.slice(1)
    values = values.filter(values != "")
    by_email = header.startswith("email") or bool(values.str.contains("@").any())
    if by_email:
        keys = values.str.to_lowercase()
        lookup = profiles.select(pl.col("email").alias("key"), "profile_id").drop_nulls("key")
    else:
        keys = values.cast(pl.Int64, strict=False)
        if keys.null_count():
            bad = values.filter(keys.is_null()).head(3).to_list()
            raise InvalidInput({"file": f"{', '.join(map(repr, bad))} are neither profile ids nor email addresses"})
        lookup = profiles.select(pl.col("profile_id").alias("key"), "profile_id")
    given = pl.DataFrame({"key": keys})
    unique = given.unique("key", maintain_order=True)
    joined = unique.join(lookup, on="key", how="left", maintain_order="left")
    matched = joined.get_column("profile_id").drop_nulls().unique()
    unmatched = joined.filter(pl.col("profile_id").is_null()).get_column("key").cast(pl.String)
    report = UploadReport(
        rows=given.height,
        matched=matched.len(),
        unmatched=unmatched.len(),
        duplicates=given.height - unique.height,
        unmatched_sample=tuple(unmatched.head(10).to_list()),
        matched_by="email" if by_email else "profile_id",
    )
    return matched, report


def _with_suppressions(profiles: pl.DataFrame, suppressions: pl.DataFrame) -> pl.DataFrame:
    """Suppressed = the profile's own flag, or its id, email or phone on the suppression list."""
    listed = {kind: suppressions.filter(pl.col("kind") == kind).get_column("value") for kind in SUPPRESSION_KINDS}
    ids = listed["profile"].cast(pl.Int64, strict=False).drop_nulls()
    return profiles.with_columns(
        (
            pl.col("suppressed")
            | pl.col("profile_id").is_in(ids.implode())
            | pl.col("email").is_in(listed["email"].implode()).fill_null(False)
            | pl.col("phone").is_in(listed["phone"].implode()).fill_null(False)
        ).alias("suppressed")
    )


def _suppression_values(kind: str, values: list[str]) -> list[str]:
    if kind not in SUPPRESSION_KINDS:
        raise InvalidInput({"kind": f"choose one of {', '.join(SUPPRESSION_KINDS)}"})
    cleaned = [v.strip().lower() if kind == "email" else v.strip() for v in values if v and v.strip()]
    if not cleaned:
        raise InvalidInput({"values": "give at least one value"})
    bad = {
        "profile": [v for v in cleaned if not v.isdigit()],
        "email": [v for v in cleaned if "@" not in v],
        "phone": [v for v in cleaned if not (v.startswith("+") and v[1:].isdigit())],
    }[kind]
    if bad:
        raise InvalidInput({"values": f"not a valid {kind}: {', '.join(bad[:5])}"})
    return cleaned


def _rule(rule: Group | Mapping[str, Any]) -> Group:
    return rule if isinstance(rule, Group) else parse(Group, dict(rule))


def _dump(rule: Group) -> dict[str, Any]:
    return rule.model_dump(mode="json")


def _check_name(cur: Any, name: str) -> None:
    if any(a.name.lower() == name.lower() for a in ws.audiences(cur)):
        raise InvalidInput({"name": f"an audience named {name!r} already exists"})
