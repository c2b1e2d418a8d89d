"""Creation wizard: type → properties → channel → audience → content → schedule → review.

What was typed lives in session state, so going back never loses it; "Save draft" keeps the
campaign as a Draft at any step, and opening a Draft from the list resumes it here."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time
from typing import Any

import polars as pl
import streamlit as st

from core.enums import Action, CampaignType, Channel, Purpose
from core.errors import HeraldError, InvalidInput, NotReady
from core.models import CampaignSpec, Schedule, User, parse
from core.readiness import blocking_problems
from core.roles import may
from core.templates import preview
from core.wizard import STEPS, duration_words, check_step, next_occurrences, prerequisites, send_duration, step_of
from core.workspace import Workspace
from ui.session import page_context
from ui.wizard_state import wizard_state

TIMEZONES = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
             "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney")


FIELD_LABELS = {"name": "Name", "description": "Description", "tags": "Tags", "type": "Type", "purpose": "Purpose",
                "channel": "Channel", "channel_config_id": "Configuration", "audience_id": "Audience",
                "content": "Content", "content.subject": "Subject", "content.body": "Body", "schedule": "Schedule",
                "schedule.timezone": "Time zone", "schedule.starts_at": "Start", "schedule.ends_at": "End date",
                "schedule.recurrence": "Repeat"}


def _state() -> dict[str, Any]:
    return wizard_state()


def main() -> None:
    user, ws = page_context()
    st.title(f"Edit draft #{_state()['id']}" if _state().get("resumed") else "New campaign")
    missing = prerequisites(ws, user)
    if missing:
        for item in missing:
            st.warning(f"**{item.what}** {item.where}")
            if item.page:
                st.page_link(f"app_pages/{item.page}.py", label="Go there")
        st.stop()
    state = _state()
    step = STEPS[state["step"]]
    _indicator(state["step"])
    data = state["data"]
    with st.container(border=True):
        {"Type": _type_step, "Properties": _properties_step, "Channel": _channel_step,
         "Audience": _audience_step, "Content": _content_step, "Schedule": _schedule_step,
         "Review": _review_step}[step](ws, user, data, state["errors"])
    _navigation(ws, user, state, step)


def _indicator(current: int) -> None:
    """Where the user is: done steps ticked, the current one highlighted, the rest grey."""
    row = st.container(horizontal=True, gap="small", key="w_steps")
    for i, name in enumerate(STEPS):
        if i < current:
            row.badge(f"✓ {i + 1}. {name}", color="green")
        elif i == current:
            row.badge(f"{i + 1}. {name}", color="blue")
        else:
            row.badge(f"{i + 1}. {name}", color="gray")


def _error(errors: dict[str, str], *fields: str) -> None:
    """Each problem right under its field, named as the form names it."""
    for field, why in errors.items():
        if field in fields or field.split(".")[0] in fields:
            st.error(f"{FIELD_LABELS.get(field, field)}: {why}")


def _type_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    data["type"] = st.radio("Type", [t.value for t in CampaignType], key="w_type",
                            index=[t.value for t in CampaignType].index(data["type"]),
                            format_func=lambda v: CampaignType(v).label, horizontal=True,
                            captions=["Sent to an audience, now or on a schedule",
                                      "Sent when another system calls Herald's API"])
    data["purpose"] = st.radio("Purpose", [p.value for p in Purpose], key="w_purpose",
                               index=[p.value for p in Purpose].index(data["purpose"]),
                               format_func=lambda v: Purpose(v).label, horizontal=True)
    _error(errors, "type", "purpose")


def _properties_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    data["name"] = st.text_input("Name", value=data["name"], key="w_name", max_chars=120)
    _error(errors, "name")
    data["description"] = st.text_area("Description", value=data["description"], key="w_description")
    tags = st.text_input("Tags (comma-separated)", value=", ".join(data["tags"]), key="w_tags")
    data["tags"] = [t.strip().lower() for t in tags.split(",") if t.strip()]
    _error(errors, "tags", "description")


def _channel_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    channels = [c.value for c in Channel]
    data["channel"] = st.segmented_control("Channel", channels, default=data["channel"], required=True,
                                           key="w_channel", format_func=lambda v: Channel(v).label)
    configs = [c for c in ws.channel_configs() if c.channel.value == data["channel"] and c.enabled]
    if not configs:
        st.warning(f"No enabled {Channel(data['channel']).label} configuration: an Administrator creates one.")
        data["channel_config_id"] = None
    else:
        ids = [c.id for c in configs]
        current = data.get("channel_config_id")
        names = {c.id: f"{c.name} — {c.sender_name} <{c.sender_address}>, {c.throttle_per_second}/s" for c in configs}
        data["channel_config_id"] = st.selectbox("Configuration", ids, index=ids.index(current) if current in ids else 0,
                                                 key=f"w_config_{data['channel']}", format_func=names.get)
    _error(errors, "channel", "channel_config_id")


def _audience_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    if data["type"] == CampaignType.API_TRIGGERED.value:
        st.info("An API-triggered campaign is sent to the profiles named in each API call: no audience to choose.")
        data["audience_id"] = None
        return
    audiences = ws.audiences.list(user)
    ids = [a.id for a in audiences]
    current = data.get("audience_id")
    data["audience_id"] = st.selectbox("Audience", ids, index=ids.index(current) if current in ids else 0,
                                       key="w_audience", format_func=lambda i: next(a.name for a in audiences if a.id == i))
    _error(errors, "audience_id")
    reach = next(r for r in ws.audiences.reach(user, data["audience_id"]) if r.channel.value == data["channel"])
    size, reachable = st.columns(2)
    size.metric("Audience size (now)", f"{reach.size:,}")
    reachable.metric(f"Reachable by {Channel(data['channel']).label}", f"{reach.reachable:,}",
                     help=f"Excluded: {reach.suppressed:,} suppressed, {reach.no_address:,} without address, "
                          f"{reach.no_consent:,} without consent.")


def _content_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    content = data["content"]
    if data["channel"] in ("email", "push", "in_app"):
        label = "Subject" if data["channel"] == "email" else "Title"
        content["subject"] = st.text_input(label, value=content.get("subject") or "", key="w_subject")
    else:
        content["subject"] = ""
    content["body"] = st.text_area("Body", value=content.get("body") or "", key="w_body", height=160)
    _error(errors, "content")
    with st.expander("Personalisation tokens"):
        st.markdown("Use `{{profile.attribute}}` with an optional fallback: `{{profile.first_name|there}}`. "
                    + ("`{{context.key}}` takes values from the API call. " if data["type"] == "api_triggered" else "")
                    + "Attributes: " + ", ".join(f"`{a}`" for a in ws.audiences.profiles().columns))
    if not content["body"] or check_step("Content", data):
        return
    samples = _samples(ws, data)
    for column, profile in zip(st.columns(len(samples)), samples, strict=True):
        with column.container(border=True):
            st.caption(f"Preview for profile {profile['profile_id']} ({profile['first_name'] or 'no first name'}, "
                       f"{profile['city'] or 'no city'})")
            if content.get("subject"):
                st.markdown(f"**{preview(content['subject'], profile)}**")
            st.text(preview(content["body"], profile))
    if data.get("channel_config_id") is not None and samples:
        _test_send(ws, user, data, samples[0])


def _samples(ws: Workspace, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Three profiles to preview with: from the chosen audience when there is one."""
    profiles = ws.audiences.profiles()
    if data.get("audience_id") is not None:
        profiles = profiles.filter(ws.audiences.mask(data["audience_id"]))
    return profiles.head(3).to_dicts()


