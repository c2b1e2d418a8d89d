"""Herald's entry point: page setup, the signed-in user, and navigation. Nothing else."""

import streamlit as st

from ui.session import signed_in_user

st.set_page_config(page_title="Herald", page_icon="ui/herald.png", layout="wide")
st.session_state["user"] = signed_in_user()
page = st.navigation(
    {
        "Campaigns": [
            st.Page("app_pages/campaigns.py", title="Campaigns", default=True),
            st.Page("app_pages/wizard.py", title="New campaign"),
            st.Page("app_pages/calendar.py", title="Calendar"),
            st.Page("app_pages/audiences.py", title="Audiences"),
            st.Page("app_pages/admin.py", title="Administration"),
            st.Page("app_pages/campaign.py", title="Campaign", url_path="campaign", visibility="hidden"),
        ],
        "Analytics": [
            st.Page("app_pages/overview.py", title="Overview"),
            st.Page("app_pages/report.py", title="Campaign report", url_path="report"),
            st.Page("app_pages/compare.py", title="Compare"),
        ],
    },
    position="sidebar" if st.session_state["user"] else "hidden",
)
page.run()
