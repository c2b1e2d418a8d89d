"""A campaign's own page (`/campaign?id=N`): the same panel as under the list, at an address that
can be shared or bookmarked, and where the calendar links to."""

from __future__ import annotations

import streamlit as st

from ui.campaign_view import details, flash
from ui.session import page_context


def main() -> None:
    user, ws = page_context()
    st.page_link("app_pages/campaigns.py", label="← All campaigns")
    raw = st.query_params.get("id", "")
    if not raw.isdigit():
        st.error(f"“{raw}” is not a campaign number: open a campaign from the list or the calendar.")
        st.stop()
    details(ws, user, int(raw))


flash()
main()
