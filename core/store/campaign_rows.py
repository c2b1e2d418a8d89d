"""SQL for campaigns, their versions and their audit trail. Every function runs on a given cursor,
so a service can put several of them in one transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from core.enums import Status
from core.errors import StaleRevision
from core.models import AuditEntry, Campaign, CampaignSpec
from core.store.connection import first

Cursor = duckdb.DuckDBPyConnection

_VERSION_COLUMNS = (
    "name, description, tags, type, purpose, channel, channel_config_id, audience_id, content, schedule"
)


def insert_campaign(cur: Cursor, *, status: Status, at: datetime, by: int, duplicated_from: int | None) -> int:
    row = first(cur.execute(
        """INSERT INTO campaigns (status, revision, live_version, draft_version, created_at, created_by,
                                  updated_at, updated_by, duplicated_from)
           VALUES (?, 1, NULL, 1, ?, ?, ?, ?, ?) RETURNING id""",
        [status.value, at, by, at, by, duplicated_from],
    ).fetchall())
    assert row is not None
    return int(row[0])


def _version_values(spec: CampaignSpec) -> list[Any]:
    schedule = spec.schedule
    return [
        spec.name,
        spec.description,
        list(spec.tags),
        spec.type.value,
        spec.purpose.value,
        spec.channel.value,
        spec.channel_config_id,
        spec.audience_id,
        spec.content.model_dump_json() if spec.content else None,
        schedule.model_dump_json() if schedule else None,
        schedule.start_utc() if schedule else None,
        schedule.end_utc() if schedule else None,
    ]


def insert_version(cur: Cursor, campaign_id: int, version: int, spec: CampaignSpec, at: datetime, by: int) -> None:
    cur.execute(
        f"""INSERT INTO campaign_versions (campaign_id, version, {_VERSION_COLUMNS}, starts_at_utc, ends_at_utc,
                                           created_at, created_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [campaign_id, version, *_version_values(spec), at, by],
    )


def update_version(cur: Cursor, campaign_id: int, version: int, spec: CampaignSpec) -> None:
    assignments = ", ".join(f"{col.strip()} = ?" for col in _VERSION_COLUMNS.split(","))
    cur.execute(
        f"""UPDATE campaign_versions SET {assignments}, starts_at_utc = ?, ends_at_utc = ?
            WHERE campaign_id = ? AND version = ?""",
        [*_version_values(spec), campaign_id, version],
    )


def mark_version_activated(cur: Cursor, campaign_id: int, version: int, at: datetime, by: int) -> None:
    cur.execute(
        "UPDATE campaign_versions SET activated_at = ?, activated_by = ? WHERE campaign_id = ? AND version = ?",
        [at, by, campaign_id, version],
    )


def max_version(cur: Cursor, campaign_id: int) -> int:
    row = first(cur.execute("SELECT max(version) FROM campaign_versions WHERE campaign_id = ?", [campaign_id]).fetchall())
    return int(row[0]) if row and row[0] is not None else 0


def update_campaign(cur: Cursor, campaign_id: int, expected_revision: int, **fields: Any) -> int:
    """Write `fields` only if nobody changed the campaign since `expected_revision`; returns the new one."""
    values = [v.value if isinstance(v, Status) else v for v in fields.values()]
    assignments = "".join(f"{name} = ?, " for name in fields)
    row = first(cur.execute(
        f"UPDATE campaigns SET {assignments}revision = revision + 1 WHERE id = ? AND revision = ? RETURNING revision",
        [*values, campaign_id, expected_revision],
    ).fetchall())
    if row is None:
        raise StaleRevision(f"Campaign {campaign_id} changed while saving (expected revision {expected_revision}).")
    return int(row[0])


def delete_campaign(cur: Cursor, campaign_id: int) -> None:
    cur.execute("DELETE FROM campaign_versions WHERE campaign_id = ?", [campaign_id])
    cur.execute("DELETE FROM campaigns WHERE id = ?", [campaign_id])


def _spec(row: dict[str, Any]) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": row["name"],
            "description": row["description"],
            "tags": row["tags"],
            "type": row["type"],
            "purpose": row["purpose"],
            "channel": row["channel"],
            "channel_config_id": row["channel_config_id"],
            "audience_id": row["audience_id"],
            "content": json.loads(row["content"]) if row["content"] else None,
            "schedule": json.loads(row["schedule"]) if row["schedule"] else None,
        }
    )


def fetch_campaign(cur: Cursor, campaign_id: int) -> Campaign | None:
    found = _fetch_where(cur, "c.id = ?", [campaign_id])
    return found[0] if found else None


def fetch_campaigns_with_status(cur: Cursor, statuses: tuple[Status, ...]) -> list[Campaign]:
    marks = ", ".join("?" for _ in statuses)
    return _fetch_where(cur, f"c.status IN ({marks})", [s.value for s in statuses])


def _fetch_where(cur: Cursor, where: str, params: list[Any]) -> list[Campaign]:
    """Campaigns with their current and open-draft specs, in two queries whatever their number."""
    heads = cur.sql(
        f"SELECT c.*, c.status::VARCHAR AS status, c.draft_state::VARCHAR AS draft_state FROM campaigns c "
        f"WHERE {where} ORDER BY c.id",
        params=params,
    ).to_dicts()
    if not heads:
        return []
    specs = {
        (v["campaign_id"], v["version"]): _spec(v)
        for v in cur.sql(
            f"""SELECT v.campaign_id, v.version, {_prefixed("v.")} FROM campaign_versions v
                JOIN campaigns c ON c.id = v.campaign_id AND v.version IN (c.live_version, c.draft_version)
                WHERE {where}""",
            params=params,
        ).to_dicts()
    }
    return [_campaign(row, specs) for row in heads]


