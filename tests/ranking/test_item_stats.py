"""ItemStats: per-item counts, age, price, stock and codes from a hand-made log."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions
from shoprec.errors import ArtifactError
from shoprec.models.cold_items import TextNeighbours
from shoprec.ranking.item_stats import ARRAY_NAMES, ItemStats

DAY = 86_400.0
T0 = 1000 * DAY


def hand_log() -> Interactions:
    """Items a, b, c in the catalogue (c never bought), d only in the events."""
    events = pl.DataFrame(
        [
            ("u1", "a", "view", T0),
            ("u1", "a", "addtocart", T0 + DAY),
            ("u1", "b", "purchase", T0 + 2 * DAY),
            ("u2", "a", "purchase", T0 + 8 * DAY),
            ("u2", "d", "favorite", T0 + 9 * DAY),
            ("u2", "b", "view", T0 + 10 * DAY),
        ],
        schema=["user_id", "item_id", "event_type", "timestamp"],
        orient="row",
    )
    items = pl.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "category": ["skin", "hair", None],
            "brand": ["Zed", "Acme", "Acme"],
            "price": [10.0, None, 3.0],
            "in_stock": [True, False, None],
        }
    )
    return Interactions(events, items)


def test_counts_by_period_and_event_type() -> None:
    stats = ItemStats.from_interactions(hand_log())
    assert len(stats) == 4  # a, b, c, then d from the events
    np.testing.assert_allclose(stats.pop_all, np.log1p([3, 2, 0, 1]), rtol=1e-6)
    # The last 7 days before the newest event (day 10): days 8, 9 and 10.
    np.testing.assert_allclose(stats.pop_recent, np.log1p([1, 1, 0, 1]), rtol=1e-6)
    np.testing.assert_allclose(stats.pop_view, np.log1p([1, 1, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(stats.pop_cart, np.log1p([1, 0, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(stats.pop_purchase, np.log1p([1, 1, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(stats.pop_favorite, np.log1p([0, 0, 0, 1]), rtol=1e-6)
    assert stats.end_time == T0 + 10 * DAY


def test_first_seen_price_stock_and_codes() -> None:
    stats = ItemStats.from_interactions(hand_log())
    np.testing.assert_array_equal(stats.first_seen, [T0, T0 + 2 * DAY, np.nan, T0 + 9 * DAY])
    np.testing.assert_array_equal(stats.price, [10.0, np.nan, 3.0, np.nan])
    np.testing.assert_array_equal(stats.in_stock, [1.0, 0.0, np.nan, np.nan])
    assert stats.category_names == ("hair", "skin")
    assert stats.brand_names == ("Acme", "Zed")
    assert stats.category.tolist() == [1, 0, -1, -1]
    assert stats.brand.tolist() == [1, 0, 0, -1]
    assert [stats.category_name(r) for r in range(4)] == ["skin", "hair", None, None]
    assert [stats.brand_name(r) for r in range(4)] == ["Zed", "Acme", "Acme", None]


def test_recent_window_is_configurable() -> None:
    stats = ItemStats.from_interactions(hand_log(), recent_days=1.5)
    np.testing.assert_allclose(stats.pop_recent, np.log1p([0, 1, 0, 1]), rtol=1e-6)


def test_arrays_and_state_round_trip() -> None:
    stats = ItemStats.from_interactions(hand_log())
    arrays = stats.arrays()
    assert tuple(arrays) == ARRAY_NAMES
    again = ItemStats.from_arrays(arrays, stats.state())
    for name in ARRAY_NAMES:
        np.testing.assert_array_equal(getattr(again, name), getattr(stats, name))
    assert again.brand_names == stats.brand_names
    assert again.end_time == stats.end_time
    with pytest.raises(ArtifactError, match="pop_recent"):
        ItemStats.from_arrays({k: v for k, v in arrays.items() if k != "pop_recent"}, {})


def test_an_item_without_events_takes_its_neighbours_popularity_and_age_and_stays_unseen() -> None:
    stats = ItemStats.from_interactions(hand_log())  # rows a, b, c, d; c has no event
    assert stats.unseen.tolist() == [False, False, True, False]
    near = TextNeighbours(
        cold=np.array([2]),
        rows=np.array([[0, 1]]),
        weights=np.array([[0.75, 0.25]], np.float32),
        n_items=4,
    )
    imputed = stats.with_cold_items(near)
    assert imputed.pop_all[2] == pytest.approx(0.75 * np.log1p(3) + 0.25 * np.log1p(2))
    assert imputed.first_seen[2] == pytest.approx(0.75 * T0 + 0.25 * (T0 + 2 * DAY))
    assert imputed.unseen.tolist() == stats.unseen.tolist()  # the truth, for explanations
    np.testing.assert_array_equal(imputed.pop_all[[0, 1, 3]], stats.pop_all[[0, 1, 3]])
    # An artifact written before `unseen` existed: no first event = unseen.
    old = {k: v for k, v in stats.arrays().items() if k != "unseen"}
    assert ItemStats.from_arrays(old, stats.state()).unseen.tolist() == stats.unseen.tolist()


def test_new_items_take_their_catalogue_rows_and_new_names_get_new_codes() -> None:
    stats = ItemStats.from_interactions(hand_log())
    listed = pl.DataFrame(
        {
            "item_id": ["n1", "elsewhere", "n2"],
            "category": ["skin", "hair", "nails"],
            "brand": ["Nova", None, None],
            "price": [4.0, 1.0, None],
            "in_stock": [False, True, True],
        }
    )
    grown = stats.with_items(["n1", "n2", "n3"], listed)  # n3 is not listed
    assert len(grown) == 7
    assert grown.unseen[4:].all() and np.isnan(grown.first_seen[4:]).all()
    assert grown.pop_all[4:].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(grown.price[4:], [4.0, np.nan, np.nan])
    np.testing.assert_array_equal(grown.in_stock[4:], [0.0, 1.0, np.nan])
    assert [grown.category_name(r) for r in (0, 1, 4, 5, 6)] == [
        "skin",
        "hair",
        "skin",
        "nails",
        None,
    ]
    assert [grown.brand_name(r) for r in (0, 4, 5)] == ["Zed", "Nova", None]
    assert grown.category[:4].tolist() == stats.category.tolist()  # old codes stay
    assert stats.with_items([], listed) is stats
    assert len(stats.with_items(["n1"], None)) == 5 and np.isnan(
        stats.with_items(["n1"], None).price[4]
    )


def test_empty_log() -> None:
    data = Interactions(
        pl.DataFrame(schema={"user_id": pl.String, "item_id": pl.String}),
        pl.DataFrame({"item_id": ["a"]}),
    )
    stats = ItemStats.from_interactions(data)
    assert stats.pop_all.tolist() == [0.0]
    assert math.isnan(stats.first_seen[0])
    assert stats.end_time == 0.0
