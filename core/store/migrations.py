"""Numbered schema migrations. Never edit one that has shipped: add the next number."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


_STATUSES = "'draft', 'in_review', 'activating', 'scheduled', 'live', 'stopped', 'completed', 'failed', 'archived'"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "campaigns, versions, audit trail, users, channel configurations, audiences",
        f"""
        CREATE TYPE campaign_status AS ENUM ({_STATUSES});
        CREATE TYPE campaign_type AS ENUM ('scheduled', 'api_triggered');
        CREATE TYPE campaign_purpose AS ENUM ('marketing', 'transactional');
        CREATE TYPE channel AS ENUM ('email', 'sms', 'push', 'in_app', 'webhook');
        CREATE TYPE provider AS ENUM ('sandbox', 'smtp', 'webhook');
        CREATE TYPE user_role AS ENUM ('viewer', 'manager', 'approver', 'administrator');
        CREATE TYPE draft_state AS ENUM ('editing', 'in_review');

        CREATE TABLE settings (key VARCHAR PRIMARY KEY, value JSON NOT NULL);
        INSERT INTO settings VALUES ('approval_required', 'true');

        CREATE SEQUENCE user_ids START 1;
        CREATE TABLE users (
            id INTEGER PRIMARY KEY DEFAULT nextval('user_ids'),
            name VARCHAR NOT NULL,
            email VARCHAR NOT NULL UNIQUE,
            role user_role,
            created_at TIMESTAMP NOT NULL
        );

        CREATE SEQUENCE channel_config_ids START 1;
        CREATE TABLE channel_configs (
            id INTEGER PRIMARY KEY DEFAULT nextval('channel_config_ids'),
            name VARCHAR NOT NULL UNIQUE,
            channel channel NOT NULL,
            provider provider NOT NULL,
            sender_name VARCHAR NOT NULL,
            sender_address VARCHAR NOT NULL,
            reply_to VARCHAR,
            throttle_per_second INTEGER NOT NULL CHECK (throttle_per_second > 0),
            tracking BOOLEAN NOT NULL,
            enabled BOOLEAN NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );

        CREATE SEQUENCE audience_ids START 1;
        CREATE TABLE audiences (
            id INTEGER PRIMARY KEY DEFAULT nextval('audience_ids'),
            name VARCHAR NOT NULL UNIQUE,
            description VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            definition JSON NOT NULL,
            size BIGINT,
            computed_at TIMESTAMP,
            created_at TIMESTAMP NOT NULL,
            created_by INTEGER NOT NULL
        );

        CREATE SEQUENCE campaign_ids START 1;
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY DEFAULT nextval('campaign_ids'),
            status campaign_status NOT NULL,
            revision INTEGER NOT NULL,
            live_version INTEGER,
            draft_version INTEGER,
            draft_state draft_state,
            review_requested_by INTEGER,
            created_at TIMESTAMP NOT NULL,
            created_by INTEGER NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            updated_by INTEGER,
            activated_at TIMESTAMP,
            live_at TIMESTAMP,
            ended_at TIMESTAMP,
            failure_reason VARCHAR,
            duplicated_from INTEGER
        );

        CREATE TABLE campaign_versions (
            campaign_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            description VARCHAR NOT NULL,
            tags VARCHAR[] NOT NULL,
            type campaign_type NOT NULL,
            purpose campaign_purpose NOT NULL,
            channel channel NOT NULL,
            channel_config_id INTEGER,
            audience_id INTEGER,
            content JSON,
            schedule JSON,
            starts_at_utc TIMESTAMP,
            ends_at_utc TIMESTAMP,
            created_at TIMESTAMP NOT NULL,
            created_by INTEGER NOT NULL,
            activated_at TIMESTAMP,
            activated_by INTEGER,
            PRIMARY KEY (campaign_id, version)
        );

        CREATE SEQUENCE audit_ids START 1;
        CREATE TABLE audit_log (
            id BIGINT PRIMARY KEY DEFAULT nextval('audit_ids'),
            campaign_id INTEGER NOT NULL,
            version INTEGER,
            occurred_at TIMESTAMP NOT NULL,
            actor_id INTEGER,
            action VARCHAR NOT NULL,
            from_status campaign_status,
            to_status campaign_status,
            detail VARCHAR
        );
        CREATE INDEX audit_by_campaign ON audit_log (campaign_id);
        """,
    ),
    Migration(
        2,
        "profiles with typed, enumerated attributes",
        """
        CREATE TYPE country_code AS ENUM ('US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'CA', 'BR', 'AU', 'SE', 'JP', 'IN');
        CREATE TYPE language_code AS ENUM ('en', 'es', 'de', 'fr', 'it', 'nl', 'pt', 'sv', 'ja', 'hi');
        CREATE TYPE gender AS ENUM ('female', 'male', 'non_binary', 'unknown');
        CREATE TYPE loyalty_tier AS ENUM ('none', 'bronze', 'silver', 'gold', 'platinum');
        CREATE TABLE profiles (
            profile_id BIGINT PRIMARY KEY,
            first_name VARCHAR,
            last_name VARCHAR,
            email VARCHAR,
            phone VARCHAR,
            country country_code,
            city VARCHAR,
            language language_code,
            age SMALLINT,
            gender gender,
            loyalty_tier loyalty_tier,
            lifetime_value DOUBLE,
            signup_at TIMESTAMP,
            last_purchase_at TIMESTAMP,
            email_opt_in BOOLEAN NOT NULL,
            sms_opt_in BOOLEAN NOT NULL,
            push_opt_in BOOLEAN NOT NULL,
            suppressed BOOLEAN NOT NULL
        );
        """,
    ),
    Migration(
        3,
        "suppression list, uploaded audience members, audience reach",
        """
        CREATE TYPE suppression_kind AS ENUM ('profile', 'email', 'phone');
        CREATE TABLE suppressions (
            kind suppression_kind NOT NULL,
            value VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL,
            added_by INTEGER,
            PRIMARY KEY (kind, value)
        );
        CREATE TABLE audience_members (
            audience_id INTEGER NOT NULL,
            profile_id BIGINT NOT NULL,
            PRIMARY KEY (audience_id, profile_id)
        );
        ALTER TABLE audiences ADD COLUMN reach JSON;
        INSERT INTO settings VALUES ('profiles_revision', '0');
        """,
    ),
    Migration(
        4,
        "runs and delivery events",
        """
        CREATE TYPE run_status AS ENUM ('pending', 'running', 'finished', 'failed');
        CREATE TYPE delivery_event AS ENUM (
            'excluded', 'sent', 'error', 'delivered', 'bounced', 'opened', 'clicked', 'unsubscribed', 'complained'
        );
        CREATE TYPE bounce_kind AS ENUM ('hard', 'soft');
        CREATE SEQUENCE run_ids START 1;
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY DEFAULT nextval('run_ids'),
            campaign_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            channel channel NOT NULL,
            due_at TIMESTAMP NOT NULL,
            status run_status NOT NULL,
            created_at TIMESTAMP NOT NULL,
            started_at TIMESTAMP,
            finished_at TIMESTAMP,
            total BIGINT,
            processed BIGINT NOT NULL DEFAULT 0,
            failure_reason VARCHAR,
            UNIQUE (campaign_id, due_at)
        );
        CREATE TABLE delivery_events (
            run_id INTEGER NOT NULL,
            campaign_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            profile_id BIGINT NOT NULL,
            channel channel NOT NULL,
            event delivery_event NOT NULL,
            bounce bounce_kind,
            reason VARCHAR,
            occurred_at TIMESTAMP NOT NULL
        );
        """,
    ),
    Migration(
        5,
        "provider settings on channel configurations; secrets kept apart",
        """
        ALTER TABLE channel_configs ADD COLUMN settings JSON;
        CREATE TABLE secrets (
            owner VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (owner, name)
        );
        """,
    ),
    Migration(
        6,
        "API keys (hashed), API-triggered runs, idempotency records",
        """
        CREATE SEQUENCE api_key_ids START 1;
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY DEFAULT nextval('api_key_ids'),
            name VARCHAR NOT NULL,
            role user_role NOT NULL,
            prefix VARCHAR NOT NULL UNIQUE,
            key_hash VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by INTEGER NOT NULL,
            revoked_at TIMESTAMP,
            revoked_by INTEGER
        );
        ALTER TABLE runs ADD COLUMN api_key_id INTEGER;
        CREATE TABLE api_triggers (
            api_key_id INTEGER NOT NULL,
            campaign_id INTEGER NOT NULL,
            idempotency_key VARCHAR NOT NULL,
            request_hash VARCHAR NOT NULL,
            run_id INTEGER,
            response JSON NOT NULL,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (api_key_id, campaign_id, idempotency_key)
        );
        """,
    ),
)
