from __future__ import annotations

import numpy as np

from shoprec.events import Item
from shoprec.rules import (
    Boosts,
    CatalogView,
    FilterSpec,
    apply_boosts,
    apply_pins,
    in_category,
    keep_mask,
)


def _view() -> CatalogView:
    return CatalogView(
        [
            Item(item_id="a", category="Beauty > Skin", price=10.0),
            Item(item_id="b", category="Beauty", price=30.0, in_stock=False),
            Item(item_id="c", category="Beautyx", price=None),
        ]
    )


def test_category_paths() -> None:
    assert in_category("Beauty > Skin", "beauty")
    assert not in_category("Beautyx", "Beauty")
    assert not in_category(None, "Beauty")


def test_keep_mask_applies_stock_listing_price_and_exclusions() -> None:
    view = _view()
    ids = ["a", "b", "c", "zz"]
    assert keep_mask(ids, view, FilterSpec()).tolist() == [True, False, True, False]
    assert keep_mask(ids, view, FilterSpec(category="Beauty")).tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert keep_mask(ids, view, FilterSpec(min_price=5)).tolist() == [True, False, False, False]
    assert keep_mask(ids, view, FilterSpec(exclude=frozenset("a"))).tolist() == [
        False,
        False,
        True,
        False,
    ]


def test_event_only_shop_allows_all_but_deleted() -> None:
    view = CatalogView()
    assert view.is_available("anything")
    view.delete(["gone"])
    assert not view.is_available("gone")
    view.upsert([Item(item_id="gone")])
    assert view.is_available("gone")


def test_boosts_and_pins() -> None:
    scores = np.array([1.0, 1.0, 1.0], dtype=np.float32)
    out = apply_boosts(["a", "b", "c"], scores, _view(), Boosts({"c": 3.0}, {"Beauty": 2.0}))
    assert out.tolist() == [2.0, 2.0, 3.0]
    assert apply_pins(["a", "b", "c", "d"], {"d": 0, "c": 2}, 3) == ["d", "a", "c"]
    assert apply_pins(["a"], {"z": 5}, 3) == ["a", "z"]
