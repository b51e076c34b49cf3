"""Merchandising: score boosts for items or categories, and items pinned to fixed positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shoprec.types import ItemId

from .catalog_view import CatalogView
from .filters import in_category


@dataclass(frozen=True)
class Boosts:
    """Multipliers applied to blended scores (1 leaves a score as it is, 0 buries the item).

    Attributes:
        items: Factor per item id.
        categories: Factor per category (an item below a category path gets it too).
    """

    items: Mapping[ItemId, float] = field(default_factory=dict)
    categories: Mapping[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.items or self.categories)


def apply_boosts(
    item_ids: Sequence[ItemId],
    scores: npt.NDArray[np.float32],
    view: CatalogView,
    boosts: Boosts,
) -> npt.NDArray[np.float32]:
    """Scores multiplied by every boost that applies to each item (a new array)."""
    factors = np.ones(len(item_ids), dtype=np.float32)
    for row, item_id in enumerate(item_ids):
        factors[row] *= boosts.items.get(item_id, 1.0)
        if boosts.categories:
            item = view.get(item_id)
            category = item.category if item is not None else None
            for wanted, factor in boosts.categories.items():
                if in_category(category, wanted):
                    factors[row] *= factor
    return (np.asarray(scores, dtype=np.float32) * factors).astype(np.float32)


def apply_pins(ranked: list[ItemId], pins: Mapping[ItemId, int], n: int) -> list[ItemId]:
    """``ranked`` cut to ``n`` with each pinned item moved to its 0-based position.

    Pins are placed in position order; a position past the end appends the item. Items the
    caller did not vet (unavailable, excluded) must be left out of ``pins`` beforehand.
    """
    rest = [i for i in ranked if i not in pins]
    out: list[ItemId] = []
    for item_id, position in sorted(pins.items(), key=lambda p: p[1]):
        while len(out) < position and rest:
            out.append(rest.pop(0))
        out.append(item_id)
    out.extend(rest)
    return out[:n]
