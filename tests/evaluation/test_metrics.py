"""Metrics against hand-computed values on tiny literal tables, plus hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shoprec.data import Interactions
from shoprec.evaluation import (
    activity_buckets,
    average_popularity,
    category_codes,
    category_diversity,
    coverage,
    embedding_diversity,
    hit_rate,
    item_counts,
    mrr,
    ndcg,
    novelty,
    popularity_bias,
    popularity_percentiles,
    popularity_shares,
)
from shoprec.evaluation.metrics import bucket_order

# Ranks of four cases in a 10-item catalogue; 10 = the target could not be ranked.
RANKS = np.array([0, 1, 4, 10])


def test_accuracy_metrics_match_hand_computed_values() -> None:
    assert hit_rate(RANKS, 5) == 0.75
    assert hit_rate(RANKS, 1) == 0.25
    assert hit_rate(RANKS, 4) == 0.5  # rank 4 is the fifth place
    assert ndcg(RANKS, 5) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(6)) / 4)
    assert ndcg(RANKS, 2) == pytest.approx((1 + 1 / math.log2(3)) / 4)
    assert mrr(RANKS, 5) == pytest.approx((1 + 0.5 + 0.2) / 4)
    assert mrr(RANKS, 1) == 0.25


def test_empty_input_is_nan_not_zero() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert math.isnan(hit_rate(empty, 10))
    assert math.isnan(ndcg(empty, 10))
    assert math.isnan(novelty(np.zeros((0, 3), np.int64), np.ones(4)))
    assert math.isnan(coverage(np.zeros((0, 3), np.int64), 4))


def test_coverage_counts_distinct_items_and_ignores_padding() -> None:
    top = np.array([[0, 1, 2], [1, 2, -1]])
    assert coverage(top, 10) == 0.3
    assert coverage(top[:, :1], 10) == 0.2


def test_category_diversity_skips_unknown_and_single_item_lists() -> None:
    categories = np.array([0, 0, 1, -1])
    top = np.array([[0, 1, 2], [2, 3, -1], [0, 2, -1]])
    # list 1: (0,1) same, (0,2) and (1,2) differ -> 2/3; list 2: item 3 unknown -> no pair;
    # list 3: (0,2) differ -> 1.
    assert category_diversity(top, categories) == pytest.approx((2 / 3 + 1) / 2)
    assert category_diversity(np.array([[0, 1]]), categories) == 0.0


def test_embedding_diversity_is_mean_pairwise_cosine_distance() -> None:
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [0.0, 0.0]])
    far = 1 - 1 / math.sqrt(2)
    assert embedding_diversity(np.array([[0, 1, 2]]), emb) == pytest.approx((1 + 2 * far) / 3)
    # item 3 has no vector: its pairs are left out, so the second list does not count.
    assert embedding_diversity(np.array([[0, 1, -1], [0, 3, -1]]), emb) == pytest.approx(1.0)


def test_novelty_is_mean_self_information_per_list() -> None:
    p = np.array([0.5, 0.25, 1.0, 0.125])
    assert novelty(np.array([[0, 1], [2, 3]]), p) == pytest.approx(1.5)
    assert novelty(np.array([[1, -1], [3, 2]]), p) == pytest.approx((2 + 1.5) / 2)


def test_popularity_percentiles_use_mid_ranks() -> None:
    counts = np.array([10.0, 4.0, 4.0, 0.0])
    np.testing.assert_allclose(popularity_percentiles(counts), [0.875, 0.5, 0.5, 0.125])
    top = np.array([[0, 1], [3, -1]])
    assert popularity_bias(top, counts) == pytest.approx(((0.875 + 0.5) / 2 + 0.125) / 2)
    assert average_popularity(top, counts) == pytest.approx((7.0 + 0.0) / 2)


def _log() -> Interactions:
    events = pl.DataFrame(
        {"user_id": ["a", "a", "b", "b", "c"], "item_id": ["x", "y", "x", "x", "z"]}
    )
    items = pl.DataFrame({"item_id": ["x", "y", "z", "w"], "category": ["b", "a", None, "b"]})
    return Interactions(events, items)


def test_item_counts_count_distinct_users_in_vocabulary_order() -> None:
    data = _log()
    assert data.item_vocab.ids == ["x", "y", "z", "w"]
    np.testing.assert_array_equal(item_counts(data), [2, 1, 1, 0])
    # never-seen item w is counted once so its self-information stays finite
    np.testing.assert_allclose(popularity_shares(data), [2 / 3, 1 / 3, 1 / 3, 1 / 3])


def test_category_codes_group_equal_categories_and_mark_unknown() -> None:
    codes = category_codes(_log())
    assert codes[0] == codes[3]
    assert codes[0] != codes[1]
    assert codes[2] == -1
    assert min(codes[0], codes[1]) >= 0


def test_activity_buckets_by_history_length() -> None:
    lengths = np.array([0, 1, 5, 6, 10, 11, 20, 21, 50, 51, 300])
    labels = activity_buckets(lengths)
    assert labels == ["0", "1-5", "1-5", "6-10", "6-10", "11-20", "11-20"] + [
        "21-50",
        "21-50",
        "51+",
        "51+",
    ]
    assert bucket_order(labels[::-1]) == ["0", "1-5", "6-10", "11-20", "21-50", "51+"]


ranks_strategy = hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(0, 200))


@given(ranks=ranks_strategy, k=st.integers(1, 100))
def test_accuracy_metric_bounds_and_order(ranks: np.ndarray, k: int) -> None:
    hr, n, m = hit_rate(ranks, k), ndcg(ranks, k), mrr(ranks, k)
    assert 0.0 <= m <= n <= hr <= 1.0
    # NDCG and MRR are 1 exactly when every target is first.
    assert (n == 1.0) == bool((ranks == 0).all())
    assert hit_rate(ranks, k + 1) >= hr
    assert hit_rate(ranks, k + 1) - hr == pytest.approx(np.mean(ranks == k))


@given(
    top=hnp.arrays(np.int64, (6, 4), elements=st.integers(-1, 7)),
    cats=hnp.arrays(np.int64, 8, elements=st.integers(-1, 2)),
)
def test_category_diversity_in_unit_interval_and_zero_for_one_category(
    top: np.ndarray, cats: np.ndarray
) -> None:
    value = category_diversity(top, cats)
    assert math.isnan(value) or 0.0 <= value <= 1.0
    same = category_diversity(top, np.zeros(8, dtype=np.int64))
    assert math.isnan(same) or same == 0.0
