"""The workspace and the signed-in user, per browser session."""

from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st

from core.errors import PermissionDenied
from core.models import User
from core.scheduler import start_in_background
from core.workspace import Workspace, database_path


def workspace() -> Workspace:
    """The workspace on HERALD_DB; one per file and process (DuckDB allows one process per file)."""
    return _workspace(str(database_path()))


@st.cache_resource(show_spinner=False)
def _workspace(path: str) -> Workspace:
    workspace = Workspace.open(path)
    if os.environ.get("HERALD_SCHEDULER", "on") != "off":
        start_in_background(workspace)
    return workspace


def page_context() -> tuple[User, Workspace]:
    """Who is signed in and their workspace, for a page; nothing renders for nobody (the sign-in
    screen or its refusal is already showing)."""
    user: User | None = st.session_state.get("user")
    if user is None:
        st.stop()
    return user, workspace()


def auth_configured() -> bool:
    """An OIDC provider is configured when `.streamlit/secrets.toml` has an [auth] section."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all: demo mode
        return False


def signed_in_user() -> User | None:
    """Who is using the app: the OIDC sign-in when a provider is configured, else demo mode."""
    return _oidc_user() if auth_configured() else _demo_user()


def _oidc_user() -> User | None:
    """`st.login` with the configured provider; the signed-in e-mail maps to a Herald user in core."""
    if not st.user.is_logged_in:
        st.title("Herald")
        st.write("Sign in with your organisation's account to open the campaign dashboard.")
        providers = [k for k, v in st.secrets["auth"].items() if isinstance(v, Mapping)]
        for provider in providers or [None]:
            label = f"Sign in with {provider.replace('_', ' ').title()}" if provider else "Sign in"
            if st.button(label, type="primary", key=f"sign_in_{provider}"):
                st.login(provider)
        return None
    try:
        user = workspace().user_for_identity(st.user.to_dict())
    except PermissionDenied as exc:
        st.error(str(exc))
        st.button("Sign out", key="sign_out_refused", on_click=st.logout)
        return None
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** · {user.role.label if user.role else 'no role'}")
        st.button("Sign out", key="sign_out", on_click=st.logout)
    return user


def _demo_user() -> User | None:
    """Demo mode: the visitor picks one of the workspace's users (shown plainly as demo mode)."""
    users = workspace().users()
    if not users:
        st.sidebar.error("This workspace has no users yet. Seed it with `python -m core seed`.")
        return None
    by_id = {u.id: u for u in users}
    if st.session_state.get("signed_in_id") not in by_id:
        default = next((u for u in users if u.role and u.role.value == "manager"), users[0])
        st.session_state["signed_in_id"] = default.id
    ids = list(by_id)
    with st.sidebar:
        st.caption("**Demo mode** — no sign-in provider is configured; pick who you are.")
        st.selectbox(
            "Signed in as",
            options=ids,
            index=ids.index(st.session_state["signed_in_id"]),
            format_func=lambda uid: f"{by_id[uid].name} · {by_id[uid].role.label if by_id[uid].role else 'no role'}",
            key="user_picker",
            on_change=_switch_user,
        )
    return by_id[st.session_state["signed_in_id"]]


def _switch_user() -> None:
    """The signed-in user lives outside the widget's state, so an interrupted rerun cannot reset it."""
    st.session_state["signed_in_id"] = st.session_state["user_picker"]
