"""The wizard's session state: shared by the wizard and the list page, which resumes Drafts in it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.models import CampaignSpec


def wizard_state() -> dict[str, Any]:
    """What the user typed so far (kept across steps and page switches), and where they are."""
    if "wizard" not in st.session_state:
        st.session_state["wizard"] = {"step": 0, "id": None, "revision": None, "errors": {}, "resumed": False,
                                      "data": {"type": "scheduled", "purpose": "marketing", "channel": "email",
                                               "name": "", "description": "", "tags": [],
                                               "content": {"subject": "", "body": ""},
                                               "schedule": {"timezone": "UTC", "recurrence": "none"}}}
    return st.session_state["wizard"]


def resume(campaign_id: int, revision: int, spec: CampaignSpec) -> None:
    """Open a saved Draft in the wizard, prefilled with what was saved."""
    data = spec.model_dump(mode="json")
    data["tags"] = list(data["tags"])
    data["content"] = data.get("content") or {"subject": "", "body": ""}
    data["content"]["subject"] = data["content"].get("subject") or ""
    schedule = data.get("schedule") or {"timezone": "UTC", "recurrence": "none"}
    data["schedule"] = {k: v for k, v in schedule.items() if v is not None}
    if data["schedule"].get("recurrence", "none") != "none":
        data["schedule"]["recurrence_choice"] = data["schedule"]["recurrence"]
    st.session_state["wizard"] = {"step": 1, "id": campaign_id, "revision": revision, "errors": {}, "resumed": True,
                                  "data": data}
