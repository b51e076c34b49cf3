"""Popularity: the most-interacted items, optionally time-decayed, optionally per category.

The last link of every fallback chain (it can always score, even an empty history) and the
floor every other model must beat.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import Field

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.types import Columns, ItemId

from .base import BaseRecommender, Scores
from .cold_items import TextNeighbours, grown_vocab, padded
from .config import FitOptions, WeightedConfig
from .registry import register
from .weighting import history_weights, recency_weights, type_weight_table


class PopularityConfig(WeightedConfig):
    """Configuration of :class:`Popularity`."""

    half_life_days: float | None = Field(None, gt=0.0)
    """Events lose half their weight every this many days before the newest training event;
    ``None`` counts every event fully."""

    per_category: bool = False
    """Rank by popularity within the categories of the history, each weighted by its share of
    the history; items of other categories follow, by global popularity."""


@register
class Popularity(BaseRecommender):
    """Recommends the items with the largest (weighted, optionally decayed) interaction count.

    Scores are relative popularity (the most popular item scores 1). With ``per_category`` a
    history whose items carry categories scores an item of category ``c`` as
    ``share of c in the history x the item's share of c's popularity`` (in ``[0, 1]``), and the
    items of categories absent from the history below them by global popularity (in
    ``[-2, -1]``); histories without categories get the global ranking.

    Example:
        >>> model = Popularity(PopularityConfig(half_life_days=30))  # doctest: +SKIP
    """

    key: ClassVar[str] = "popularity"
    config_cls: ClassVar[type[PopularityConfig]] = PopularityConfig
    config: PopularityConfig
    #: No grid: the benchmark's popularity row is the plain anchor of the protocol.
    search_space: ClassVar[dict[str, list[Any]]] = {}

    def __init__(self, config: PopularityConfig | None = None) -> None:
        super().__init__(config)
        self._popularity = np.zeros(0, dtype=np.float32)  # (N,) weighted interaction count
        self._category = np.zeros(0, dtype=np.int64)  # (N,) category code, -1 = none
        self._relative = np.zeros(0, dtype=np.float32)  # (N,) popularity / max popularity
        self._within = np.zeros(0, dtype=np.float32)  # (N,) share of its category's popularity
        self._type_table = type_weight_table(self.config.event_weights)

    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        """Count every item's weighted events in ``data`` (``opts`` is unused: no randomness)."""
        cfg = self.config
        times = data.events[Columns.TIMESTAMP].fill_null(0.0).to_numpy()
        newest = float(times.max()) if len(times) else 0.0
        weights = self._type_table[data.type_codes] * recency_weights(
            times, newest, cfg.half_life_days
        )
        popularity = np.bincount(data.item_index, weights=weights, minlength=data.n_items)
        self.item_vocab = IdVocab(data.item_vocab.ids)
        self._set_state(popularity.astype(np.float32), _category_codes(data, self.item_vocab))
        self._fitted = True

    def _set_state(self, popularity: npt.NDArray[np.float32], category: npt.NDArray[Any]) -> None:
        self._popularity = popularity
        self._category = category.astype(np.int64)
        top = float(popularity.max(initial=0.0))
        self._relative = popularity / top if top > 0 else np.zeros_like(popularity)
        known = self._category >= 0
        totals = np.bincount(
            self._category[known], weights=popularity[known], minlength=self._n_categories()
        )
        # A trailing zero total for the items without a category (code -1).
        item_total = np.append(totals, 0.0)[self._category]
        self._within = np.divide(
            popularity, item_total, out=np.zeros_like(popularity), where=item_total > 0
        )

    def _n_categories(self) -> int:
        return int(self._category.max(initial=-1)) + 1

    def score_batch(self, histories: UserSequences) -> Scores:
        """Relative popularity ``(B, N)``; per category when configured (never ``NaN``)."""
        self._require_fitted()
        weights = history_weights(histories, len(self._popularity), self._type_table)
        scores = np.tile(self._relative, (len(histories), 1))
        if not self.config.per_category or not len(histories.items):
            return scores
        width = self._n_categories() + 1
        rows = np.repeat(np.arange(len(histories)), histories.lengths())
        cats = self._category[histories.items]
        keep = cats >= 0
        # (B, C + 1): each history's weighted category shares; the extra column (index -1)
        # stays zero for items without a category.
        flat = np.bincount(
            rows[keep] * width + cats[keep], weights=weights[keep], minlength=len(histories) * width
        )
        shares = flat.reshape(len(histories), width).astype(np.float32)
        totals = shares.sum(axis=1, keepdims=True)
        np.divide(shares, totals, out=shares, where=totals > 0)
        item_share = shares[:, self._category]  # (B, N)
        in_history = item_share > 0
        categorised = (totals[:, 0] > 0)[:, None]
        scores = np.where(in_history, item_share * self._within, self._relative - 2.0)
        return np.where(categorised, scores, self._relative[None, :]).astype(np.float32)

    def with_cold_items(self, neighbours: TextNeighbours, added: Sequence[ItemId] = ()) -> Self:
        """A copy in which each cold item is as popular as its text neighbours (weighted mean).

        ``added`` items have no category here (the model counts categories at fit).
        """
        self._require_fitted()
        out = copy.copy(self)
        out.item_vocab = grown_vocab(self.item_vocab, added, neighbours)
        n = len(out.item_vocab)
        popularity = neighbours.mean(padded(self._popularity, n, 0.0))
        out._set_state(popularity, padded(self._category, n, -1))
        return out

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"popularity": self._popularity, "category": self._category}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._set_state(arrays["popularity"], arrays["category"])


def _category_codes(data: Interactions, vocab: IdVocab) -> npt.NDArray[np.int64]:
    """Category code per item of ``vocab`` (codes in sorted category order; -1 = none)."""
    items = data.items.filter(pl.col(Columns.CATEGORY).is_not_null())
    codes = items[Columns.CATEGORY].rank("dense").to_numpy().astype(np.int64) - 1
    out = np.full(len(vocab), -1, dtype=np.int64)
    out[vocab.lookup(items[Columns.ITEM].to_list())] = codes
    return out
