"""The sandbox's draws are the same whichever code path computes them (outcomes must not depend
on how many profiles one call names)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core import sandbox

IDS = st.lists(st.integers(min_value=1, max_value=2**63 - 1), min_size=1, max_size=sandbox.FEW)
RUNS = st.integers(min_value=1, max_value=2**31 - 1)


@settings(max_examples=300, deadline=None)
@given(ids=IDS, run_id=RUNS, stream=st.integers(min_value=0, max_value=200))
def test_the_python_draw_is_the_numpy_draw_bit_for_bit(ids: list[int], run_id: int, stream: int) -> None:
    expected = sandbox._draw(np.array(ids, dtype=np.int64), run_id, stream)
    assert sandbox._draw_few(ids, run_id, stream) == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(ids=IDS, run_id=RUNS)
def test_errors_of_a_few_profiles_match_the_vectorised_answer(ids: list[int], run_id: int) -> None:
    few = sandbox.errors(np.array(ids, dtype=np.int64), run_id)
    assert few.dtype == np.bool_
    assert few.tolist() == (sandbox._draw(np.array(ids, dtype=np.int64), run_id, 0) < sandbox.ERROR_RATE).tolist()


def test_some_profiles_are_refused_at_the_documented_rate() -> None:
    """Not a constant: over 200,000 profiles about ERROR_RATE of them get an error, on both paths."""
    ids = np.arange(1, 200_001, dtype=np.int64)
    many = sandbox.errors(ids, 7)
    few = np.concatenate([sandbox.errors(ids[i:i + sandbox.FEW], 7) for i in range(0, 4000, sandbox.FEW)])
    assert abs(many.mean() - sandbox.ERROR_RATE) < 0.0005
    assert few.tolist() == many[:4000].tolist()


def test_send_times_of_a_few_messages_match_the_vectorised_ones() -> None:
    from datetime import datetime

    start = datetime(2026, 11, 23, 9, 30, 15, 123456)
    for per_second in (1, 3, 7, 1000, 250_000):
        many = sandbox.send_times(start, 50, per_second)
        for count in range(sandbox.FEW + 1):
            few = sandbox.send_times(start, count, per_second)
            assert few.dtype == np.dtype("datetime64[us]") and few.tolist() == many[:count].tolist()


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.integers(min_value=1, max_value=2**62), min_size=1, max_size=40),
       runs=st.lists(st.integers(min_value=1, max_value=2**31 - 1), min_size=1, max_size=40), single=st.booleans())
def test_a_column_of_streams_draws_what_each_stream_draws(ids: list[int], runs: list[int], single: bool) -> None:
    profile_ids = np.array(ids, dtype=np.int64)
    run_id: int | np.ndarray = runs[0] if single else np.resize(np.array(runs, dtype=np.int64), len(ids))
    together = sandbox._draw(profile_ids, run_id, sandbox.STREAMS)
    assert together.shape == (12, len(ids))
    for k in range(12):
        assert together[k].tolist() == sandbox._draw(profile_ids, run_id, k).tolist()
