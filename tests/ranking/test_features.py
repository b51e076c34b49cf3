"""Ranking features on a hand-made shop: every column against a hand-computed value."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data import UserSequences
from shoprec.ranking.candidates import CandidateSet, TextSimilarity
from shoprec.ranking.features import (
    EVENT_TYPE_FEATURES,
    FEATURE_NAMES,
    SCENARIOS,
    FeatureBuilder,
    feature_names,
)
from shoprec.ranking.item_stats import ItemStats
from shoprec.types import EVENT_TYPE_CODES

from .test_item_stats import DAY, T0, hand_log

NAN = np.nan
#: Now: the latest history event, day 11 at 03:00 UTC (T0 is midnight).
NOW = T0 + 11 * DAY + 3 * 3600.0
#: Item rows a, b, c, d; text vectors (d has no text).
VECTORS = np.asarray([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.0, 0.0]], dtype=np.float32)
Q = 1 / np.sqrt(1.25)  # norm of the query vector a + 0.5 b


def _history() -> UserSequences:
    """b viewed, then a added to cart and bought (1 and 2 hours later)."""
    codes = [EVENT_TYPE_CODES[t] for t in ("view", "addtocart", "purchase")]
    seqs = UserSequences.from_lists([[1, 0, 0]], ["shopper"], [codes])
    seqs.timestamps[:] = [NOW - 3 * 3600.0, NOW - 3600.0, NOW]
    return seqs


def _candidates() -> CandidateSet:
    return CandidateSet(
        rows=np.asarray([0, 1, 2, 3], dtype=np.int64),
        source_names=("s1", "s2"),
        scores=np.asarray([[0.9, NAN], [0.5, NAN], [0.2, 3.0], [NAN, 1.0]], dtype=np.float32),
        ranks=np.asarray([[1, NAN], [2, NAN], [3, 1], [NAN, 2]], dtype=np.float32),
    )


@pytest.fixture
def builder() -> FeatureBuilder:
    stats = ItemStats.from_interactions(hand_log())
    # "gone" is configured but absent from the candidates (a source dropped at fit).
    return FeatureBuilder(("s1", "gone", "s2"), stats, TextSimilarity(VECTORS))


EXPECTED: dict[str, list[float]] = {
    "s1_score": [0.9, 0.5, 0.2, NAN],
    "s1_rank": [1, 2, 3, NAN],
    "gone_score": [NAN] * 4,
    "gone_rank": [NAN] * 4,
    "s2_score": [NAN, NAN, 3.0, 1.0],
    "s2_rank": [NAN, NAN, 1, 2],
    "n_sources": [1, 1, 2, 1],
    "pop_all": list(np.log1p([3, 2, 0, 1])),
    "pop_recent": list(np.log1p([1, 1, 0, 1])),
    "pop_view": list(np.log1p([1, 1, 0, 0])),
    "pop_cart": list(np.log1p([1, 0, 0, 0])),
    "pop_purchase": list(np.log1p([1, 1, 0, 0])),
    "pop_favorite": list(np.log1p([0, 0, 0, 1])),
    "age_days": [11.125, 9.125, NAN, 2.125],
    "log_price": [np.log1p(10), NAN, np.log1p(3), NAN],
    "in_stock": [1, 0, NAN, NAN],
    "hist_len": [3] * 4,
    "n_view": [1] * 4,
    "n_cart": [1] * 4,
    "n_purchase": [1] * 4,
    "n_favorite": [0] * 4,
    "gap_last_hours": [1.0] * 4,
    "n_categories": [2] * 4,
    "mean_log_price": [np.log1p(10)] * 4,  # b has no price
    "same_category_last": [1, 0, NAN, NAN],  # last item a: skin
    "same_brand_last": [1, 0, 0, NAN],  # a: Zed; b and c: Acme
    "category_share": [2 / 3, 1 / 3, NAN, NAN],
    "brand_share": [2 / 3, 1 / 3, 1 / 3, NAN],
    "price_ratio": [0.0, NAN, np.log1p(3) - np.log1p(10), NAN],
    "text_sim_last": [1.0, 0.0, 0.6, NAN],
    "text_sim_recent": [Q, 0.5 * Q, (0.6 + 0.4) * Q, NAN],
    "seen_before": [1, 1, 0, 0],
    "carted_before": [1, 0, 0, 0],
    "purchased_before": [1, 0, 0, 0],
    "scenario": [SCENARIOS.index("search")] * 4,
    "hour": [3] * 4,
}


def test_every_feature_matches_its_hand_computed_value(builder: FeatureBuilder) -> None:
    assert set(EXPECTED) == set(builder.names)
    rows = builder.build(_history(), [_candidates()], scenario="search")[0]
    assert rows.shape == (4, len(builder.names))
    assert rows.dtype == np.float32
    for j, name in enumerate(builder.names):
        np.testing.assert_allclose(rows[:, j], EXPECTED[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_a_cold_shopper_gets_nan_history_features(builder: FeatureBuilder) -> None:
    empty = UserSequences.from_lists([[]])
    rows = builder.build(empty, [_candidates()])[0]
    col = {n: rows[:, j] for j, n in enumerate(builder.names)}
    assert (col["hist_len"] == 0).all()
    assert (col["seen_before"] == 0).all()
    for name in ("age_days", "gap_last_hours", "hour", "mean_log_price", "same_brand_last"):
        assert np.isnan(col[name]).all(), name
    for name in ("category_share", "text_sim_last", "text_sim_recent"):
        assert np.isnan(col[name]).all(), name
    np.testing.assert_allclose(col["pop_all"], EXPECTED["pop_all"], rtol=1e-6)


def test_rows_do_not_depend_on_the_rest_of_the_batch(builder: FeatureBuilder) -> None:
    alone = builder.build(_history(), [_candidates()])[0]
    h = _history()
    other = UserSequences.from_lists([[3, 2], [], [1, 0, 0]], ["x", "y", "shopper"])
    other.timestamps[-3:] = h.timestamps
    other.types[-3:] = h.types
    batch = builder.build(other, [_candidates(), _candidates(), _candidates()])
    np.testing.assert_array_equal(batch[2], alone)


def test_unknown_scenario_gets_the_spare_code(builder: FeatureBuilder) -> None:
    rows = builder.build(_history(), [_candidates()], scenario="not-a-scenario")[0]
    assert (rows[:, builder.names.index("scenario")] == len(SCENARIOS)).all()
    assert builder.categorical == (builder.names.index("scenario"),)


def test_without_text_the_text_features_are_nan() -> None:
    stats = ItemStats.from_interactions(hand_log())
    plain = FeatureBuilder(("s1", "s2"), stats, None)
    rows = plain.build(_history(), [_candidates()])[0]
    for name in ("text_sim_last", "text_sim_recent"):
        assert np.isnan(rows[:, plain.names.index(name)]).all()


def test_event_type_features_off_drops_exactly_those_columns() -> None:
    on, off = feature_names(["s"]), feature_names(["s"], event_type_features=False)
    assert set(on) - set(off) == EVENT_TYPE_FEATURES
    assert set(FEATURE_NAMES) > EVENT_TYPE_FEATURES
    assert on[:2] == ("s_score", "s_rank")
    stats = ItemStats.from_interactions(hand_log())
    builder = FeatureBuilder(("s1", "s2"), stats, TextSimilarity(VECTORS), False)
    rows = builder.build(_history(), [_candidates()])[0]
    assert rows.shape[1] == len(off) + 2  # two sources instead of one


def test_empty_batch_and_empty_candidate_sets(builder: FeatureBuilder) -> None:
    assert builder.build(UserSequences.from_lists([]), []) == []
    none = CandidateSet(
        np.zeros(0, np.int64), ("s1",), np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32)
    )
    rows = builder.build(_history(), [none])
    assert rows[0].shape == (0, len(builder.names))


def test_text_similarity_finds_the_items_closest_to_the_recent_ones() -> None:
    text = TextSimilarity(VECTORS)
    b, rows, scores = text.top_k_rows(_history(), k=4)
    assert b.tolist() == [0, 0, 0]  # d has no text
    assert sorted(rows[:2].tolist()) == [0, 2] and rows[2] == 1
    np.testing.assert_allclose(scores, [Q, Q, 0.5 * Q], rtol=1e-6)
    assert text.top_k_rows(_history(), k=4, exclude=[np.asarray([0])])[1].tolist() == [2, 1]
    assert text.top_k_rows(_history(), k=4, only=[np.asarray([1, 3])])[1].tolist() == [1]
    # Only d (no text) in the history: nothing to compare with.
    assert len(text.top_k_rows(UserSequences.from_lists([[3]]), k=4)[0]) == 0


def test_text_short_list_holds_the_exact_top_k_whatever_the_batch() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    text = TextSimilarity(vectors)
    histories = UserSequences.from_lists([rng.integers(0, 3000, 6).tolist() for _ in range(20)])
    b, rows, scores = text.top_k_rows(histories, 25)
    query = text.query_vectors(histories)
    for i in range(len(histories)):
        exact = vectors @ query[i]
        expected = np.lexsort((np.arange(len(exact)), -exact))[:25]
        assert rows[b == i].tolist() == expected.tolist()
        np.testing.assert_allclose(scores[b == i], exact[expected], rtol=1e-5)
        alone = text.top_k_rows(UserSequences.from_lists([histories.items_of(i).tolist()]), 25)
        assert np.array_equal(alone[1], rows[b == i])
        assert np.array_equal(alone[2], scores[b == i])
