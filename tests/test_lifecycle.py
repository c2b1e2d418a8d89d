"""The campaign state machine (core/lifecycle.py) against a table written from PRODUCT.md."""

from __future__ import annotations

import re

import pytest

from core.enums import Action, Status
from core.errors import IllegalTransition
from core.lifecycle import DraftState, State, after, allowed_actions, check

A = Action
EDITING, IN_REVIEW = DraftState.EDITING, DraftState.IN_REVIEW

# (status, open draft) -> (allowed when the workspace requires approval, allowed when it does not).
# From PRODUCT.md: In review is locked; Stopped is terminal; any status but Draft (and Archived
# itself) can be archived; only Drafts can be deleted; anything can be viewed and duplicated;
# modifying a Live/Scheduled campaign opens a draft version, which then behaves like a Draft or,
# once sent for approval, like one In review, while the live version keeps running (stop, archive).
EXPECTED: dict[tuple[Status, DraftState | None], tuple[set[Action], set[Action]]] = {
    (Status.DRAFT, None): (
        {A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DELETE, A.DUPLICATE},
        {A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.ACTIVATE, A.DELETE, A.DUPLICATE},
    ),
    (Status.IN_REVIEW, None): (
        {A.VIEW, A.APPROVE, A.REJECT, A.CANCEL_REVIEW, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.APPROVE, A.REJECT, A.CANCEL_REVIEW, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.ACTIVATING, None): (
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.SCHEDULED, None): (
        {A.VIEW, A.MODIFY, A.STOP, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.MODIFY, A.STOP, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.SCHEDULED, EDITING): (
        {A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DISCARD_DRAFT, A.STOP, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.ACTIVATE, A.DISCARD_DRAFT, A.STOP, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.SCHEDULED, IN_REVIEW): (
        {A.VIEW, A.APPROVE, A.REJECT, A.CANCEL_REVIEW, A.STOP, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.APPROVE, A.REJECT, A.CANCEL_REVIEW, A.STOP, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.LIVE, None): (
        {A.VIEW, A.MODIFY, A.STOP, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.MODIFY, A.STOP, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.LIVE, EDITING): (
        {A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.DISCARD_DRAFT, A.STOP, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.EDIT, A.REQUEST_APPROVAL, A.ACTIVATE, A.DISCARD_DRAFT, A.STOP, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.LIVE, IN_REVIEW): (
        {A.VIEW, A.APPROVE, A.REJECT, A.CANCEL_REVIEW, A.STOP, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.APPROVE, A.REJECT, A.CANCEL_REVIEW, A.STOP, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.STOPPED, None): (
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.COMPLETED, None): (
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.FAILED, None): (
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
        {A.VIEW, A.ARCHIVE, A.DUPLICATE},
    ),
    (Status.ARCHIVED, None): (
        {A.VIEW, A.DUPLICATE},
        {A.VIEW, A.DUPLICATE},
    ),
}

CASES = [
    pytest.param(State(status, draft), approval, expected[0 if approval else 1], id=f"{status}-{draft}-{approval=}")
    for (status, draft), expected in EXPECTED.items()
    for approval in (True, False)
]


def test_table_covers_every_status_and_open_draft_state() -> None:
    running = {Status.SCHEDULED, Status.LIVE}
    wanted = {(s, None) for s in Status} | {(s, d) for s in running for d in DraftState}
    assert set(EXPECTED) == wanted


@pytest.mark.parametrize(("state", "approval", "expected"), CASES)
def test_allowed_actions_match_the_product_table(state: State, approval: bool, expected: set[Action]) -> None:
    allowed = allowed_actions(state, approval)
    assert set(allowed) == expected
    assert len(allowed) == len(set(allowed))


def _options(message: str) -> set[str]:
    """The labels listed after 'From here you can:' in a refusal."""
    listed = message.split("From here you can: ", 1)[1].split(".", 1)[0]
    return set(listed.split(", "))


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize(("state", "approval", "expected"), CASES)
def test_check_accepts_exactly_the_allowed_actions(
    state: State, approval: bool, expected: set[Action], action: Action
) -> None:
    if action in expected:
        assert check(state, action, approval) is None
        return
    with pytest.raises(IllegalTransition) as refused:
        check(state, action, approval)
    message = str(refused.value)
    assert message.startswith(f"Cannot {action.label} ")
    assert f" {state.status.label} campaign" in message
    assert _options(message) == {a.label for a in expected if a is not Action.VIEW}
    if state.draft is IN_REVIEW:
        assert "whose new version is in review" in message
    elif state.draft is EDITING:
        assert "whose new version is being edited" in message


@pytest.mark.parametrize(
    ("state", "action", "approval", "hint"),
    [
        (State(Status.STOPPED), A.EDIT, True, "A stopped campaign can never be edited again; duplicate it instead."),
        (State(Status.STOPPED), A.MODIFY, True, "A stopped campaign can never be edited again; duplicate it instead."),
        (State(Status.STOPPED), A.ACTIVATE, False, "A stopped campaign can never be activated again; duplicate it"),
        (State(Status.LIVE), A.DELETE, True, "Only Drafts can be deleted; archive it instead."),
        (State(Status.COMPLETED), A.DELETE, True, "Only Drafts can be deleted; archive it instead."),
        (State(Status.DRAFT), A.ARCHIVE, True, "A Draft cannot be archived; delete it instead."),
        (State(Status.LIVE, EDITING), A.MODIFY, True, "It already has an open draft version: edit that one."),
        (State(Status.SCHEDULED, IN_REVIEW), A.MODIFY, True, "It already has an open draft version"),
        (State(Status.DRAFT), A.ACTIVATE, True, "Approval is required in this workspace: request approval"),
        (State(Status.LIVE, EDITING), A.ACTIVATE, True, "Approval is required in this workspace"),
    ],
)
def test_refusals_say_what_to_do_instead(state: State, action: Action, approval: bool, hint: str) -> None:
    with pytest.raises(IllegalTransition, match=re.escape(hint)):
        check(state, action, approval)


def test_in_review_is_locked() -> None:
    with pytest.raises(IllegalTransition) as refused:
        check(State(Status.IN_REVIEW), A.EDIT, approval_required=True)
    assert "edit" not in _options(str(refused.value))


@pytest.mark.parametrize("status", [Status.IN_REVIEW, Status.ACTIVATING, Status.ARCHIVED])
def test_refusal_uses_the_right_article(status: Status) -> None:
    with pytest.raises(IllegalTransition, match=f"Cannot delete an {status.label} campaign"):
        check(State(status), A.DELETE, approval_required=True)


S = State
AFTER: list[tuple[State, Action, State]] = [
    (S(Status.DRAFT), A.REQUEST_APPROVAL, S(Status.IN_REVIEW)),
    (S(Status.IN_REVIEW), A.CANCEL_REVIEW, S(Status.DRAFT)),
    (S(Status.IN_REVIEW), A.REJECT, S(Status.DRAFT)),
    (S(Status.IN_REVIEW), A.APPROVE, S(Status.ACTIVATING)),
    (S(Status.DRAFT), A.ACTIVATE, S(Status.ACTIVATING)),
    (S(Status.DRAFT), A.EDIT, S(Status.DRAFT)),
    (S(Status.LIVE), A.MODIFY, S(Status.LIVE, EDITING)),
    (S(Status.SCHEDULED), A.MODIFY, S(Status.SCHEDULED, EDITING)),
    (S(Status.LIVE, EDITING), A.EDIT, S(Status.LIVE, EDITING)),
    (S(Status.LIVE, EDITING), A.REQUEST_APPROVAL, S(Status.LIVE, IN_REVIEW)),
    (S(Status.SCHEDULED, EDITING), A.REQUEST_APPROVAL, S(Status.SCHEDULED, IN_REVIEW)),
    (S(Status.LIVE, IN_REVIEW), A.CANCEL_REVIEW, S(Status.LIVE, EDITING)),
    (S(Status.SCHEDULED, IN_REVIEW), A.REJECT, S(Status.SCHEDULED, EDITING)),
    (S(Status.LIVE, IN_REVIEW), A.APPROVE, S(Status.LIVE)),
    (S(Status.SCHEDULED, EDITING), A.ACTIVATE, S(Status.SCHEDULED)),
    (S(Status.LIVE, EDITING), A.DISCARD_DRAFT, S(Status.LIVE)),
    (S(Status.SCHEDULED), A.STOP, S(Status.STOPPED)),
    (S(Status.LIVE, IN_REVIEW), A.STOP, S(Status.STOPPED)),
    (S(Status.IN_REVIEW), A.ARCHIVE, S(Status.ARCHIVED)),
    (S(Status.COMPLETED), A.ARCHIVE, S(Status.ARCHIVED)),
    (S(Status.LIVE, EDITING), A.ARCHIVE, S(Status.ARCHIVED)),
    (S(Status.STOPPED), A.DUPLICATE, S(Status.STOPPED)),  # the source is untouched
]


@pytest.mark.parametrize(("state", "action", "target"), AFTER, ids=[f"{s.status}-{s.draft}-{a}" for s, a, _ in AFTER])
def test_after_targets(state: State, action: Action, target: State) -> None:
    assert after(state, action) == target


@pytest.mark.parametrize(("state", "approval", "expected"), CASES)
def test_every_allowed_action_lands_in_a_known_state(state: State, approval: bool, expected: set[Action]) -> None:
    for action in allowed_actions(state, approval):
        if action is not A.DELETE:
            target = after(state, action)
            assert (target.status, target.draft) in EXPECTED, f"{action} from {state} -> {target}"
