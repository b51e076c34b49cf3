"""The explore rail's categories and their best-sellers.

An explore rail shows categories the shopper has not touched whose shoppers overlap most with
the shopper's own categories (:class:`~shoprec.retrieval.CategoryAffinity`), topped up with
the trending categories not touched (all of them when there is no affinity, or for a shopper
without history).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from shoprec.retrieval import CategoryAffinity, Retrieved, TrendingCounts
from shoprec.rules import CatalogView
from shoprec.types import Candidates, ItemId, Query

from .capabilities import ItemStatsLike, Rows
from .diversify import category_of


def touched_categories(query: Query, catalog: CatalogView) -> set[str]:
    """Categories of every item in the query's history and context."""
    items = {*query.history_items, *query.context_items}
    return {c for i in items if (c := category_of(catalog, i))}


def explore_categories(
    query: Query,
    catalog: CatalogView,
    k: int,
    affinity: CategoryAffinity | None,
    counts: Sequence[TrendingCounts],
) -> list[str]:
    """Up to ``k`` categories the shopper has not touched, the most related first.

    The categories most related to the touched ones by shopper overlap, then the trending
    categories not touched (the categories of the items of ``counts``, each in its order:
    trending, then all-time best-sellers for a shop where nothing trends).
    """
    touched = touched_categories(query, catalog)
    found: list[str] = []
    if affinity is not None and touched:
        found = [c for c, _ in affinity.related(touched, k)]
    for ranking in counts:
        if len(found) < k:
            found += trending_categories(ranking, catalog, {*touched, *found}, k - len(found))
    return found


def trending_categories(
    trending: TrendingCounts, catalog: CatalogView, skip: Collection[str], k: int
) -> list[str]:
    """The categories of the most trending items, ``skip`` left out, in trending order."""
    found: list[str] = []

    def new_category(item_id: ItemId) -> bool:
        category = category_of(catalog, item_id)
        if category is None or category in skip or category in found:
            return False
        found.append(category)
        return True

    trending.top(k, keep=new_category)
    return found


def category_rows(stats: ItemStatsLike, categories: Collection[str]) -> Rows:
    """The item rows of a ranker's statistics whose category is one of ``categories``."""
    codes = [c for c, name in enumerate(stats.category_names) if name in categories]
    return np.flatnonzero(np.isin(stats.category, codes)).astype(np.int64)


def best_sellers(
    categories: Sequence[str],
    per_category: int,
    catalog: CatalogView,
    counts: TrendingCounts,
    exclude: Collection[ItemId] = (),
    affinity: CategoryAffinity | None = None,
) -> Retrieved:
    """Up to ``per_category`` best-selling items of each category (the explore candidates).

    From the affinity's per-category counts when it has them, else from ``counts`` (all-time
    or trending), ``exclude`` left out; scores are relative to the best of each list.
    """
    if affinity is not None:
        ids: list[ItemId] = []
        scores: list[float] = []
        for category in categories:
            found = affinity.best_sellers(category, per_category, exclude)
            ids += found.item_ids
            scores += [float(s) for s in found.scores]
        return Retrieved(Candidates(tuple(ids), np.asarray(scores, dtype=np.float32)))
    taken = dict.fromkeys(categories, 0)

    def keep(item_id: ItemId) -> bool:
        category = category_of(catalog, item_id)
        if category not in taken or taken[category] >= per_category:
            return False
        taken[category] += 1
        return True

    return Retrieved(counts.top(per_category * len(categories), exclude, keep))
