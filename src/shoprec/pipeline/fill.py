"""The fill stage: the fallback chain that tops a slate up to ``n`` items, never in catalogue order.

Trending, then all-time best-sellers, in the categories the shopper is looking at; then trending
and best-sellers overall (a shop whose events are weeks old has nothing trending); last, when
nothing was ever bought or viewed, the newest listed items.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from shoprec.retrieval import TrendingCounts, anchors
from shoprec.rules import CatalogView, passes
from shoprec.types import Candidates, ItemId

from .diversify import category_of
from .request import Context
from .rules_stage import first
from .slate import Slate

#: Source names of the fallback chain, in the order they are tried.
FALLBACK_SOURCES = ("contextual", "bestseller", "trending", "popular", "new")


def fill(
    slate: Slate,
    ctx: Context,
    catalog: CatalogView,
    trending: TrendingCounts,
    popular: TrendingCounts | None = None,
    within: Collection[str] | None = None,
) -> Slate:
    """The slate with fallback items added below until it has ``n`` (see the module docs).

    Args:
        slate: The chosen items.
        ctx: The request (its filters apply to the fallbacks too).
        catalog: Availability and categories.
        trending: Live trending counts.
        popular: All-time counts (``None``: none).
        within: Only items of these categories (an explore rail's).
    """
    missing = ctx.request.n - len(slate)
    if missing <= 0:
        return slate
    taken = set(slate.item_ids)
    ids: list[ItemId] = []
    scores: list[float] = []
    sources: list[str] = []

    def eligible(item_id: ItemId) -> bool:
        if item_id in taken or not passes(item_id, catalog, ctx.spec):
            return False
        return within is None or category_of(catalog, item_id) in within

    def take(found: Candidates, source: str) -> None:
        for item_id, score in zip(found.item_ids, found.scores, strict=True):
            taken.add(item_id)
            ids.append(item_id)
            scores.append(float(score))
            sources.append(source)

    categories = {
        item.category
        for event, _ in anchors(ctx.query, ctx.n_anchors)
        if (item := catalog.get(event.item_id)) is not None and item.category
    }
    counts: list[tuple[TrendingCounts, str, str]] = [(trending, "contextual", "trending")]
    if popular is not None:
        counts.append((popular, "bestseller", "popular"))
    if categories:
        for ranking, source, _ in counts:
            take(
                ranking.top(
                    missing - len(ids),
                    keep=lambda i: eligible(i) and category_of(catalog, i) in categories,
                ),
                source,
            )
    for ranking, _, source in counts:
        take(ranking.top(missing - len(ids), keep=eligible), source)
    if len(ids) < missing:
        newest = first(catalog.item_ids()[::-1], eligible, missing - len(ids))
        take(Candidates(tuple(newest), np.zeros(len(newest), np.float32)), "new")
    return slate.append(ids, np.asarray(scores, dtype=np.float32), sources)
