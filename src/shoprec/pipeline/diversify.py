"""The diversify stage: pick the ``n`` shown from the eligible ranked candidates.

Maximal marginal relevance on categories and text vectors (:func:`shoprec.rules.mmr`) for
every scenario, or, for an explore rail, a round-robin over its categories in affinity order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shoprec.retrieval import TextIndex
from shoprec.rules import CatalogView, mmr
from shoprec.types import ItemId

from .rules_stage import pool_size
from .slate import Slate


def diversify(
    slate: Slate, n: int, weight: float, catalog: CatalogView, text: TextIndex | None = None
) -> Slate:
    """The ``n`` candidates to show: the best, or an MMR pick of the best few times ``n``.

    Args:
        slate: Eligible candidates, ranked.
        n: How many to pick.
        weight: MMR weight (0: the ranked order).
        catalog: Categories of the candidates.
        text: Text vectors of the candidates (similar texts count as redundant).
    """
    order = np.argsort(-slate.scores, kind="stable")
    if weight <= 0 or len(slate) <= 1:
        return slate.take(order[:n])
    pool = order[: pool_size(n, weight)]
    pool_ids = [slate.item_ids[p] for p in pool]
    categories = [category_of(catalog, i) for i in pool_ids]
    vectors = text.vectors_of(pool_ids) if text is not None else None
    picked = mmr(slate.scores[pool], n, weight, categories, vectors)
    return slate.take([int(pool[p]) for p in picked])


def interleave(slate: Slate, categories: Sequence[str], n: int, catalog: CatalogView) -> Slate:
    """Up to ``n`` candidates taken round-robin over ``categories``, in that order.

    Each turn takes the best remaining candidate of the next category; candidates of other
    categories are left out.
    """
    queues: dict[str, list[int]] = {c: [] for c in categories}
    for row, item_id in enumerate(slate.item_ids):
        category = category_of(catalog, item_id)
        if category in queues:
            queues[category].append(row)
    picked: list[int] = []
    depth = 0
    while len(picked) < n and any(len(q) > depth for q in queues.values()):
        for queue in queues.values():
            if depth < len(queue) and len(picked) < n:
                picked.append(queue[depth])
        depth += 1
    return slate.take(picked)


def category_of(catalog: CatalogView, item_id: ItemId) -> str | None:
    """The item's category, or ``None`` when it has none or is not listed."""
    item = catalog.get(item_id)
    return item.category if item is not None else None
