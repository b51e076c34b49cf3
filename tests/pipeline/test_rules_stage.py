"""The rules stage and pins on hand-made slates."""

from __future__ import annotations

import numpy as np

from shoprec.events import Item
from shoprec.pipeline import Request, Slate
from shoprec.pipeline.rules_stage import PINNED, apply_rules, pin
from shoprec.rules import Boosts, CatalogView, FilterSpec
from shoprec.types import Query

from .fakes import make_context


def _catalog() -> CatalogView:
    return CatalogView(
        [
            Item(item_id="a", category="shoes", price=50.0),
            Item(item_id="b", category="socks", price=5.0, in_stock=False),
            Item(item_id="c", category="shoes", price=60.0),
            Item(item_id="d", category="hats", price=20.0),
            Item(item_id="e", category="hats", price=25.0),
            Item(item_id="f", category="socks", price=6.0),
        ]
    )


def _slate(ids: str = "abcdef") -> Slate:
    scores = np.arange(len(ids), 0, -1).astype(np.float32)
    return Slate(tuple(ids), scores, ("model",) * len(ids))


def test_rules_drop_unavailable_excluded_and_filtered_items_checking_only_what_is_needed() -> None:
    ctx = make_context(Request(Query(), n=2, filters=FilterSpec(exclude=frozenset({"c"}))))
    assert apply_rules(_slate(), ctx, _catalog()).item_ids == ("a", "d")  # n = 2 eligible
    everything = apply_rules(_slate(), ctx, _catalog(), everything=True)
    assert everything.item_ids == ("a", "d", "e", "f")
    hats = make_context(Request(Query(), n=5, filters=FilterSpec(category="hats")))
    assert apply_rules(_slate(), hats, _catalog()).item_ids == ("d", "e")
    # Diversifying needs a pool of a few times n.
    pool = make_context(Request(Query(), n=1), diversity=0.5)
    assert len(apply_rules(_slate(), pool, _catalog())) == 5


def test_boosts_rescore_and_reorder() -> None:
    boosts = Boosts(items={"a": 0.0}, categories={"hats": 10.0})
    ctx = make_context(Request(Query(), n=2, boosts=boosts))
    out = apply_rules(_slate(), ctx, _catalog())
    assert out.item_ids == ("d", "e", "c", "f", "a")  # every candidate is checked
    assert out.scores.tolist() == [30.0, 20.0, 4.0, 1.0, 0.0]


def test_pins_take_their_positions_and_only_vetted_ones_count() -> None:
    pins = {"x": 0, "d": 5, "b": 1, "c": 1}  # b out of stock, c excluded, x not chosen
    request = Request(Query(), n=3, pins=pins, filters=FilterSpec(exclude=frozenset({"c"})))
    catalog = _catalog()
    catalog.upsert([Item(item_id="x", category="toys")])
    out = pin(_slate("aef"), make_context(request), catalog)
    assert out.item_ids == ("x", "a", "e")  # cut to n: d's position is past the end
    assert out.sources == (PINNED, "model", "model")
    assert out.scores.tolist() == [0.0, 3.0, 2.0]
    chosen = pin(_slate("aef"), make_context(Request(Query(), n=3, pins={"f": 0})), catalog)
    assert chosen.item_ids == ("f", "a", "e") and chosen.sources[0] == "model"
