"""Who may do what (PRODUCT.md, Roles). Checked inside every core action, never only in the UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.enums import Action, Role
from core.errors import PermissionDenied

if TYPE_CHECKING:
    from core.models import User

_V, _M, _AP, _AD = Role.VIEWER, Role.MANAGER, Role.APPROVER, Role.ADMINISTRATOR

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.VIEW: frozenset({_V, _M, _AP, _AD}),
    Action.CREATE: frozenset({_M, _AP, _AD}),
    Action.EDIT: frozenset({_M, _AP, _AD}),
    Action.MODIFY: frozenset({_M, _AP, _AD}),
    Action.DISCARD_DRAFT: frozenset({_M, _AP, _AD}),
    Action.REQUEST_APPROVAL: frozenset({_M, _AP, _AD}),
    Action.CANCEL_REVIEW: frozenset({_M, _AP, _AD}),
    Action.DUPLICATE: frozenset({_M, _AP, _AD}),
    Action.APPROVE: frozenset({_AP, _AD}),
    Action.REJECT: frozenset({_AP, _AD}),
    Action.ACTIVATE: frozenset({_AP, _AD}),
    Action.STOP: frozenset({_AP, _AD}),
    Action.ARCHIVE: frozenset({_AD}),
    Action.DELETE: frozenset({_AD}),
    Action.MANAGE_AUDIENCES: frozenset({_M, _AP, _AD}),
    Action.SUPPRESS: frozenset({_M, _AP, _AD}),
    Action.UNSUPPRESS: frozenset({_AD}),
    Action.IMPORT_PROFILES: frozenset({_AD}),
    Action.MANAGE_CHANNELS: frozenset({_AD}),
    Action.MANAGE_USERS: frozenset({_AD}),
    Action.MANAGE_SETTINGS: frozenset({_AD}),
    # PRODUCT.md: Viewers "see campaigns, audiences and reports"; Approvers may what Managers may "plus
    # ... view reports", so Managers may not; Administrators may everything.
    Action.VIEW_REPORTS: frozenset({_V, _AP, _AD}),
    # The REST API: a key acts with its own role. Triggering sends messages to named profiles, which
    # is content a Manager already prepares and an Approver/Administrator activated: Managers and up.
    Action.TRIGGER: frozenset({_M, _AP, _AD}),
    Action.MANAGE_API_KEYS: frozenset({_AD}),
}

_ROLE_ORDER = (_V, _M, _AP, _AD)


def may(role: Role | None, action: Action) -> bool:
    return role is not None and role in PERMISSIONS[action]


def require(role: Role | None, action: Action, who: str = "you") -> None:
    """Refuse with a message that names the roles that may act, so the user knows whom to ask."""
    if role is None:
        subject = "You have" if who == "you" else f"{who} has"
        raise PermissionDenied(f"{subject} no campaign role: ask an Administrator for one to {action.label}.")
    if role not in PERMISSIONS[action]:
        allowed = [r.label for r in _ROLE_ORDER if r in PERMISSIONS[action]]
        names = allowed[0] if len(allowed) == 1 else ", ".join(allowed[:-1]) + " or " + allowed[-1]
        raise PermissionDenied(f"Only {names} may {action.label}; {who} {'are' if who == 'you' else 'is'} {role.label}.")


def require_user(found: User | None, actor: User, action: Action) -> User:
    """`actor` as the users table has them now (`found`; None: removed), allowed to do `action`: a
    role changed or taken away since sign-in counts at once."""
    if found is None:
        raise PermissionDenied(f"{actor.name} is not a user of this workspace.")
    require(found.role, action)
    return found
