"""The diversify stage: the best n, an MMR pick, or an explore rail's round-robin."""

from __future__ import annotations

import numpy as np

from shoprec.events import Item
from shoprec.pipeline import Slate
from shoprec.pipeline.diversify import diversify, interleave
from shoprec.rules import CatalogView

CATEGORY = {"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b", "c1": "c", "z1": "z"}


def _catalog() -> CatalogView:
    return CatalogView([Item(item_id=i, category=c) for i, c in CATEGORY.items()])


def _slate(ids: list[str]) -> Slate:
    return Slate(tuple(ids), np.linspace(1.0, 0.5, len(ids)).astype(np.float32), ("m",) * len(ids))


def test_without_diversity_the_best_n_in_score_order() -> None:
    slate = Slate(("a1", "a2", "b1"), np.asarray([1.0, 3.0, 2.0], np.float32), ("m",) * 3)
    assert diversify(slate, 2, 0.0, _catalog()).item_ids == ("a2", "b1")


def test_mmr_spreads_categories() -> None:
    slate = _slate(["a1", "a2", "a3", "b1", "c1"])
    assert diversify(slate, 3, 0.0, _catalog()).item_ids == ("a1", "a2", "a3")
    assert diversify(slate, 3, 1.0, _catalog()).item_ids == ("a1", "b1", "c1")


def test_interleave_takes_turns_over_the_categories_in_their_order() -> None:
    slate = _slate(["a1", "a2", "z1", "a3", "b1", "b2", "c1"])
    out = interleave(slate, ["b", "a", "c"], 10, _catalog())
    assert out.item_ids == ("b1", "a1", "c1", "b2", "a2", "a3")  # z is not on the rail
    assert interleave(slate, ["b", "a", "c"], 4, _catalog()).item_ids == ("b1", "a1", "c1", "b2")
    assert interleave(slate, [], 4, _catalog()).item_ids == ()
