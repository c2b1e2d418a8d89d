"""Who may do what (PRODUCT.md, Roles), checked in core/roles.py and by every service action."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from core import roles
from core.enums import Action, Channel, Role, Status
from core.errors import InvalidInput, PermissionDenied
from core.lifecycle import DraftState
from core.models import User
from factories import World, dump, make, set_role, spec, world  # noqa: F401  (world is a fixture)

A = Action
MANAGER_MAY = {
    A.VIEW, A.CREATE, A.EDIT, A.MODIFY, A.DISCARD_DRAFT, A.REQUEST_APPROVAL, A.CANCEL_REVIEW, A.DUPLICATE,
    A.MANAGE_AUDIENCES, A.SUPPRESS, A.TRIGGER,  # an API key with a Manager's role may trigger (core/roles.py)
}
ROLE_MAY: dict[Role, set[Action]] = {
    Role.VIEWER: {A.VIEW, A.VIEW_REPORTS},  # "see campaigns, audiences and reports"
    Role.MANAGER: MANAGER_MAY,
    Role.APPROVER: MANAGER_MAY | {A.APPROVE, A.REJECT, A.ACTIVATE, A.STOP, A.VIEW_REPORTS},  # "plus ... view reports"
    Role.ADMINISTRATOR: set(Action),
}


def refusal(action: Action, role: Role) -> str:
    """The message PRODUCT.md wants: the roles that may act (whom to ask), and the actor's role."""
    may = [r.label for r in Role if action in ROLE_MAY[r]]
    names = may[0] if len(may) == 1 else ", ".join(may[:-1]) + " or " + may[-1]
    return f"Only {names} may {action.label}; you are {role.label}."


# ---- the pure table -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_may_follows_the_product_table(role: Role, action: Action) -> None:
    assert roles.may(role, action) is (action in ROLE_MAY[role])


@pytest.mark.parametrize("action", list(Action))
def test_no_role_may_do_nothing(action: Action) -> None:
    assert roles.may(None, action) is False
    with pytest.raises(PermissionDenied, match="no campaign role: ask an Administrator"):
        roles.require(None, action)


