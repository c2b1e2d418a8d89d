"""One campaign: its summary, history, versions, runs and set-up, and the actions its status and
the user's role allow. Shown under the list for the selected row and on the campaign's own page."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import polars as pl
import streamlit as st

from core import roles
from core.enums import Action, CampaignType, Channel, Status
from core.errors import HeraldError
from core.models import Campaign, User
from core.triggers import context_keys
from core.workspace import Workspace
from ui import runs_view
from ui.wizard_state import resume

_PAGE_ACTIONS = (
    Action.EDIT,
    Action.MODIFY,
    Action.REQUEST_APPROVAL,
    Action.CANCEL_REVIEW,
    Action.APPROVE,
    Action.REJECT,
    Action.ACTIVATE,
    Action.DISCARD_DRAFT,
    Action.STOP,
    Action.DUPLICATE,
    Action.ARCHIVE,
    Action.DELETE,
)
OPEN_DRAFT_MARK = "· open draft"
_CONFIRM = {Action.STOP, Action.ARCHIVE, Action.DELETE, Action.REJECT, Action.DISCARD_DRAFT}


def details(ws: Workspace, user: User, campaign_id: int, link: bool = False) -> None:
    """The campaign's panel; `link` adds a link to its own page (an address to share)."""
    try:
        campaign = ws.campaigns.get(user, campaign_id)
    except HeraldError as exc:
        st.error(str(exc))
        return
    spec = campaign.spec
    with st.container(border=True):
        head, actions = st.columns([3, 2])
        mark = f" {OPEN_DRAFT_MARK} (v{campaign.draft_version})" if campaign.has_open_draft else ""
        head.subheader(f"{spec.name}")
        head.markdown(
            f"**{campaign.status.label}**{mark} · {spec.type.label} · "
            f"{spec.purpose.label} · {spec.channel.label} · version {campaign.version} · revision {campaign.revision}"
        )
        if spec.description:
            head.caption(spec.description)
        links = head.container(horizontal=True)
        if link:
            links.page_link("app_pages/campaign.py", label="Open the campaign's page", query_params={"id": campaign.id})
        if roles.may(user.role, Action.VIEW_REPORTS) and campaign.live_version is not None:
            links.page_link("app_pages/report.py", label="Open report", query_params={"id": campaign.id})
        if campaign.failure_reason:
            head.error(f"Failed: {campaign.failure_reason}")
        with actions:
            _action_buttons(ws, user, campaign)
        if spec.type is CampaignType.API_TRIGGERED:
            with st.expander("Trigger it through the API", expanded=campaign.status is Status.LIVE):
                st.caption("Calls are accepted while the campaign is Live and inside its start/end window, with a "
                           "Manager, Approver or Administrator API key (Administration → API keys). Put the key in "
                           "`HERALD_API_KEY` and replace the example recipient by a profile id or a profile's address"
                           + (" and fill in the context values" if context_keys(campaign) else "") + ".")
                st.code(trigger_curl(campaign, _base_url()), language="bash")
                st.caption("Each run of this command is a new call: its Idempotency-Key changes. A program that "
                           "retries a call sends the same Idempotency-Key again and gets the first answer back; "
                           "nothing is sent twice.")
        audit_tab, versions_tab, runs_tab, setup_tab = st.tabs(["History", "Versions", "Runs", "Set-up"])
        with audit_tab:
            trail = ws.campaigns.audit_trail(user, campaign.id)
            st.dataframe(
                pl.DataFrame(
                    {
                        "When (UTC)": [e.at for e in trail],
                        "Who": [e.actor_name for e in trail],
                        "Action": [e.action.replace("_", " ") for e in trail],
                        "From": [e.from_status.label if e.from_status else "—" for e in trail],
                        "To": [e.to_status.label if e.to_status else "—" for e in trail],
                        "Version": [e.version for e in trail],
                        "Note": [e.detail or "" for e in trail],
                    }
                ),
                hide_index=True,
                column_config={"When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
            )
        with versions_tab:
            st.dataframe(ws.campaigns.versions(user, campaign.id), hide_index=True)
        with runs_tab:
            runs_view.runs_tab(ws, user, campaign.id)  # bounded: API calls per day, newest runs
        with setup_tab:
            _setup(ws, user, campaign)


def trigger_curl(campaign: Campaign, base_url: str) -> str:
    """A ready-to-copy call of the campaign's trigger endpoint, with the context keys its content reads."""
    spec = campaign.spec
    recipient = {Channel.EMAIL: {"address": "someone@example.com"},
                 Channel.SMS: {"address": "+14155550100"}}.get(spec.channel, {"profile_id": 1})
    keys = context_keys(campaign)  # identifiers: nothing to escape inside the shell's single quotes
    if keys:  # one context key a line, so the command never runs off the code block's edge
        entries = ",\n".join(f'      "{key}": "<{key}>"' for key in keys)
        body = (f'{{\n    "recipients": [{json.dumps(recipient)}],\n'
                f'    "context": {{\n{entries}\n    }}\n  }}')
    else:
        body = json.dumps({"recipients": [recipient], "context": {}})
    return (f'curl -X POST "{base_url}/api/v1/campaigns/{campaign.id}/trigger" \\\n'
            '  -H "Authorization: Bearer $HERALD_API_KEY" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f'  -H "Idempotency-Key: {campaign.id}-$(date +%s%N)" \\\n'
            f"  -d '{body}'")


def _base_url() -> str:
    """Where the browser reached this app (scheme and host), else the default local address."""
    try:
        parts = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no request context (tests, scripts)
        parts = urlsplit("")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc \
        else "http://127.0.0.1:8501"


def _setup(ws: Workspace, user: User, campaign: Campaign) -> None:
    spec = campaign.editable_spec if campaign.has_open_draft else campaign.spec
    configs = {c.id: c for c in ws.channel_configs()}
    audiences = {a.id: a for a in ws.audiences.list(user)}
    config = configs.get(spec.channel_config_id) if spec.channel_config_id else None
    audience = audiences.get(spec.audience_id) if spec.audience_id else None
    schedule = spec.schedule
    when = "not chosen yet"
    if schedule:
        start = f"{schedule.starts_at:%Y-%m-%d %H:%M}" if schedule.starts_at else "on activation"
        end = f" until {schedule.ends_at:%Y-%m-%d %H:%M}" if schedule.ends_at else ""
        when = f"{start}{end} ({schedule.timezone}), {schedule.recurrence.value}"
    st.markdown(
        f"- **Channel configuration:** {config.name if config else '—'}\n"
        f"- **Audience:** {audience.name if audience else ('from the API call' if spec.type.value == 'api_triggered' else '—')}\n"
        f"- **Schedule:** {when}\n"
        f"- **Tags:** {', '.join(spec.tags) or '—'}"
    )
    if spec.content:
        if spec.content.subject:
            st.markdown(f"**Subject:** {spec.content.subject}")
        st.code(spec.content.body, language=None, wrap_lines=True)


def _action_buttons(ws: Workspace, user: User, campaign: Campaign) -> None:
    offered = [a for a in ws.campaigns.available_actions(user, campaign) if a in _PAGE_ACTIONS]
    if not offered:
        st.caption("Nothing you can do to this campaign in its current status with your role.")
        return
    row = st.container(horizontal=True, horizontal_alignment="right")
    for action in offered:
        kind = "primary" if action in (Action.APPROVE, Action.ACTIVATE, Action.REQUEST_APPROVAL) else "secondary"
        if row.button(action.label.capitalize(), key=f"act-{action.value}-{campaign.id}", type=kind):
            if action in (Action.EDIT, Action.MODIFY):
                _open_in_wizard(ws, user, campaign, action)
            elif action in _CONFIRM:
                _confirm(ws, user, campaign, action)
            else:
                _run(lambda action=action: _perform(ws, user, campaign, action, None), f"{action.label.capitalize()}: done.")


def _open_in_wizard(ws: Workspace, user: User, campaign: Campaign, action: Action) -> None:
    """Edit resumes the Draft (or open draft version) in the wizard; modify opens a new version first."""
    try:
        if action is Action.MODIFY:
            campaign = ws.campaigns.modify(user, campaign.id, campaign.revision)
    except HeraldError as exc:
        st.error(str(exc))
        return
    resume(campaign.id, campaign.revision, campaign.editable_spec)
    st.switch_page("app_pages/wizard.py")


@st.dialog("Please confirm")
def _confirm(ws: Workspace, user: User, campaign: Campaign, action: Action) -> None:
    consequences = {
        Action.STOP: "A send already under way finishes; no future run will happen. A stopped campaign can "
        "never be activated or edited again (you can duplicate it).",
        Action.ARCHIVE: "The campaign leaves the default list; its history and reports are kept.",
        Action.DELETE: "The draft and all its versions are deleted for good.",
        Action.REJECT: "The campaign goes back to its author as a draft, with your comment.",
        Action.DISCARD_DRAFT: "The open draft version is dropped; the live version keeps running.",
    }
    st.markdown(f"**{action.label.capitalize()} “{campaign.name}”?**")
    st.write(consequences[action])
    note = ""
    if action in (Action.STOP, Action.REJECT):
        note = st.text_area("Comment" if action is Action.REJECT else "Reason (optional)", key="confirm-note")
    if st.button(f"Yes, {action.label}", type="primary"):
        _run(lambda: _perform(ws, user, campaign, action, note), f"{action.label.capitalize()}: done.")


def _perform(ws: Workspace, user: User, campaign: Campaign, action: Action, note: str | None) -> None:
    svc, cid, rev = ws.campaigns, campaign.id, campaign.revision
    calls: dict[Action, Callable[[], object]] = {
        Action.REQUEST_APPROVAL: lambda: svc.request_approval(user, cid, rev),
        Action.CANCEL_REVIEW: lambda: svc.cancel_review(user, cid, rev),
        Action.APPROVE: lambda: svc.approve(user, cid, rev),
        Action.REJECT: lambda: svc.reject(user, cid, rev, note or ""),
        Action.ACTIVATE: lambda: svc.activate(user, cid, rev),
        Action.DISCARD_DRAFT: lambda: svc.discard_draft(user, cid, rev),
        Action.STOP: lambda: svc.stop(user, cid, rev, note),
        Action.DUPLICATE: lambda: svc.duplicate(user, cid),
        Action.ARCHIVE: lambda: svc.archive(user, cid, rev),
        Action.DELETE: lambda: svc.delete(user, cid, rev),
    }
    calls[action]()


def _run(call: Callable[[], None], done: str) -> None:
    try:
        call()
    except HeraldError as exc:
        st.session_state["flash"] = ("error", str(exc))
    else:
        st.session_state["flash"] = ("success", done)
    st.rerun()


def flash() -> None:
    kind, message = st.session_state.pop("flash", (None, None))
    if kind == "error":
        st.error(message)
    elif kind == "success":
        st.toast(message)
