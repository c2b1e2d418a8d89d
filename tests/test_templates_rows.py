"""The API's fast paths give exactly what the run pipeline's vectorised code gives:
`templates.RowRenderer` against `templates.render`, `templates.context_text` against the
context formatting of `render`, and `sandbox.simulate_many` / `sandbox.errors` against `simulate`."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import sandbox, templates
from core.enums import Channel, Purpose
from core.profiles import generate_profiles
from core.segments import PROFILE_SCHEMA

NOW = datetime(2026, 11, 23, 9, 0)
PROFILES = generate_profiles(300, seed=5, now=NOW).with_columns(  # some missing values too
    pl.when(pl.col("profile_id") % 7 == 0).then(None).otherwise(pl.col("first_name")).alias("first_name"),
    pl.when(pl.col("profile_id") % 5 == 0).then(None).otherwise(pl.col("lifetime_value")).alias("lifetime_value"),
    pl.when(pl.col("profile_id") % 11 == 0).then(None).otherwise(pl.col("country")).alias("country"),
)
TOKEN_TEXT = st.text(alphabet=st.characters(blacklist_characters="{}|", blacklist_categories=("Cs",)), max_size=8)
CONTEXT_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from([0.005, 0.015, 2.675, -0.5, -0.004, 1e17, 123456.785, ""]),
)


@st.composite
def template_texts(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["text", "profile", "context"]))
        fallback = draw(st.one_of(st.none(), TOKEN_TEXT.map(str.strip)))
        tail = f"|{fallback}" if fallback is not None else ""
        if kind == "text":
            parts.append(draw(TOKEN_TEXT))
        elif kind == "profile":
            parts.append("{{profile." + draw(st.sampled_from(sorted(PROFILE_SCHEMA))) + tail + "}}")
        else:
            parts.append("{{context." + draw(st.sampled_from(["a", "b", "c"])) + tail + "}}")
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(text=template_texts(), rows=st.lists(st.integers(0, PROFILES.height - 1), min_size=1, max_size=12),
       context=st.dictionaries(st.sampled_from(["a", "b", "c"]), CONTEXT_VALUES, max_size=3),
       escape=st.booleans())
def test_row_renderer_equals_render(text: str, rows: list[int], context: dict, escape: bool) -> None:
    expected = templates.render(text, PROFILES[rows], context, escape_html=escape).to_list()
    assert templates.RowRenderer(text, PROFILES, escape_html=escape).render(rows, context) == expected


@settings(max_examples=300, deadline=None)
@given(value=CONTEXT_VALUES, fallback=st.one_of(st.none(), st.text(max_size=4)), escape=st.booleans())
def test_context_text_equals_the_vectorised_formatting(value: object, fallback: str | None, escape: bool) -> None:
    assert templates.context_text("k", value, fallback, escape) == templates._scalar_fragment("k", value, fallback,
                                                                                              escape)


def test_many_rows_render_through_the_vectorised_gather() -> None:
    text = "{{profile.first_name|there}} {{profile.lifetime_value}} {{profile.signup_at}} {{context.a}}"
    rows = list(range(0, 300, 3))
    assert templates.RowRenderer(text, PROFILES).render(rows, {"a": 1.5}) == templates.render(
        text, PROFILES[rows], {"a": 1.5}).to_list()


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 30), min_size=1, max_size=8), channel=st.sampled_from(list(Channel)),
       purpose=st.sampled_from(list(Purpose)), first_run=st.integers(1, 10_000))
def test_simulating_many_runs_at_once_equals_each_run_alone(sizes: list[int], channel: Channel, purpose: Purpose,
                                                            first_run: int) -> None:
    parts, run_ids, times, offset = [], [], [], 0
    for i, n in enumerate(sizes):
        parts.append(PROFILES.slice(offset % 250, n))
        run_ids += [first_run + i] * n
        times.append(sandbox.send_times(datetime(2026, 1, 1, i % 24), n, 20))
        offset += n
    together = sandbox.simulate_many(pl.concat(parts), np.array(run_ids), channel, purpose, np.concatenate(times))
    alone = pl.concat([
        sandbox.simulate(part, first_run + i, channel, purpose, times[i]).with_columns(
            pl.lit(first_run + i, pl.Int32).alias("run_id"))
        for i, part in enumerate(parts)
    ])
    assert together.sort(pl.all()).equals(alone.sort(pl.all()))
    errors = np.concatenate([sandbox.errors(part["profile_id"].to_numpy(), first_run + i)
                             for i, part in enumerate(parts)])
    assert errors.sum() == alone.filter(pl.col("event") == "error").height


def test_runs_must_be_contiguous_in_simulate_many() -> None:
    with pytest.raises(ValueError, match="together"):
        sandbox.simulate_many(PROFILES.head(3), np.array([1, 2, 1]), Channel.EMAIL, Purpose.MARKETING,
                              sandbox.send_times(NOW, 3, 10))
