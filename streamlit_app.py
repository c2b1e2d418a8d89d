"""Herald's entry point: page setup, the signed-in user, and navigation. Nothing else."""

import streamlit as st

from ui.session import signed_in_user

st.set_page_config(page_title="Herald", page_icon="ui/herald.png", layout="wide")
st.session_state["user"] = signed_in_user()
page = st.navigation(
    [
        st.Page("pages/campaigns.py", title="Campaigns", default=True),
        st.Page("pages/audiences.py", title="Audiences"),
    ]
)
page.run()
