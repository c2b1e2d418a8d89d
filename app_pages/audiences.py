"""Audiences: sizes and reach per channel, a rule builder with a live estimate, CSV lists,
overlap between audiences, and the profile table and suppression list they are computed from."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from core.audiences import ChannelReach
from core.enums import Action, Channel
from core.errors import HeraldError, InvalidInput
from core.models import User
from core.profile_import import ProfileFileRefused
from core.roles import may
from core.segments import PROFILE_SCHEMA, Group, Kind, Operator, describe
from core.workspace import Workspace
from ui.session import page_context

_IDS = itertools.count()
OPERATOR_LABELS = {
    Operator.EQUALS: "is",
    Operator.NOT_EQUALS: "is not",
    Operator.IN: "is one of",
    Operator.NOT_IN: "is none of",
    Operator.LT: "<",
    Operator.LTE: "≤",
    Operator.GT: ">",
    Operator.GTE: "≥",
    Operator.BETWEEN: "between",
    Operator.CONTAINS: "contains",
    Operator.STARTS_WITH: "starts with",
    Operator.IS_EMPTY: "is empty",
    Operator.IS_NOT_EMPTY: "is not empty",
    Operator.IS_TRUE: "is true",
    Operator.IS_FALSE: "is false",
    Operator.BEFORE: "before",
    Operator.AFTER: "after",
    Operator.WITHIN_LAST_DAYS: "within the last N days",
    Operator.MORE_THAN_DAYS_AGO: "more than N days ago",
}
REASON_LABELS = {"suppressed": "Suppressed", "no_address": "No address", "no_consent": "No consent"}


def main() -> None:
    user, ws = page_context()
    st.title("Audiences")
    try:
        _overview(ws, user)
    except HeraldError as exc:
        st.error(str(exc))
        st.stop()
    build, upload, overlap, data = st.tabs(["Build from rules", "Upload a list", "Overlap", "Profiles & suppression"])
    with build:
        _builder(ws, user)
    with upload:
        _upload(ws, user)
    with overlap:
        _overlap(ws, user)
    with data:
        _profiles_and_suppression(ws, user)


def _overview(ws: Workspace, user: User) -> None:
    audiences = ws.audiences.list(user)
    reach = ws.audiences.saved_reach(user)
    profiles = ws.audiences.profiles().height
    st.caption(f"{len(audiences)} audiences over {profiles:,} profiles. Reachable counts exclude suppressed "
               "profiles, missing addresses and missing consent for the channel.")
    table = pl.DataFrame(
        [
            {
                "Audience": a.name,
                "Built from": "Rules" if a.kind == "rules" else "Uploaded list",
                "Definition": describe(Group.model_validate(a.definition)) if a.kind == "rules"
                else f"{a.definition.get('rows', 0):,} rows matched by {a.definition.get('matched_by', '?')}",
                "Size": a.size,
                **{f"Reach · {r.channel.label}": r.reachable for r in reach.get(a.id or 0, [])
                   if r.channel in (Channel.EMAIL, Channel.SMS, Channel.PUSH)},
                "Computed (UTC)": a.computed_at,
            }
            for a in audiences
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        key="audience_table",
        column_config={
            "Size": st.column_config.NumberColumn(format="localized"),
            "Reach · Email": st.column_config.NumberColumn(format="localized"),
            "Reach · SMS": st.column_config.NumberColumn(format="localized"),
            "Reach · Push": st.column_config.NumberColumn(format="localized"),
            "Computed (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        },
    )
    if st.button("Recompute sizes", help="Sizes are computed when an audience is saved and when profiles change."):
        ws.audiences.refresh(user)
        st.rerun()


# ---- rule builder -----------------------------------------------------------------------------


def _new_condition() -> dict[str, Any]:
    return {"id": next(_IDS), "attribute": "country", "operator": Operator.IN.value}


def _builder_state() -> dict[str, Any]:
    if "builder" not in st.session_state:
        st.session_state["builder"] = {"match": "all", "groups": [{"id": next(_IDS), "match": "all",
                                                                    "conditions": [_new_condition()]}]}
    return st.session_state["builder"]


@st.fragment
def _builder(ws: Workspace, user: User) -> None:
    """A fragment: editing a condition reruns only the builder and its live estimate."""
    state = _builder_state()
    if len(state["groups"]) > 1:
        state["match"] = st.segmented_control(
            "Profiles that match", ["all", "any"], default=state["match"], required=True, key="builder_match",
            format_func=lambda m: "all groups" if m == "all" else "any group",
        )
    for group in list(state["groups"]):
        with st.container(border=True):
            head = st.columns([3, 1], vertical_alignment="bottom")
            group["match"] = head[0].segmented_control(
                "Within this group, match", ["all", "any"], default=group["match"], required=True,
                key=f"gmatch-{group['id']}", format_func=lambda m: "all conditions" if m == "all" else "any condition",
            )
            if len(state["groups"]) > 1 and head[1].button("Remove group", key=f"gdel-{group['id']}"):
                state["groups"].remove(group)
                st.rerun(scope="fragment")
            for condition in list(group["conditions"]):
                _condition_row(group, condition)
            if st.button("Add condition", key=f"cadd-{group['id']}", icon=":material/add:"):
                group["conditions"].append(_new_condition())
                st.rerun(scope="fragment")
    if st.button("Add group", key="gadd"):
        state["groups"].append({"id": next(_IDS), "match": "all", "conditions": [_new_condition()]})
        st.rerun(scope="fragment")

    rule = _rule_from_state(state)
    st.divider()
    try:
        reach = ws.audiences.reach(user, rule)
    except InvalidInput as exc:
        st.warning("\n".join(f"- **{_field_label(f)}**: {why}" for f, why in exc.problems.items()))
        return
    _reach_panel(reach, describe(Group.model_validate(rule)))
    if not may(user.role, Action.MANAGE_AUDIENCES):
        st.caption("Your role may look but not save audiences.")
        return
    with st.form("save_rule_audience", border=False):
        name_col, desc_col = st.columns([1, 2])
        name = name_col.text_input("Audience name", key="new_audience_name")
        description = desc_col.text_input("Description", key="new_audience_description")
        if st.form_submit_button("Save audience", type="primary"):
            try:
                saved = ws.audiences.create_from_rule(user, name, description, rule)
            except HeraldError as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("builder", None)
                st.toast(f"Saved {saved.name}: {saved.size:,} profiles.")
                st.rerun(scope="app")


def _condition_row(group: dict[str, Any], condition: dict[str, Any]) -> None:
    cid = condition["id"]
    attr_col, op_col, value_col, drop_col = st.columns([2, 2, 4, 1], vertical_alignment="bottom")
    names = list(PROFILE_SCHEMA)
    attribute = attr_col.selectbox(
        "Attribute", names, index=names.index(condition["attribute"]), key=f"attr-{cid}",
        format_func=lambda n: PROFILE_SCHEMA[n].label,
    )
    spec = PROFILE_SCHEMA[attribute]
    if attribute != condition["attribute"]:
        condition.update(attribute=attribute, operator=spec.operators[0].value)
        condition.pop("value", None)
    operators = [o.value for o in spec.operators]
    operator = op_col.selectbox(
        "Operator", operators, index=operators.index(condition["operator"]) if condition["operator"] in operators else 0,
        key=f"op-{cid}-{attribute}", format_func=lambda o: OPERATOR_LABELS[Operator(o)],
    )
    condition["operator"] = operator
    with value_col:
        condition["value"] = _value_widget(spec.kind, spec.values, Operator(operator), f"val-{cid}-{attribute}-{operator}")
    if len(group["conditions"]) > 1 and drop_col.button("", key=f"cdel-{cid}", icon=":material/close:",
                                                        help="Remove this condition"):
        group["conditions"].remove(condition)
        st.rerun(scope="fragment")


def _value_widget(kind: Kind, values: tuple[str, ...], operator: Operator, key: str) -> Any:
    if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY, Operator.IS_TRUE, Operator.IS_FALSE):
        st.caption("no value needed")
        return None
    if operator in (Operator.WITHIN_LAST_DAYS, Operator.MORE_THAN_DAYS_AGO):
        return int(st.number_input("Days", min_value=1, max_value=36_500, value=30, step=1, key=key))
    if operator in (Operator.BEFORE, Operator.AFTER):
        return st.date_input("Date", value=date.today(), key=key, format="YYYY-MM-DD").isoformat()
    if kind is Kind.ENUM:
        if operator in (Operator.IN, Operator.NOT_IN):
            return st.multiselect("Values", list(values), default=list(values[:1]), key=key)
        return st.selectbox("Value", list(values), key=key)
    if kind in (Kind.INT, Kind.FLOAT):
        number = (lambda label, k: st.number_input(label, value=0, step=1, key=k)) if kind is Kind.INT else (
            lambda label, k: st.number_input(label, value=0.0, key=k))
        if operator is Operator.BETWEEN:
            low, high = st.columns(2)
            with low:
                a = number("From", f"{key}-lo")
            with high:
                b = number("To", f"{key}-hi")
            return [a, b]
        if operator in (Operator.IN, Operator.NOT_IN):
            text = st.text_input("Values (comma-separated)", key=key)
            return [v.strip() for v in text.split(",") if v.strip()]
        return number("Value", key)
    text = st.text_input("Values (comma-separated)" if operator in (Operator.IN, Operator.NOT_IN) else "Value", key=key)
    if operator in (Operator.IN, Operator.NOT_IN):
        return [v.strip() for v in text.split(",") if v.strip()]
    return text


def _rule_from_state(state: dict[str, Any]) -> dict[str, Any]:
    def condition(c: dict[str, Any]) -> dict[str, Any]:
        out = {"attribute": c["attribute"], "operator": c["operator"]}
        if c.get("value") is not None:
            out["value"] = c["value"]
        return out

    groups = [{"match": g["match"], "rules": [condition(c) for c in g["conditions"]]} for g in state["groups"]]
    if len(groups) == 1:
        return groups[0]
    return {"match": state["match"], "rules": groups}


def _field_label(field: str) -> str:
    """rules.1.rules.0.value -> group 2 › condition 1 › value (people count from one)."""
    parts = field.split(".")
    words: list[str] = []
    for i, part in enumerate(parts):
        if part == "rules" and i + 1 < len(parts) and parts[i + 1].isdigit():
            nested = "rules" in parts[i + 2:]
            words.append(f"{'group' if nested else 'condition'} {int(parts[i + 1]) + 1}")
        elif not part.isdigit():
            words.append(part)
    return " › ".join(words)


def _reach_panel(reach: list[ChannelReach], sentence: str) -> None:
    st.markdown(f"**{sentence}**")
    size = reach[0].size if reach else 0
    tiles = st.columns(4)
    tiles[0].metric("Estimated size", f"{size:,}")
    for tile, channel in zip(tiles[1:], (Channel.EMAIL, Channel.SMS, Channel.PUSH), strict=True):
        r = next(x for x in reach if x.channel is channel)
        tile.metric(f"Reachable by {channel.label}", f"{r.reachable:,}",
                    help=", ".join(f"{REASON_LABELS[k]}: {v:,}" for k, v in r.excluded.items()))
    funnel = pl.DataFrame(
        [
            {"channel": r.channel.label, "reason": REASON_LABELS[k], "profiles": v}
            for r in reach
            for k, v in r.excluded.items()
        ]
        + [{"channel": r.channel.label, "reason": "Reachable", "profiles": r.reachable} for r in reach]
    )
    chart = (
        alt.Chart(funnel)
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None, sort=[c.label for c in Channel]),
            x=alt.X("profiles:Q", title="Profiles in the audience", stack="zero"),
            color=alt.Color("reason:N", title=None,
                            scale=alt.Scale(domain=["Reachable", "No consent", "No address", "Suppressed"],
                                            range=["#4338CA", "#A5B4FC", "#CBD5E1", "#F87171"])),
            order=alt.Order("reason:N"),
            tooltip=["channel", "reason", alt.Tooltip("profiles:Q", format=",")],
        )
        .properties(height=180)
    )
    st.altair_chart(chart, width="stretch")


# ---- uploads, overlap, profiles ------------------------------------------------------------------


def _upload(ws: Workspace, user: User) -> None:
    st.write("A CSV with one column of profile ids or email addresses (a header row is optional).")
    if not may(user.role, Action.MANAGE_AUDIENCES):
        st.caption("Your role may look but not create audiences.")
        return
    with st.form("upload_audience"):
        name = st.text_input("Audience name", key="upload_name")
        description = st.text_input("Description", key="upload_description")
        file = st.file_uploader("List", type=["csv", "txt"], key="upload_file")
        if st.form_submit_button("Create audience", type="primary"):
            if file is None:
                st.error("Choose a CSV file first.")
                return
            try:
                audience, report = ws.audiences.create_from_upload(user, name, description, file.getvalue(), file.name)
            except HeraldError as exc:
                st.error(str(exc))
                return
            st.success(
                f"Created **{audience.name}**: {report.matched:,} profiles matched by {report.matched_by}, "
                f"{report.unmatched:,} not found, {report.duplicates:,} duplicate rows ignored."
            )
            if report.unmatched_sample:
                st.caption("Not found: " + ", ".join(report.unmatched_sample))


def _overlap(ws: Workspace, user: User) -> None:
    audiences = ws.audiences.list(user)
    names = {a.id: a.name for a in audiences}
    chosen = st.multiselect("Audiences to compare", list(names), default=list(names)[:6],
                            format_func=lambda i: names[i], key="overlap_ids")
    if len(chosen) < 2:
        st.info("Pick at least two audiences.")
        return
    frame = ws.audiences.overlap(user, chosen)
    order = [names[i] for i in chosen]
    base = alt.Chart(frame).encode(
        x=alt.X("other:N", title="…shared with", sort=order, axis=alt.Axis(labelAngle=-30, labelLimit=220)),
        y=alt.Y("audience:N", title="Share of this audience…", sort=order, axis=alt.Axis(labelLimit=220)),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("share_pct:Q", title="% of row audience", scale=alt.Scale(scheme="purples", domain=[0, 100])),
        tooltip=["audience", "other", alt.Tooltip("shared:Q", format=","), alt.Tooltip("share_pct:Q", format=".1f")],
    )
    labels = base.mark_text(fontSize=11).encode(
        text=alt.Text("share_pct:Q", format=".0f"),
        color=alt.when(alt.datum.share_pct > 55).then(alt.value("white")).otherwise(alt.value("#1E2235")),
    )
    st.altair_chart((heat + labels).properties(height=60 + 40 * len(chosen)), width="stretch")
    st.dataframe(frame.rename({"audience": "Audience", "other": "Other", "shared": "Shared profiles",
                               "share_pct": "% of audience"}), hide_index=True)


def _profiles_and_suppression(ws: Workspace, user: User) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Import profiles")
        st.write("CSV or Parquet with a `profile_id` column and any of the profile attributes. New ids are "
                 "added, known ids updated. One bad cell refuses the whole file.")
        if may(user.role, Action.IMPORT_PROFILES):
            file = st.file_uploader("Profile file", type=["csv", "parquet"], key="profile_file")
            if file is not None and st.button("Import", key="import_profiles"):
                try:
                    report = ws.audiences.import_profiles(user, file.getvalue(), file.name)
                except ProfileFileRefused as exc:
                    st.error(str(exc).split(":")[0] + f": {exc.total} problem(s).")
                    st.dataframe(pl.DataFrame([vars(p) for p in exc.problems]), hide_index=True)
                except HeraldError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Imported {report.rows:,} rows: {report.inserted:,} new, {report.updated:,} updated.")
        else:
            st.caption("Only an Administrator may import profiles.")
    with right:
        st.subheader("Suppression list")
        st.write("Profiles, emails or phone numbers here never receive anything, whatever the campaign.")
        if may(user.role, Action.SUPPRESS):
            with st.form("suppress", clear_on_submit=True):
                kind = st.segmented_control("Kind", ["email", "phone", "profile"], default="email", required=True)
                values = st.text_area("Values, one per line", key="suppress_values")
                reason = st.text_input("Reason", key="suppress_reason")
                if st.form_submit_button("Suppress"):
                    try:
                        added = ws.audiences.suppress(user, str(kind), values.splitlines(), reason)
                    except HeraldError as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"{added} added to the suppression list.")
        listed = ws.audiences.suppressions(user)
        st.dataframe(listed, hide_index=True, height=min(10, max(listed.height, 1)) * 35 + 40)


main()