def _test_send(ws: Workspace, user: User, data: dict[str, Any], profile: dict[str, Any]) -> None:
    with st.expander("Send a test"):
        noun = {"email": "email addresses", "sms": "phone numbers (+14155550100)"}.get(data["channel"], "recipient ids")
        addresses = st.text_input(f"Up to 10 {noun}, comma-separated", key="w_test_to")
        st.caption(f"Rendered for profile {profile['profile_id']}; the subject starts with “[Test]”. "
                   "Test sends do not count in the campaign's statistics.")
        if st.button("Send test", key="w_test_send"):
            try:
                outcomes = ws.delivery.send_test(user, data["channel_config_id"], data["content"], addresses, profile)
            except InvalidInput as exc:
                st.error("; ".join(exc.problems.values()))
            except HeraldError as exc:
                st.error(str(exc))
            else:
                for outcome in outcomes:
                    (st.success if outcome.accepted else st.error)(f"{outcome.address}: {outcome.detail}")


def _schedule_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    schedule = data["schedule"]
    modes = ["now", "later"] if data["type"] == "api_triggered" else ["now", "later", "recurring"]
    labels = {"now": "On activation", "later": "At a date and time", "recurring": "Recurring"}
    mode = "recurring" if schedule.get("recurrence", "none") != "none" else ("later" if schedule.get("starts_at") else "now")
    mode = st.segmented_control("When", modes, default=mode if mode in modes else "now", required=True,
                                key="w_mode", format_func=labels.get)
    schedule["timezone"] = st.selectbox("Time zone", TIMEZONES, index=TIMEZONES.index(schedule.get("timezone", "UTC"))
                                        if schedule.get("timezone", "UTC") in TIMEZONES else 0, key="w_tz")
    schedule["recurrence"] = "none"
    if mode == "now":
        schedule.pop("starts_at", None)
    if mode in ("later", "recurring"):
        when, at = st.columns(2)
        start = datetime.fromisoformat(schedule["starts_at"]) if schedule.get("starts_at") else None
        day = when.date_input("Start date", value=start.date() if start else datetime.now(UTC).date(), key="w_day")
        moment = at.time_input("Start time", value=start.time() if start else time(9, 0), key="w_time")
        schedule["starts_at"] = datetime.combine(day, moment).isoformat()
    if mode == "recurring":
        schedule["recurrence"] = st.segmented_control("Repeat", ["daily", "weekly", "monthly"], required=True,
                                                      default=schedule.get("recurrence_choice", "weekly"), key="w_rec")
        schedule["recurrence_choice"] = schedule["recurrence"]
    if mode != "now" and st.checkbox("End date", value=bool(schedule.get("ends_at")), key="w_has_end"):
        end = datetime.fromisoformat(schedule["ends_at"]) if schedule.get("ends_at") else None
        day = st.date_input("Ends on", value=end.date() if end else datetime.now(UTC).date(), key="w_end_day")
        schedule["ends_at"] = datetime.combine(day, time(23, 59)).isoformat()
    else:
        schedule.pop("ends_at", None)
    _error(errors, "schedule")
    try:
        parsed = parse(Schedule, {k: v for k, v in schedule.items() if k != "recurrence_choice"})
    except InvalidInput as exc:
        st.error("; ".join(f"{f}: {w}" for f, w in exc.problems.items()))
        return
    now = ws.clock()
    upcoming = next_occurrences(parsed, now)
    st.markdown("**Next sends (UTC):** " + (", ".join(f"{t:%a %Y-%m-%d %H:%M}" for t in upcoming) or "none"))
    config = next((c for c in ws.channel_configs() if c.id == data.get("channel_config_id")), None)
    if config and data.get("audience_id"):
        reach = next(r for r in ws.audiences.reach(user, data["audience_id"]) if r.channel.value == data["channel"])
        st.caption(f"Each send hands {reach.reachable:,} messages over at {config.throttle_per_second}/s: "
                   f"about {duration_words(send_duration(reach.reachable, config.throttle_per_second))}.")