def version_spec(cur: Cursor, campaign_id: int, version: int) -> CampaignSpec | None:
    rows = cur.sql(
        f"SELECT {_VERSION_COLUMNS} FROM campaign_versions WHERE campaign_id = ? AND version = ?",
        params=[campaign_id, version],
    ).to_dicts()
    return _spec(rows[0]) if rows else None


def _prefixed(prefix: str) -> str:
    return ", ".join(prefix + col.strip() for col in _VERSION_COLUMNS.split(","))


def _campaign(row: dict[str, Any], specs: dict[tuple[int, int], CampaignSpec]) -> Campaign:
    live, draft = row["live_version"], row["draft_version"]
    current = live if live is not None else draft
    return Campaign(
        id=row["id"],
        status=row["status"],
        revision=row["revision"],
        spec=specs[(row["id"], current)],
        version=current,
        live_version=live,
        draft_version=draft,
        draft_spec=specs[(row["id"], draft)] if live is not None and draft is not None else None,
        draft_in_review=row["draft_state"] == "in_review",
        review_requested_by=row["review_requested_by"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        activated_at=row["activated_at"],
        live_at=row["live_at"],
        ended_at=row["ended_at"],
        failure_reason=row["failure_reason"],
        duplicated_from=row["duplicated_from"],
    )


def name_holder(cur: Cursor, name: str, exclude_id: int | None) -> tuple[int, str] | None:
    """The non-archived campaign (other than `exclude_id`) whose current or draft version has `name`."""
    row = first(cur.execute(
        """SELECT c.id, c.status::VARCHAR FROM campaigns c
           JOIN campaign_versions v ON v.campaign_id = c.id AND v.version IN (c.live_version, c.draft_version)
           WHERE c.status <> 'archived' AND lower(v.name) = lower(?) AND c.id IS DISTINCT FROM ?
           LIMIT 1""",
        [name, exclude_id],
    ).fetchall())
    return (int(row[0]), str(row[1])) if row else None


def names_like(cur: Cursor, prefix: str) -> set[str]:
    rows = cur.execute(
        "SELECT lower(name) FROM campaign_versions WHERE lower(name) LIKE lower(?) || '%' ESCAPE '\\'",
        [prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")],
    ).fetchall()
    return {r[0] for r in rows}


def add_audit(
    cur: Cursor,
    campaign_id: int,
    version: int | None,
    at: datetime,
    actor_id: int | None,
    action: str,
    from_status: Status | None,
    to_status: Status | None,
    detail: str | None = None,
) -> None:
    cur.execute(
        """INSERT INTO audit_log (campaign_id, version, occurred_at, actor_id, action, from_status, to_status, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            campaign_id,
            version,
            at,
            actor_id,
            action,
            from_status.value if from_status else None,
            to_status.value if to_status else None,
            detail,
        ],
    )


def audit_trail(cur: Cursor, campaign_id: int) -> list[AuditEntry]:
    rows = cur.sql(
        """SELECT a.id, a.campaign_id, a.version, a.occurred_at AS at, a.actor_id,
                  coalesce(u.name, 'Herald scheduler') AS actor_name, a.action,
                  a.from_status::VARCHAR AS from_status, a.to_status::VARCHAR AS to_status, a.detail
           FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
           WHERE a.campaign_id = ? ORDER BY a.id""",
        params=[campaign_id],
    ).to_dicts()
    return [AuditEntry.model_validate(r) for r in rows]


def versions_frame(cur: Cursor, campaign_id: int) -> pl.DataFrame:
    return cur.sql(
        """SELECT v.version, v.name, v.created_at, cu.name AS created_by, v.activated_at, au.name AS activated_by
           FROM campaign_versions v
           LEFT JOIN users cu ON cu.id = v.created_by LEFT JOIN users au ON au.id = v.activated_by
           WHERE v.campaign_id = ? ORDER BY v.version""",
        params=[campaign_id],
    ).pl()


def list_frame(cur: Cursor) -> pl.DataFrame:
    """One row per campaign, as the campaign list shows it (current version's properties)."""
    return cur.sql(
        """SELECT c.id, v.name, c.status::VARCHAR AS status, v.type::VARCHAR AS type,
                  v.purpose::VARCHAR AS purpose, v.channel::VARCHAR AS channel,
                  cc.name AS channel_config, a.name AS audience, v.tags,
                  v.starts_at_utc, v.ends_at_utc,
                  json_extract_string(v.schedule, '$.recurrence') AS recurrence,
                  c.created_at, cb.name AS created_by, c.updated_at, coalesce(ub.name, 'Herald scheduler') AS updated_by,
                  (c.status IN ('live', 'scheduled') AND c.draft_version IS NOT NULL) AS open_draft,
                  c.draft_state::VARCHAR AS draft_state, c.revision, coalesce(c.live_version, c.draft_version) AS version
           FROM campaigns c
           JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = coalesce(c.live_version, c.draft_version)
           LEFT JOIN audiences a ON a.id = v.audience_id
           LEFT JOIN channel_configs cc ON cc.id = v.channel_config_id
           LEFT JOIN users cb ON cb.id = c.created_by
           LEFT JOIN users ub ON ub.id = c.updated_by
           ORDER BY c.id"""
    ).pl()
