"""Herald's REST API (`/api/v1/`): Starlette routes served in the dashboard's own process by
`st.App` (see app.py), on the process-wide workspace. The rules live in core/; this package only
speaks HTTP: authentication header, body limits, JSON, status codes and the OpenAPI document."""
