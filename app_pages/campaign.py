"""A campaign's own page (`/campaign?id=N`): the same panel as under the list, at an address that
can be shared or bookmarked, and where the calendar links to."""

from __future__ import annotations

import streamlit as st

from core.models import User
from ui.campaign_view import details, flash
from ui.session import workspace


def main() -> None:
    user: User | None = st.session_state.get("user")
    if user is None:
        st.stop()
    st.page_link("app_pages/campaigns.py", label="← All campaigns")
    raw = st.query_params.get("id", "")
    if not raw.isdigit():
        st.error(f"“{raw}” is not a campaign number: open a campaign from the list or the calendar.")
        st.stop()
    details(workspace(), user, int(raw))


flash()
main()
