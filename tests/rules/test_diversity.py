from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from shoprec.rules import mmr


def test_weight_zero_keeps_score_order() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1], dtype=np.float32)
    assert mmr(scores, 3, 0.0, ["x", "x", "x", "y"]) == [0, 1, 2]


def test_weight_one_takes_a_new_category_before_repeating() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1], dtype=np.float32)
    cats = ["x", "x", "x", "y", "z"]
    assert mmr(scores, 4, 1.0, cats) == [0, 3, 4, 1]


def test_embeddings_count_as_similarity() -> None:
    scores = np.array([0.9, 0.8, 0.1], dtype=np.float32)
    vectors = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    assert mmr(scores, 2, 0.9, None, vectors) == [0, 2]


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.floats(0, 1), st.integers(1, 40))
def test_picks_are_distinct_and_start_with_the_best(
    values: list[float], weight: float, n: int
) -> None:
    scores = np.asarray(values, dtype=np.float32)
    cats = [str(i % 3) for i in range(len(values))]
    picks = mmr(scores, n, weight, cats)
    assert len(picks) == min(n, len(values)) == len(set(picks))
    assert scores[picks[0]] == scores.max()
