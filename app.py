"""Herald's server: the dashboard (streamlit_app.py) and the REST API under /api/v1/, one process.

Run it with `streamlit run app.py` (what `make run` does): Streamlit finds the `st.App` below and
serves it with uvicorn. The API answers ahead of the dashboard's middleware (api/app.py's
`ApiFirst`); its routes share the process-wide workspace of HERALD_DB with the
dashboard's sessions (DuckDB lets one process open the file, and that process is this one).
"""

import streamlit as st

from api.app import lifespan, middleware

app = st.App("streamlit_app.py", middleware=middleware(), lifespan=lifespan)
