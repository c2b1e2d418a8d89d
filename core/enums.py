"""The closed vocabularies of the product contract (PRODUCT.md)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    ACTIVATING = "activating"
    SCHEDULED = "scheduled"
    LIVE = "live"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.DRAFT: "Draft",
    Status.IN_REVIEW: "In review",
    Status.ACTIVATING: "Activating",
    Status.SCHEDULED: "Scheduled",
    Status.LIVE: "Live",
    Status.STOPPED: "Stopped",
    Status.COMPLETED: "Completed",
    Status.FAILED: "Failed",
    Status.ARCHIVED: "Archived",
}

# What the campaign list shows before the user touches the status filter.
DEFAULT_LIST_STATUSES: tuple[Status, ...] = (Status.DRAFT, Status.SCHEDULED, Status.LIVE)


class CampaignType(StrEnum):
    SCHEDULED = "scheduled"
    API_TRIGGERED = "api_triggered"

    @property
    def label(self) -> str:
        return {"scheduled": "Scheduled", "api_triggered": "API-triggered"}[self.value]


class Purpose(StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"
    WEBHOOK = "webhook"

    @property
    def label(self) -> str:
        return {"email": "Email", "sms": "SMS", "push": "Push", "in_app": "In-app", "webhook": "Webhook"}[
            self.value
        ]


class Provider(StrEnum):
    SANDBOX = "sandbox"
    SMTP = "smtp"
    WEBHOOK = "webhook"


# Which providers can carry which channel: SMTP speaks only email, a webhook gateway anything.
PROVIDER_CHANNELS: dict[Provider, frozenset[Channel]] = {
    Provider.SANDBOX: frozenset(Channel),
    Provider.SMTP: frozenset({Channel.EMAIL}),
    Provider.WEBHOOK: frozenset({Channel.SMS, Channel.PUSH, Channel.IN_APP, Channel.WEBHOOK}),
}


class Recurrence(StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Role(StrEnum):
    VIEWER = "viewer"
    MANAGER = "manager"
    APPROVER = "approver"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Action(StrEnum):
    """Everything a person (or the scheduler) can do to a campaign."""

    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    MODIFY = "modify"
    DISCARD_DRAFT = "discard_draft"
    REQUEST_APPROVAL = "request_approval"
    CANCEL_REVIEW = "cancel_review"
    APPROVE = "approve"
    REJECT = "reject"
    ACTIVATE = "activate"
    STOP = "stop"
    DUPLICATE = "duplicate"
    ARCHIVE = "archive"
    DELETE = "delete"
    MANAGE_AUDIENCES = "manage_audiences"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    IMPORT_PROFILES = "import_profiles"
    MANAGE_CHANNELS = "manage_channels"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    VIEW_REPORTS = "view_reports"
    TRIGGER = "trigger"  # an API key's call to send an API-triggered campaign
    MANAGE_API_KEYS = "manage_api_keys"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.VIEW: "view",
    Action.CREATE: "create",
    Action.EDIT: "edit",
    Action.MODIFY: "modify (new version)",
    Action.DISCARD_DRAFT: "discard draft version",
    Action.REQUEST_APPROVAL: "request approval",
    Action.CANCEL_REVIEW: "cancel review",
    Action.APPROVE: "approve",
    Action.REJECT: "reject",
    Action.ACTIVATE: "activate",
    Action.STOP: "stop",
    Action.DUPLICATE: "duplicate",
    Action.ARCHIVE: "archive",
    Action.DELETE: "delete",
    Action.MANAGE_AUDIENCES: "create audiences",
    Action.SUPPRESS: "add to the suppression list",
    Action.UNSUPPRESS: "remove from the suppression list",
    Action.IMPORT_PROFILES: "import profiles",
    Action.MANAGE_CHANNELS: "manage channel configurations",
    Action.MANAGE_USERS: "manage users",
    Action.MANAGE_SETTINGS: "change workspace settings",
    Action.VIEW_REPORTS: "view reports",
    Action.TRIGGER: "trigger API campaigns",
    Action.MANAGE_API_KEYS: "manage API keys",
}