@pytest.mark.parametrize(
    ("role", "action", "message"),
    [
        (Role.MANAGER, A.ACTIVATE, "Only Approver or Administrator may activate; you are Manager."),
        (Role.VIEWER, A.CREATE, "Only Manager, Approver or Administrator may create; you are Viewer."),
        (Role.APPROVER, A.DELETE, "Only Administrator may delete; you are Approver."),
        (Role.MANAGER, A.MANAGE_CHANNELS, "Only Administrator may manage channel configurations; you are Manager."),
    ],
)
def test_refusal_names_who_may(role: Role, action: Action, message: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        roles.require(role, action)
    assert str(refused.value) == message


def test_refusal_names_the_other_person() -> None:
    with pytest.raises(PermissionDenied, match=r"^Only Administrator may archive; Mia is Manager\.$"):
        roles.require(Role.MANAGER, A.ARCHIVE, who="Mia")


def test_no_role_message_is_grammatical() -> None:
    with pytest.raises(PermissionDenied, match=r"^You have no campaign role"):
        roles.require(None, A.VIEW)


# ---- every service action, for every role ------------------------------------------------------

Attempt = Callable[[User], object]


def _campaign_attempt(w: World, action: Action) -> Attempt:
    svc = w.svc
    match action:
        case A.VIEW:
            c = make(w, Status.DRAFT)
            return lambda u: (svc.get(u, c.id), svc.list_frame(u), svc.audit_trail(u, c.id), svc.versions(u, c.id))
        case A.CREATE:
            return lambda u: svc.create(u, spec(w))
        case A.EDIT:
            c = make(w, Status.DRAFT)
            return lambda u: svc.edit(u, c.id, c.revision, spec(w, name="Renamed"))
        case A.MODIFY:
            c = make(w, Status.LIVE)
            return lambda u: svc.modify(u, c.id, c.revision)
        case A.DISCARD_DRAFT:
            c = make(w, Status.LIVE, DraftState.EDITING)
            return lambda u: svc.discard_draft(u, c.id, c.revision)
        case A.REQUEST_APPROVAL:
            c = make(w, Status.DRAFT)
            return lambda u: svc.request_approval(u, c.id, c.revision)
        case A.CANCEL_REVIEW:
            c = make(w, Status.IN_REVIEW)
            return lambda u: svc.cancel_review(u, c.id, c.revision)
        case A.APPROVE:
            c = make(w, Status.IN_REVIEW)
            return lambda u: svc.approve(u, c.id, c.revision)
        case A.REJECT:
            c = make(w, Status.IN_REVIEW)
            return lambda u: svc.reject(u, c.id, c.revision, "Off-brand subject")
        case A.ACTIVATE:
            w.approval_off()
            c = make(w, Status.DRAFT)
            return lambda u: svc.activate(u, c.id, c.revision)
        case A.STOP:
            c = make(w, Status.LIVE)
            return lambda u: svc.stop(u, c.id, c.revision, "Budget")
        case A.DUPLICATE:
            c = make(w, Status.LIVE)
            return lambda u: svc.duplicate(u, c.id)
        case A.ARCHIVE:
            c = make(w, Status.LIVE)
            return lambda u: svc.archive(u, c.id, c.revision)
        case A.DELETE:
            c = make(w, Status.DRAFT)
            return lambda u: svc.delete(u, c.id, c.revision)
    raise AssertionError(action)


WORKSPACE_ATTEMPTS: dict[str, tuple[Action, Callable[[World], Attempt]]] = {
    "add_channel_config": (
        A.MANAGE_CHANNELS,
        lambda w: lambda u: w.ws.add_channel_config(
            u, {"name": "Email · promo", "channel": "email", "sender_address": "promo@herald.example"}
        ),
    ),
    "set_channel_config_enabled": (
        A.MANAGE_CHANNELS,
        lambda w: lambda u: w.ws.set_channel_config_enabled(u, w.configs[Channel.EMAIL].id or 0, False),
    ),
    "set_approval_required": (A.MANAGE_SETTINGS, lambda w: lambda u: w.ws.set_approval_required(u, False)),
    "add_user": (A.MANAGE_USERS, lambda w: lambda u: w.ws.add_user(u, "Nina New", "nina@herald.example", Role.VIEWER)),
    "create_audience": (
        A.MANAGE_AUDIENCES,
        lambda w: lambda u: w.ws.audiences.create_from_rule(
            u, "VIPs", "", {"match": "all", "rules": [{"attribute": "loyalty_tier", "operator": "equals", "value": "gold"}]}
        ),
    ),
    "suppress": (A.SUPPRESS, lambda w: lambda u: w.ws.audiences.suppress(u, "email", ["x@herald.example"], "asked")),
    "unsuppress": (A.UNSUPPRESS, lambda w: _suppressed_then(w, lambda u: w.ws.audiences.unsuppress(u, "email", "y@herald.example"))),
    "import_profiles": (
        A.IMPORT_PROFILES,
        lambda w: lambda u: w.ws.audiences.import_profiles(u, b"profile_id,email\n1,a@herald.example\n", "p.csv"),
    ),
    "view_reports": (A.VIEW_REPORTS, lambda w: lambda u: w.ws.analytics.overview(u)),
    "create_api_key": (A.MANAGE_API_KEYS, lambda w: lambda u: w.ws.api_keys.create(u, "Orders service", Role.MANAGER)),
}
# TRIGGER is an API key's action (its role, not a user's): tests/test_api_keys.py covers it per role.
WORKSPACE_ONLY = {A.MANAGE_AUDIENCES, A.SUPPRESS, A.UNSUPPRESS, A.IMPORT_PROFILES, A.VIEW_REPORTS, A.TRIGGER}
READ_ONLY = {A.VIEW, A.VIEW_REPORTS}


def _suppressed_then(w: World, attempt: Attempt) -> Attempt:
    w.ws.audiences.suppress(w.admin, "email", ["y@herald.example"], "spam complaint")
    return attempt


CAMPAIGN_ACTIONS = [a for a in Action if not a.value.startswith("manage_") and a not in WORKSPACE_ONLY]
ATTEMPTS: list[tuple[str, Action, Callable[[World], Attempt]]] = [
    (a.value, a, lambda w, a=a: _campaign_attempt(w, a)) for a in CAMPAIGN_ACTIONS
] + [(name, action, setup) for name, (action, setup) in WORKSPACE_ATTEMPTS.items()]


@pytest.mark.parametrize(("name", "action", "setup"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
@pytest.mark.parametrize("role", list(Role))
def test_service_enforces_the_role_table(
    world: World, role: Role, name: str, action: Action, setup: Callable[[World], Attempt]
) -> None:
    attempt = setup(world)
    before = dump(world.store)
    if action in ROLE_MAY[role]:
        attempt(world.user(role))
        changed = dump(world.store) != before
        assert changed is (action not in READ_ONLY), f"{role} {name} should {'' if changed else 'not '}write"
    else:
        with pytest.raises(PermissionDenied) as refused:
            attempt(world.user(role))
        assert str(refused.value) == refusal(action, role)
        assert dump(world.store) == before


@pytest.mark.parametrize(("name", "action", "setup"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_a_user_without_role_is_refused_everything(
    world: World, name: str, action: Action, setup: Callable[[World], Attempt]
) -> None:
    attempt = setup(world)
    before = dump(world.store)
    with pytest.raises(PermissionDenied, match="no campaign role: ask an Administrator"):
        attempt(world.nobody)
    assert dump(world.store) == before


def test_a_stranger_is_refused(world: World) -> None:
    c = make(world, Status.DRAFT)
    stranger = User(id=999, name="Eve", email="eve@elsewhere.example", role=Role.ADMINISTRATOR)
    not_a_user = re.escape("Eve (eve@elsewhere.example) is not a user of this workspace")
    with pytest.raises(PermissionDenied, match=not_a_user):
        world.svc.get(stranger, c.id)
    with pytest.raises(PermissionDenied, match="Eve is not a user of this workspace"):
        world.ws.set_approval_required(stranger, False)


# ---- what the list offers each role -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "approval", "expected"),
    [
        (Role.VIEWER, True, (A.VIEW,)),
        (Role.MANAGER, True, (A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DUPLICATE)),
        (Role.MANAGER, False, (A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DUPLICATE)),
        (Role.APPROVER, True, (A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DUPLICATE)),
        (Role.APPROVER, False, (A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.ACTIVATE, A.DUPLICATE)),
        (Role.ADMINISTRATOR, True, (A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DELETE, A.DUPLICATE)),
        (None, True, ()),
    ],
)
def test_available_actions_on_a_draft(world: World, role: Role | None, approval: bool, expected: tuple) -> None:
    if not approval:
        world.approval_off()
    c = make(world, Status.DRAFT)
    assert world.svc.available_actions(world.user(role), c) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.VIEWER, (A.VIEW,)),
        (Role.MANAGER, (A.VIEW, A.MODIFY, A.DUPLICATE)),
        (Role.APPROVER, (A.VIEW, A.MODIFY, A.STOP, A.DUPLICATE)),
        (Role.ADMINISTRATOR, (A.VIEW, A.MODIFY, A.STOP, A.ARCHIVE, A.DUPLICATE)),
    ],
)
def test_available_actions_on_a_live_campaign(world: World, role: Role, expected: tuple) -> None:
    c = make(world, Status.LIVE)
    assert world.svc.available_actions(world.user(role), c) == expected


# ---- a role changed after sign-in counts at once ------------------------------------------------


def test_demoted_manager_is_refused_at_once(world: World) -> None:
    signed_in = world.manager  # the User object the session holds still says Manager
    set_role(world.store, signed_in, Role.VIEWER)
    with pytest.raises(PermissionDenied, match=re.escape(refusal(A.CREATE, Role.VIEWER))):
        world.svc.create(signed_in, spec(world))


def test_promoted_viewer_may_stop_at_once(world: World) -> None:
    c = make(world, Status.LIVE)
    signed_in = world.viewer
    set_role(world.store, signed_in, Role.APPROVER)
    assert world.svc.stop(signed_in, c.id, c.revision).status is Status.STOPPED
    assert A.ARCHIVE in world.svc.available_actions(world.admin, world.fresh(c.id))
    assert world.svc.available_actions(signed_in, world.fresh(c.id)) == (A.VIEW, A.DUPLICATE)


def test_role_removed_refuses_even_viewing(world: World) -> None:
    c = make(world, Status.DRAFT)
    signed_in = world.approver
    set_role(world.store, signed_in, None)
    with pytest.raises(PermissionDenied, match="no campaign role"):
        world.svc.get(signed_in, c.id)
    assert world.svc.available_actions(signed_in, c) == ()


def test_demoted_administrator_loses_settings(world: World) -> None:
    signed_in = world.admin
    set_role(world.store, signed_in, Role.APPROVER)
    with pytest.raises(PermissionDenied, match=re.escape(refusal(A.MANAGE_SETTINGS, Role.APPROVER))):
        world.ws.set_approval_required(signed_in, False)
    assert world.svc.approval_required() is True


def test_the_requester_is_not_offered_approve(world: World) -> None:
    c = world.svc.create(world.approver, spec(world))
    c = world.svc.request_approval(world.approver, c.id, c.revision)
    assert A.APPROVE not in world.svc.available_actions(world.approver, c)
    assert A.APPROVE in world.svc.available_actions(world.admin, c)


# ---- roles granted and withdrawn by an Administrator ---------------------------------------------


def test_administrator_changes_a_role_and_it_counts_at_once(world: World) -> None:
    signed_in = world.viewer
    updated = world.ws.set_user_role(world.admin, signed_in.id, Role.MANAGER)
    assert updated.role is Role.MANAGER
    assert world.svc.create(signed_in, spec(world)).status is Status.DRAFT


def test_only_an_administrator_changes_roles(world: World) -> None:
    before = dump(world.store)
    with pytest.raises(PermissionDenied, match=re.escape(refusal(A.MANAGE_USERS, Role.APPROVER))):
        world.ws.set_user_role(world.approver, world.viewer.id, Role.ADMINISTRATOR)
    assert dump(world.store) == before


def test_the_last_administrator_cannot_step_down(world: World) -> None:
    before = dump(world.store)
    with pytest.raises(InvalidInput, match="last Administrator"):
        world.ws.set_user_role(world.admin, world.admin.id, Role.VIEWER)
    assert dump(world.store) == before
