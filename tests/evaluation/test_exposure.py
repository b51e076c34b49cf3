"""Exposure metrics on tiny literal tables, computed by hand (#21)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoprec.evaluation.exposure import (
    exposure_counts,
    exposure_gap,
    exposure_metrics,
    gini,
    group_exposure,
    long_tail_share,
    short_head,
)


def test_gini_of_equal_counts_is_zero() -> None:
    assert gini([3, 3, 3, 3]) == 0.0


def test_gini_of_one_item_taking_all_is_one_minus_one_over_n() -> None:
    # sorted (0, 0, 0, 8): (2*4 - 4 - 1) * 8 / (4 * 8) = 3/4
    assert gini([0, 8, 0, 0]) == pytest.approx(0.75)


def test_gini_by_hand() -> None:
    # sorted (1, 2, 3, 4), n=4, sum=10: (-3*1 - 1*2 + 1*3 + 3*4) / (4*10) = 10/40
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)


def test_gini_of_nothing_is_zero_and_negative_counts_are_refused() -> None:
    assert gini([]) == 0.0
    assert gini([0, 0]) == 0.0
    with pytest.raises(ValueError):
        gini([1, -1])


@given(st.lists(st.integers(0, 50), min_size=1, max_size=30))
def test_gini_matches_the_mean_absolute_difference(counts: list[int]) -> None:
    x = np.asarray(counts, dtype=float)
    if x.sum() == 0:
        return
    # The textbook definition: sum |xi - xj| over all pairs / (2 n^2 mean).
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(expected)


def test_exposure_counts_ignore_padding() -> None:
    top = np.array([[0, 1, -1], [1, 2, -1]])
    assert exposure_counts(top, 4).tolist() == [1, 2, 1, 0]


def test_short_head_holds_the_first_fifth_of_interactions() -> None:
    # total 20: item 2 (10) alone passes 4 = 20 %; items with 0 are never head.
    counts = np.array([5, 3, 10, 2, 0])
    assert short_head(counts).tolist() == [False, False, True, False, False]
    assert short_head(counts, 0.6).tolist() == [True, False, True, False, False]
    assert not short_head(np.zeros(3)).any()


def test_long_tail_share() -> None:
    head = np.array([True, False, False])
    assert long_tail_share([6, 3, 1], head) == pytest.approx(0.4)
    assert math.isnan(long_tail_share([0, 0, 0], head))


def test_group_exposure_and_gap_by_hand() -> None:
    # brand A: shown 8 of 10, engaged 2 of 8; brand B: shown 2, engaged 6; item 4 unbranded.
    shown = [5, 3, 2, 0, 7]
    engaged = [1, 1, 4, 2, 9]
    groups = ["A", "A", "B", "B", None]
    rows = group_exposure(shown, engaged, groups)
    assert [(r.group, r.exposure_share, r.interaction_share) for r in rows] == [
        ("A", 0.8, 0.25),
        ("B", 0.2, 0.75),
    ]
    assert rows[0].ratio == pytest.approx(3.2)
    assert exposure_gap(rows) == pytest.approx(0.55)


def test_exposure_metrics_keys_and_values() -> None:
    top = np.array([[0, 1], [0, 2]])
    interactions = np.array([8, 1, 1, 0])
    metrics = exposure_metrics(top, interactions, ["A", "B", "B", None])
    # shown (2, 1, 1, 0): sorted (0,1,1,2), sum 4: (-3*0 - 1 + 1 + 3*2) / 16
    assert metrics["gini@2"] == pytest.approx(6 / 16)
    # head = item 0 (8 of 10 interactions): tail impressions 2 of 4
    assert metrics["long_tail@2"] == pytest.approx(0.5)
    # A: shown 0.5 vs engaged 0.8; B: 0.5 vs 0.2 -> gap 0.3
    assert metrics["exposure_gap_brand@2"] == pytest.approx(0.3)
