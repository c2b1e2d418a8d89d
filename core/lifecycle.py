"""The campaign state machine of PRODUCT.md, as pure functions over (status, open draft).

A Live or Scheduled campaign may carry an open draft version, itself being edited or in review;
the actions on that version are the same words as on a Draft campaign, applied to the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.enums import Action, Status
from core.errors import IllegalTransition


class DraftState(StrEnum):
    """State of the open draft version of a Live or Scheduled campaign."""

    EDITING = "editing"
    IN_REVIEW = "in_review"


@dataclass(frozen=True)
class State:
    status: Status
    draft: DraftState | None = None


RUNNING = (Status.SCHEDULED, Status.LIVE)
_ALWAYS = (Action.VIEW, Action.DUPLICATE)


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def allowed_actions(state: State, approval_required: bool) -> tuple[Action, ...]:
    """Every action the state allows, whoever asks (roles are checked separately)."""
    status, draft = state.status, state.draft
    activate = () if approval_required else (Action.ACTIVATE,)
    if status is Status.DRAFT:
        acts = (Action.EDIT, Action.REQUEST_APPROVAL, *activate, Action.DELETE)
    elif status is Status.IN_REVIEW:
        acts = (Action.APPROVE, Action.REJECT, Action.CANCEL_REVIEW, Action.ARCHIVE)
    elif status in RUNNING and draft is None:
        acts = (Action.MODIFY, Action.STOP, Action.ARCHIVE)
    elif status in RUNNING and draft is DraftState.EDITING:
        acts = (Action.EDIT, Action.REQUEST_APPROVAL, *activate, Action.DISCARD_DRAFT, Action.STOP, Action.ARCHIVE)
    elif status in RUNNING:
        acts = (Action.APPROVE, Action.REJECT, Action.CANCEL_REVIEW, Action.STOP, Action.ARCHIVE)
    elif status is Status.ARCHIVED:
        acts = ()
    else:  # Activating, Stopped, Completed, Failed
        acts = (Action.ARCHIVE,)
    return (Action.VIEW, *acts, Action.DUPLICATE)


def check(state: State, action: Action, approval_required: bool) -> None:
    """Refuse an action the state does not allow, naming the status and what is allowed instead."""
    allowed = allowed_actions(state, approval_required)
    if action in allowed:
        return
    where = f"{article(state.status.label)} {state.status.label} campaign"
    if state.draft is not None:
        where += f" whose new version is {'in review' if state.draft is DraftState.IN_REVIEW else 'being edited'}"
    hint = ""
    if action is Action.ACTIVATE and approval_required and (
        state.status is Status.DRAFT or state.draft is DraftState.EDITING
    ):
        hint = " Approval is required in this workspace: request approval, and an approver's approval activates it."
    elif action in (Action.EDIT, Action.MODIFY) and state.status is Status.STOPPED:
        hint = " A stopped campaign can never be edited again; duplicate it instead."
    elif action is Action.ACTIVATE and state.status is Status.STOPPED:
        hint = " A stopped campaign can never be activated again; duplicate it instead."
    elif action is Action.DELETE and state.status is not Status.DRAFT:
        hint = " Only Drafts can be deleted; archive it instead."
    elif action is Action.ARCHIVE and state.status is Status.DRAFT:
        hint = " A Draft cannot be archived; delete it instead."
    elif action is Action.MODIFY and state.draft is not None:
        hint = " It already has an open draft version: edit that one."
    options = ", ".join(a.label for a in allowed if a is not Action.VIEW)
    raise IllegalTransition(f"Cannot {action.label} {where}. From here you can: {options}.{hint}")


def after(state: State, action: Action) -> State:
    """The state right after a person's action (activation lands in Activating or the version)."""
    status, draft = state.status, state.draft
    on_version = status in RUNNING
    match action:
        case Action.REQUEST_APPROVAL:
            return State(status, DraftState.IN_REVIEW) if on_version else State(Status.IN_REVIEW)
        case Action.CANCEL_REVIEW | Action.REJECT:
            return State(status, DraftState.EDITING) if on_version else State(Status.DRAFT)
        case Action.APPROVE | Action.ACTIVATE:
            return State(status) if on_version else State(Status.ACTIVATING)
        case Action.MODIFY:
            return State(status, DraftState.EDITING)
        case Action.DISCARD_DRAFT:
            return State(status)
        case Action.STOP:
            return State(Status.STOPPED)
        case Action.ARCHIVE:
            return State(Status.ARCHIVED)
        case _:
            return State(status, draft)