def _spec(data: dict[str, Any]) -> dict[str, Any]:
    schedule = {k: v for k, v in data["schedule"].items() if k != "recurrence_choice"}
    content = data["content"] if data["content"].get("body") else None
    spec = {**data, "schedule": schedule, "content": content}
    return {k: v for k, v in spec.items() if v is not None}


def _review_step(ws: Workspace, user: User, data: dict[str, Any], errors: dict[str, str]) -> None:
    try:
        spec = parse(CampaignSpec, _spec(data))
    except InvalidInput as exc:
        problems = exc.problems
        spec = None
    else:
        config = next((c for c in ws.channel_configs() if c.id == spec.channel_config_id), None)
        audience = next((a for a in ws.audiences.list(user) if a.id == spec.audience_id), None)
        problems = blocking_problems(spec, config, audience, ws.clock())
    st.dataframe(_summary(ws, user, data), hide_index=True, width="stretch")
    if problems:
        st.error("Before this campaign can go for approval or live:")
        for field, why in problems.items():
            target = step_of(field)
            cols = st.columns([4, 1])
            cols[0].markdown(f"- **{FIELD_LABELS.get(field, field)}**: {why}")
            if target in STEPS and cols[1].button(f"Fix in {target}", key=f"fix-{field}"):
                _state()["step"] = STEPS.index(target)
                st.rerun()
    else:
        st.success("Ready: nothing blocks this campaign.")


