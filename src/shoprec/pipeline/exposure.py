"""The exposure stage: a scenario's :class:`~shoprec.rules.ExposureRule` picks the ``n`` shown.

Off unless the scenario sets a rule that changes something (#21). When on, it replaces the MMR
pick: the candidates are ranked by relevance mixed with a popularity penalty (popularity: the
pipeline's all-time weighted counts) and at most ``brand_cap`` items of one brand (or seller)
are shown while other candidates remain.
"""

from __future__ import annotations

from shoprec.retrieval import Trending, TrendingCounts
from shoprec.rules import CatalogView, ExposureRule, exposure_order, popularity_scale

from .slate import Slate


def rebalance(
    slate: Slate,
    n: int,
    rule: ExposureRule,
    catalog: CatalogView,
    popular: TrendingCounts | None = None,
) -> Slate:
    """The ``n`` candidates to show under ``rule``, in showing order (scores kept).

    Args:
        slate: Eligible candidates, ranked.
        n: How many to pick.
        rule: The scenario's exposure rule.
        catalog: Brands and sellers of the candidates.
        popular: All-time item counts (only the in-memory :class:`Trending` has per-item
            weights; without them the popularity mix is off).
    """
    popularity = None
    if rule.popularity_penalty > 0 and isinstance(popular, Trending):
        weights, peak = popular.weights_of(slate.item_ids)
        popularity = popularity_scale(weights, peak)
    groups = None
    if rule.brand_cap is not None:
        items = [catalog.get(i) for i in slate.item_ids]
        groups = [
            None if item is None else (item.brand if rule.group_by == "brand" else item.seller)
            for item in items
        ]
    return slate.take(exposure_order(slate.scores, n, rule, popularity, groups))
