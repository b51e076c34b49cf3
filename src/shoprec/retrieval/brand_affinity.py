"""Brands (or sellers) for a shopper: their own history first, then co-engaged brands (#21).

A shopper's own brands score by their events on the brand's items, each weighted by its event
type (a purchase counts more than a view) and halving every ``half_life_days`` of age. Brands
they have not touched score by co-engagement: the cosine overlap of the shopper sets of two
brands, ``|S_b & S_c| / sqrt(|S_b| |S_c|)``, summed over the shopper's brands weighted by their
share of the shopper's own score, times ``co_weight``. The same works for sellers: pass the
item-to-seller map instead of item-to-brand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from shoprec.types import Columns, HistoryEvent, ItemId

SECONDS_PER_DAY = 86_400.0


class BrandAffinityConfig(BaseModel):
    """How a shopper's brands (or sellers) are scored."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    half_life_days: Annotated[float, Field(gt=0)] = 30.0
    """Age at which an event counts half towards its brand."""
    co_weight: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Weight of co-engagement against the shopper's own history."""
    neighbours: Annotated[int, Field(ge=1)] = 50
    """Co-engaged brands kept per brand."""


@dataclass(frozen=True)
class RankedBrand:
    """One brand (or seller) for a shopper.

    Attributes:
        name: The brand.
        score: Own score plus weighted co-engagement.
        source: ``"history"`` (the shopper engaged with it) or ``"co-engagement"``.
        because: For co-engaged brands, the shopper's brand that contributed most.
    """

    name: str
    score: float
    source: str
    because: str | None = None


class BrandAffinity:
    """Co-engagement between brands (or sellers) and a shopper's ranking of them.

    Args:
        names: The brands, in index order.
        neighbours: Per brand, ``(brand index, cosine)`` of its most co-engaged brands.
        config: Scoring settings.
    """

    def __init__(
        self,
        names: Sequence[str],
        neighbours: Sequence[Sequence[tuple[int, float]]],
        config: BrandAffinityConfig | None = None,
    ) -> None:
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.neighbours = [list(n) for n in neighbours]
        self.config = config or BrandAffinityConfig()

    @classmethod
    def from_events(
        cls,
        events: pl.DataFrame,
        item_group: Mapping[ItemId, str],
        config: BrandAffinityConfig | None = None,
    ) -> BrandAffinity:
        """Co-engagement from an event log and each item's brand (items without one skipped)."""
        config = config or BrandAffinityConfig()
        names = sorted(set(item_group.values()))
        code = {n: i for i, n in enumerate(names)}
        frame = events.select(Columns.USER, Columns.ITEM)
        groups = [code.get(item_group.get(i, ""), -1) for i in frame[Columns.ITEM].to_list()]
        users = frame[Columns.USER].rank("dense").to_numpy().astype(np.int64) - 1
        brand = np.asarray(groups, dtype=np.int64)
        keep = brand >= 0
        if not keep.any():
            return cls(names, [[] for _ in names], config)
        pairs = np.unique(np.stack([users[keep], brand[keep]]), axis=1)
        n_users = int(users.max()) + 1
        m = sp.csr_matrix(
            (np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(n_users, len(names))
        )
        overlap = (m.T @ m).tocsr()
        size = np.sqrt(np.asarray(overlap.diagonal(), dtype=np.float64))
        neighbours: list[list[tuple[int, float]]] = []
        for b in range(len(names)):
            lo, hi = overlap.indptr[b], overlap.indptr[b + 1]
            cols, vals = overlap.indices[lo:hi], overlap.data[lo:hi]
            other = cols != b
            cols, vals = cols[other], vals[other] / (size[b] * size[cols[other]])
            order = np.lexsort((cols, -vals))[: config.neighbours]
            neighbours.append([(int(cols[o]), float(vals[o])) for o in order])
        return cls(names, neighbours, config)

    def rank(
        self,
        history: Sequence[HistoryEvent],
        item_group: Mapping[ItemId, str],
        event_weights: Mapping[str, float],
        now: float,
        n: int,
    ) -> list[RankedBrand]:
        """The shopper's ``n`` best brands: their own by weighted, decayed events, then co-engaged.

        Args:
            history: The shopper's events.
            item_group: Each item's brand (or seller).
            event_weights: Weight per event type (not listed: 1; 0 drops the event).
            now: The time ages are measured from.
            n: How many brands.
        """
        own: dict[str, float] = {}
        half_life = self.config.half_life_days * SECONDS_PER_DAY
        for event in history:
            group = item_group.get(event.item_id)
            weight = event_weights.get(event.event_type, 1.0)
            if group is None or weight <= 0:
                continue
            age = max(now - (event.timestamp if event.timestamp is not None else now), 0.0)
            own[group] = own.get(group, 0.0) + weight * 0.5 ** (age / half_life)
        total = sum(own.values())
        if total <= 0:
            return []
        scores = {g: s / total for g, s in own.items()}
        co: dict[str, float] = {}
        best: dict[str, tuple[float, str]] = {}
        for group, share in scores.items():
            row = self.index.get(group)
            if row is None:
                continue
            for other, cosine in self.neighbours[row]:
                name = self.names[other]
                gain = self.config.co_weight * share * cosine
                co[name] = co.get(name, 0.0) + gain
                if gain > best.get(name, (0.0, ""))[0]:
                    best[name] = (gain, group)
        ranked = [RankedBrand(g, s + co.get(g, 0.0), "history") for g, s in scores.items()] + [
            RankedBrand(g, s, "co-engagement", best[g][1])
            for g, s in co.items()
            if g not in scores and s > 0
        ]
        ranked.sort(key=lambda r: (-r.score, r.name))
        return ranked[:n]