def _summary(ws: Workspace, user: User, data: dict[str, Any]) -> pl.DataFrame:
    """Everything the campaign will do, in words, for a last read before it goes for approval."""
    config = next((c for c in ws.channel_configs() if c.id == data.get("channel_config_id")), None)
    audience = next((a for a in ws.audiences.list(user) if a.id == data.get("audience_id")), None)
    content = data["content"]
    rows = {
        "Type": f"{CampaignType(data['type']).label} · {Purpose(data['purpose']).label}",
        "Name": data["name"] or "—",
        "Description": data["description"] or "—",
        "Tags": ", ".join(data["tags"]) or "—",
        "Channel": f"{Channel(data['channel']).label} · {config.name if config else 'no configuration'}",
        "Audience": audience.name if audience else ("from each API call" if data["type"] == "api_triggered" else "—"),
        "Subject": content.get("subject") or "—",
        "Body": (content.get("body") or "—")[:200],
        "Schedule": _describe(data["schedule"]),
    }
    if audience is not None:
        reach = next(r for r in ws.audiences.reach(user, audience.id) if r.channel.value == data["channel"])
        rows["Audience"] += f" · {reach.size:,} profiles, {reach.reachable:,} reachable"
    return pl.DataFrame({"Field": list(rows), "Value": list(rows.values())})


def _describe(schedule: dict[str, Any]) -> str:
    start = schedule.get("starts_at")
    when = f"from {start.replace('T', ' ')[:16]}" if start else "on activation"
    repeat = schedule.get("recurrence", "none")
    text = f"{repeat.capitalize()}, {when}" if repeat != "none" else f"Once, {when}"
    if schedule.get("ends_at"):
        text += f", until {schedule['ends_at'][:10]}"
    return f"{text} ({schedule.get('timezone', 'UTC')})"


def _save(ws: Workspace, user: User, state: dict[str, Any]) -> bool:
    """Create or update the Draft; a step that changed nothing writes nothing (and no history)."""
    spec = _spec(state["data"])
    if state["id"] is not None and state.get("saved") == spec:
        return True
    try:
        if state["id"] is None:
            saved = ws.campaigns.create(user, _spec(state["data"]))
        else:
            saved = ws.campaigns.edit(user, state["id"], state["revision"], _spec(state["data"]))
    except InvalidInput as exc:
        state["errors"] = exc.problems
        return False
    except HeraldError as exc:
        st.error(str(exc))
        return False
    state["id"], state["revision"], state["errors"] = saved.id, saved.revision, {}
    state["saved"] = copy.deepcopy(spec)
    return True


def _navigation(ws: Workspace, user: User, state: dict[str, Any], step: str) -> None:
    left, right = st.columns([3, 1], vertical_alignment="center")
    back = save = left.container(horizontal=True)
    forward = right.container(horizontal=True, horizontal_alignment="right")
    if state["step"] > 0 and back.button("Back", key="w_back"):
        state["step"] -= 1
        state["errors"] = {}
        st.rerun()
    if state["id"] is not None and back.button("Start another campaign", key="w_restart",
                                               help=f"Draft #{state['id']} stays in the list as it was last saved."):
        st.session_state.pop("wizard", None)
        st.rerun()
    if save.button("Save draft", key="w_save"):
        if _save(ws, user, state):
            st.toast(f"Saved draft #{state['id']}.")
        st.rerun()
    if step != "Review":
        if forward.button("Next", type="primary", key="w_next"):
            problems = check_step(step, _spec(state["data"]))
            state["errors"] = problems
            # Past the name, every step is saved: leaving the wizard keeps the Draft.
            if not problems and (state["step"] == 0 and state["id"] is None or _save(ws, user, state)):
                state["step"] += 1
            st.rerun()
        if state["id"] is not None:
            st.caption(f"Draft #{state['id']} is saved at every step: you can leave and resume it from the list.")
        return
    approval = ws.campaigns.approval_required()
    if approval or not may(user.role, Action.ACTIVATE):
        if forward.button("Request approval", type="primary", key="w_request") and _save(ws, user, state):
            _finish(lambda: ws.campaigns.request_approval(user, state["id"], state["revision"]))
    elif forward.button("Activate", type="primary", key="w_activate") and _save(ws, user, state):
        _finish(lambda: ws.campaigns.activate(user, state["id"], state["revision"]))


def _finish(call: Any) -> None:
    try:
        campaign = call()
    except NotReady as exc:
        st.error(str(exc))
        return
    except HeraldError as exc:
        st.error(str(exc))
        return
    st.session_state.pop("wizard", None)
    st.session_state["flash"] = ("success", f"{campaign.name}: {campaign.status.label}.")
    st.switch_page("app_pages/campaigns.py")


main()
