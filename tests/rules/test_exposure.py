"""The exposure-aware re-ranking rule (#21): a planted brand loses share, relevance still counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shoprec.rules import ExposureRule, exposure_order, popularity_scale


def test_off_by_default_keeps_the_score_order() -> None:
    scores = np.array([0.2, 0.9, 0.5])
    assert not ExposureRule().active
    assert exposure_order(scores, 2, ExposureRule(), np.ones(3), ["a", "a", "a"]) == [1, 2]


def test_brand_cap_reduces_a_planted_brands_share() -> None:
    # Brand "big" holds the 6 best-scored candidates; the others trail.
    scores = np.array([1.0, 0.99, 0.98, 0.97, 0.96, 0.95, 0.5, 0.4, 0.3, 0.2])
    groups = ["big"] * 6 + ["b", "c", "d", "e"]
    plain = exposure_order(scores, 5, ExposureRule(), None, groups)
    capped = exposure_order(scores, 5, ExposureRule(brand_cap=2), None, groups)
    share = lambda picks: sum(groups[p] == "big" for p in picks) / len(picks)  # noqa: E731
    assert share(plain) == 1.0
    assert share(capped) == pytest.approx(0.4)
    # The best of the capped brand still come first, then the best of the others.
    assert capped == [0, 1, 6, 7, 8]


def test_capped_items_fill_when_no_other_brand_is_left() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    groups = ["x", "x", "x", None]
    assert exposure_order(scores, 4, ExposureRule(brand_cap=1), None, groups) == [0, 3, 1, 2]


def test_popularity_mix_lifts_a_nearly_as_relevant_tail_item() -> None:
    scores = np.array([1.0, 0.95, 0.1])
    popularity = popularity_scale(np.array([10_000.0, 3.0, 1.0]))
    assert exposure_order(scores, 2, ExposureRule(), popularity) == [0, 1]
    assert exposure_order(scores, 2, ExposureRule(popularity_penalty=0.3), popularity) == [1, 0]


def test_popularity_scale_is_log_and_bounded() -> None:
    scaled = popularity_scale([0.0, 9.0, 99.0])
    assert scaled.tolist() == pytest.approx([0.0, np.log(10) / np.log(100), 1.0])
    assert popularity_scale([5.0], peak=0.0).tolist() == [0.0]


def test_rule_config_is_validated() -> None:
    with pytest.raises(ValidationError):
        ExposureRule(popularity_penalty=1.5)
    with pytest.raises(ValidationError):
        ExposureRule(brand_cap=0)


@given(
    st.lists(st.floats(-5, 5), min_size=1, max_size=25),
    st.integers(1, 30),
    st.integers(1, 3),
    st.floats(0, 1),
)
def test_picks_are_distinct_and_never_more_than_asked(
    values: list[float], n: int, cap: int, penalty: float
) -> None:
    scores = np.asarray(values)
    groups = [("a", "b", None)[i % 3] for i in range(len(values))]
    rule = ExposureRule(brand_cap=cap, popularity_penalty=penalty)
    picks = exposure_order(scores, n, rule, np.linspace(0, 1, len(values)), groups)
    assert len(picks) == len(set(picks)) == min(n, len(values), n * rule.pool)
