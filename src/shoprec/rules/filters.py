"""Filters: which candidates a response may contain (availability, category, price, exclusions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shoprec.types import ItemId

from .catalog_view import CatalogView

#: Characters that separate the levels of a category path ("Beauty > Skin", "beauty/skin").
CATEGORY_SEPARATORS = ">/|"


@dataclass(frozen=True)
class FilterSpec:
    """What a request restricts its results to.

    Attributes:
        category: Only items of this category or one below it in a category path.
        min_price: Only items at least this expensive (items without a price are dropped).
        max_price: Only items at most this expensive (items without a price are dropped).
        exclude: Items never to return (seen, purchased, in the cart, asked by the client).
    """

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    exclude: frozenset[ItemId] = frozenset()


def in_category(category: str | None, wanted: str) -> bool:
    """Whether ``category`` is ``wanted`` or lies below it in a path (case-insensitive)."""
    if category is None:
        return False
    have, want = category.strip().lower(), wanted.strip().lower()
    if have == want:
        return True
    return have.startswith(want) and have[len(want) :].lstrip()[:1] in CATEGORY_SEPARATORS


def passes(item_id: ItemId, view: CatalogView, spec: FilterSpec) -> bool:
    """Whether one item may be returned under ``spec`` (available and within every filter)."""
    if item_id in spec.exclude or not view.is_available(item_id):
        return False
    if spec.category is None and spec.min_price is None and spec.max_price is None:
        return True
    item = view.get(item_id)
    if item is None:
        return False
    if spec.category is not None and not in_category(item.category, spec.category):
        return False
    if spec.min_price is not None and (item.price is None or item.price < spec.min_price):
        return False
    return spec.max_price is None or (item.price is not None and item.price <= spec.max_price)


def keep_mask(
    item_ids: Sequence[ItemId], view: CatalogView, spec: FilterSpec
) -> npt.NDArray[np.bool_]:
    """Per candidate, whether it passes :func:`passes`."""
    return np.fromiter((passes(i, view, spec) for i in item_ids), dtype=bool, count=len(item_ids))
