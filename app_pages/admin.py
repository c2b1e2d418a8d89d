"""Administration: channel configurations (with their password or token), users and roles, the
workspace settings (approval, frequency caps) and the REST API's keys. Everyone may look (API keys
excepted: core shows them to Administrators only); core lets only Administrators change anything,
and says so if someone else tries."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.enums import PROVIDER_CHANNELS, Channel, Provider, Role
from core.errors import HeraldError, InvalidInput
from core.models import User
from core.secrets import PASSWORD, TOKEN, Secrets, channel_config_owner
from core.workspace import Workspace
from ui.session import page_context

_ROLES: list[Role | None] = [None, *Role]


def main() -> None:
    user, ws = page_context()
    st.title("Administration")
    if user.role is not Role.ADMINISTRATOR:
        st.info("Only Administrators change these settings; you can look.")
    configs, users, settings, keys = st.tabs(["Channel configurations", "Users", "Settings", "API keys"])
    with configs:
        _configs(ws, user)
    with users:
        _users(ws, user)
    with settings:
        _settings(ws, user)
    with keys:
        _api_keys(ws, user)


def _done(message: str) -> None:
    st.session_state["admin_flash"] = message
    st.rerun()


def _refused(exc: HeraldError) -> None:
    if isinstance(exc, InvalidInput):
        for field, why in exc.problems.items():
            st.error(f"{field.replace('_', ' ').capitalize()}: {why}")
    else:
        st.error(str(exc))


def _configs(ws: Workspace, user: User) -> None:
    secrets = Secrets(ws.store, ws.clock)
    rows = [{"Id": c.id, "Name": c.name, "Channel": c.channel.label, "Provider": c.provider.value,
             "Sender": f"{c.sender_name} <{c.sender_address}>".strip(), "Throttle / s": c.throttle_per_second,
             "Enabled": c.enabled,
             "Secret": secrets.masked(channel_config_owner(c.id or 0), PASSWORD if c.provider is Provider.SMTP else TOKEN)
             or ("not needed" if c.provider is Provider.SANDBOX else "not set")}
            for c in ws.channel_configs()]
    st.dataframe(pl.DataFrame(rows), hide_index=True)
    with st.form("add_config", clear_on_submit=False, border=True):
        st.markdown("**Add a configuration**")
        name, channel, provider = st.columns(3)
        data: dict[str, Any] = {
            "name": name.text_input("Name", key="cfg_name"),
            "channel": channel.selectbox("Channel", [c.value for c in Channel], format_func=lambda v: Channel(v).label,
                                         key="cfg_channel"),
            "provider": provider.selectbox("Provider", [p.value for p in Provider], key="cfg_provider",
                                           help="Sandbox simulates outcomes; SMTP sends email; a webhook gateway "
                                                "takes any channel."),
        }
        sender, address, reply, rate = st.columns(4)
        data["sender_name"] = sender.text_input("Sender name", key="cfg_sender")
        data["sender_address"] = address.text_input("Sender address", key="cfg_address",
                                                    help="An email address, a phone number or SMS sender id, or an app id.")
        data["reply_to"] = reply.text_input("Reply-to (optional)", key="cfg_reply") or None
        data["throttle_per_second"] = rate.number_input("Messages per second", 1, 100_000, 100, key="cfg_rate")
        st.caption("SMTP: host, port, security and user name. Webhook: the gateway's URL. "
                   "The password or token is set below once the configuration exists.")
        host, port, security, login, url = st.columns([3, 1, 2, 2, 4])
        smtp = {"host": host.text_input("SMTP host", key="cfg_host"), "port": port.number_input("Port", 1, 65535, 587, key="cfg_port"),
                "security": security.selectbox("Security", ["starttls", "tls", "none"], key="cfg_security"),
                "username": login.text_input("SMTP user", key="cfg_user") or None}
        webhook_url = url.text_input("Webhook URL", key="cfg_url")
        if st.form_submit_button("Add configuration", type="primary"):
            provider_value = Provider(data["provider"])
            data["settings"] = smtp if provider_value is Provider.SMTP else (
                {"url": webhook_url} if provider_value is Provider.WEBHOOK else {})
            if Channel(data["channel"]) not in PROVIDER_CHANNELS[provider_value]:
                st.error(f"The {provider_value.value} provider cannot deliver {Channel(data['channel']).label}.")
            else:
                try:
                    added = ws.add_channel_config(user, data)
                except HeraldError as exc:
                    _refused(exc)
                else:
                    _done(f"Added “{added.name}”.")
    _config_actions(ws, user, secrets)


def _config_actions(ws: Workspace, user: User, secrets: Secrets) -> None:
    configs = {c.id: c for c in ws.channel_configs()}
    if not configs:
        return
    with st.container(border=True):
        st.markdown("**Change a configuration**")
        pick, toggle, secret, store = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
        chosen = pick.selectbox("Configuration", list(configs), format_func=lambda i: configs[i].name, key="cfg_pick")
        config = configs[chosen]
        if toggle.button("Disable" if config.enabled else "Enable", key="cfg_toggle"):
            try:
                ws.set_channel_config_enabled(user, chosen or 0, not config.enabled)
            except HeraldError as exc:
                _refused(exc)
            else:
                _done(f"“{config.name}” {'disabled' if config.enabled else 'enabled'}.")
        if config.provider is Provider.SANDBOX:
            secret.caption("The sandbox needs no password or token.")
            return
        name = PASSWORD if config.provider is Provider.SMTP else TOKEN
        value = secret.text_input(f"New {name}", type="password", key="cfg_secret")
        if store.button(f"Store {name}", key="cfg_store"):
            try:
                secrets.put(user, channel_config_owner(chosen or 0), name, value)
            except HeraldError as exc:
                _refused(exc)
            else:
                _done(f"The {name} of “{config.name}” is stored.")


def _users(ws: Workspace, user: User) -> None:
    people = ws.users()
    st.dataframe(pl.DataFrame({"Id": [u.id for u in people], "Name": [u.name for u in people],
                               "E-mail": [u.email for u in people],
                               "Role": [u.role.label if u.role else "no role" for u in people]}), hide_index=True)
    left, right = st.columns(2)
    with left.form("add_user", border=True):
        st.markdown("**Add a user**")
        name = st.text_input("Name", key="user_name")
        email = st.text_input("E-mail (what they sign in with)", key="user_email")
        role = st.selectbox("Role", _ROLES, format_func=lambda r: r.label if r else "no role", key="user_role")
        if st.form_submit_button("Add user", type="primary"):
            try:
                added = ws.add_user(user, name, email, role)
            except HeraldError as exc:
                _refused(exc)
            else:
                _done(f"Added {added.name}.")
    with right.container(border=True):
        st.markdown("**Change a role**")
        by_id = {u.id: u for u in people}
        who = st.selectbox("User", list(by_id), format_func=lambda i: by_id[i].name, key="role_user")
        current = by_id[who].role
        role = st.selectbox("New role", _ROLES, index=_ROLES.index(current), key=f"role_new_{who}",
                            format_func=lambda r: r.label if r else "no role")
        if st.button("Save role", key="role_save"):
            try:
                ws.set_user_role(user, who, role)
            except HeraldError as exc:
                _refused(exc)
            else:
                _done(f"{by_id[who].name} is now {role.label if role else 'without a role'}.")


def _settings(ws: Workspace, user: User) -> None:
    required = ws.campaigns.approval_required()
    st.markdown(f"**Approval** is {'required' if required else 'not required'}: "
                + ("every campaign is reviewed by an Approver before it goes live." if required else
                   "Approvers and Administrators may activate without a review."))
    if st.button("Stop requiring approval" if required else "Require approval", key="approval_toggle"):
        try:
            ws.set_approval_required(user, not required)
        except HeraldError as exc:
            _refused(exc)
        else:
            _done("Approval setting saved.")
    st.markdown("**Frequency caps**: at most N messages per profile per D days on a channel, across campaigns.")
    caps = ws.frequency_caps()
    st.dataframe(pl.DataFrame({"Channel": [c.label for c in caps],
                               "Cap": [f"{cap.messages} per {cap.days} days" if cap else "none" for cap in caps.values()]}),
                 hide_index=True)
    channel, messages, days, save, clear = st.columns([2, 2, 2, 1, 1], vertical_alignment="bottom")
    chosen = channel.selectbox("Channel", list(Channel), format_func=lambda c: c.label, key="cap_channel")
    cap = caps[chosen]
    count = messages.number_input("Messages", 1, 1000, cap.messages if cap else 5, key=f"cap_messages_{chosen.value}")
    span = days.number_input("Days", 1, 365, cap.days if cap else 7, key=f"cap_days_{chosen.value}")
    for button, value in ((save.button("Save cap", key="cap_save"), int(count)), (clear.button("Remove", key="cap_clear"), None)):
        if button:
            try:
                ws.set_frequency_cap(user, chosen, value, int(span))
            except HeraldError as exc:
                _refused(exc)
            else:
                _done(f"{chosen.label}: {'no cap' if value is None else f'{value} per {int(span)} days'}.")


def _api_keys(ws: Workspace, user: User) -> None:
    st.markdown("Programs call Herald's REST API (`/api/v1/`, described at `/api/v1/openapi.json`) with a key, "
                "sent as `Authorization: Bearer <key>`. A key acts with its own role: any role reads campaigns and "
                "runs; Manager, Approver or Administrator keys trigger API-triggered campaigns; Viewer, Approver or "
                "Administrator keys read statistics.")
    created = st.session_state.pop("api_key_created", None)
    if created:
        st.session_state["api_key_name"] = ""  # an empty form for the next key (set before the widget exists)
        name, plain = created
        st.success(f"Key “{name}” created. Copy it now (point at the key: its copy button appears on the right): "
                   "Herald keeps only its hash and will not show it again.")
        st.code(plain, language=None)
        st.caption("Give it to the program that calls Herald (it sends `Authorization: Bearer <key>`). The curl "
                   "example on an API-triggered campaign's page reads it from `HERALD_API_KEY`.")
    try:
        keys = ws.api_keys.list(user)
    except HeraldError as exc:  # only Administrators see keys, and core says so
        st.info(str(exc))
        return
    st.dataframe(pl.DataFrame({
        "Id": [k.id for k in keys], "Name": [k.name for k in keys], "Role": [k.role.label for k in keys],
        "Key": [f"hk_{k.prefix}_…" for k in keys], "Created (UTC)": [k.created_at for k in keys],
        "Created by": [k.created_by_name or "—" for k in keys],
        "Status": ["active" if k.active else "revoked" for k in keys],
        "Revoked (UTC)": ["—" if k.revoked_at is None else f"{k.revoked_at:%Y-%m-%d %H:%M}" for k in keys],
    }, schema_overrides={"Created (UTC)": pl.Datetime("us")}), hide_index=True,
        column_config={"Created (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
    left, right = st.columns(2)
    with left.form("add_api_key", border=True):
        st.markdown("**Create a key**")
        name = st.text_input("Name (what calls with it)", key="api_key_name", placeholder="Order service")
        role = st.selectbox("Role", list(Role), index=list(Role).index(Role.MANAGER), key="api_key_role",
                            format_func=lambda r: r.label)
        if st.form_submit_button("Create key", type="primary"):
            try:
                key, plain = ws.api_keys.create(user, name, role)
            except HeraldError as exc:
                _refused(exc)
            else:
                st.session_state["api_key_created"] = (key.name, plain)
                st.rerun()
    active = {k.id: k for k in keys if k.active}
    with right.container(border=True):
        st.markdown("**Revoke a key**")
        if not active:
            st.caption("No active key.")
            return
        chosen = st.selectbox("Key", list(active), key="api_key_pick",
                              format_func=lambda i: f"{active[i].name} · {active[i].role.label} · hk_{active[i].prefix}…")
        st.caption("Calls with a revoked key are refused from the next one on; this cannot be undone.")
        if st.button("Revoke key", key="api_key_revoke"):
            try:
                revoked = ws.api_keys.revoke(user, chosen)
            except HeraldError as exc:
                _refused(exc)
            else:
                _done(f"“{revoked.name}” is revoked.")


message = st.session_state.pop("admin_flash", None)
if message:
    st.toast(message)
main()
