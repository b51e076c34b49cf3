"""The fill stage: the fallback chain on a hand-made slate."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from shoprec.events import Item
from shoprec.pipeline import FALLBACK_SOURCES, Request, Slate, fill
from shoprec.retrieval import Trending
from shoprec.rules import CatalogView, FilterSpec
from shoprec.types import Query

from .fakes import make_context

ITEMS = {"s1": "shoes", "s2": "shoes", "h1": "hats", "h2": "hats", "t1": "toys", "n1": "new"}


def _catalog() -> CatalogView:
    return CatalogView([Item(item_id=i, category=c) for i, c in ITEMS.items()])


def _counts(items: list[str], half_life: float = 24.0) -> Trending:
    events = pl.DataFrame(
        {
            "user_id": [f"u{k}" for k in range(len(items))],
            "item_id": items,
            "event_type": ["view"] * len(items),
            "timestamp": [100.0] * len(items),
        }
    )
    counts = Trending(half_life, {"view": 1.0}, resort_interval_s=0.0, now=100.0)
    counts.observe_frame(events)
    return counts


def _chosen() -> Slate:
    return Slate(("s2",), np.ones(1, np.float32), ("model",))


def test_fills_contextual_then_trending_then_best_sellers_then_new() -> None:
    trending = _counts(["h1", "h1", "h1", "s1", "t1", "t1"])
    popular = _counts(["h2", "h2", "h1"], math.inf)
    request = Request(Query(context_items=("s2",)), n=6, scenario="product")
    out = fill(_chosen(), make_context(request), _catalog(), trending, popular)
    got = list(zip(out.item_ids, out.sources, strict=True))
    assert got == [
        ("s2", "model"),
        ("s1", "contextual"),  # trending among the shoes being looked at
        ("h1", "trending"),
        ("t1", "trending"),
        ("h2", "popular"),
        ("n1", "new"),  # the newest listed item not taken (s2 is excluded as on screen)
    ]
    assert {s for _, s in got[1:]} <= set(FALLBACK_SOURCES)


def test_a_full_slate_is_left_alone_and_filters_and_within_apply() -> None:
    trending = _counts(["h1", "s1", "t1"])
    full = make_context(Request(Query(), n=1))
    assert fill(_chosen(), full, _catalog(), trending).item_ids == ("s2",)
    hats = make_context(Request(Query(), n=4, filters=FilterSpec(category="hats")))
    assert fill(Slate.empty(), hats, _catalog(), trending).item_ids == ("h1", "h2")
    toys = make_context(Request(Query(), n=4))
    assert fill(Slate.empty(), toys, _catalog(), trending, within={"toys"}).item_ids == ("t1",)
