"""What the pipeline asks of a model beyond scoring: protocols checked with ``isinstance``.

The learned ranker (``shoprec.ranking.ranked.RankedRecommender``) is recognised structurally by
:class:`RankedModel`, so the pipeline needs no import of it and any model offering the same
methods is ranked the same way. A model that is not one is ranked by the weighted blend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shoprec.data import UserSequences
from shoprec.types import ItemId, Query

Matrix = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int64]


@runtime_checkable
class CandidateSetLike(Protocol):
    """One history's candidates as the ranker retrieves them (its ``CandidateSet``)."""

    @property
    def rows(self) -> Rows:
        """``(C,)`` item rows in the model's item vocabulary."""

    @property
    def source_names(self) -> tuple[str, ...]:
        """The ``S`` candidate sources, in column order."""

    @property
    def scores(self) -> Matrix:
        """``(C, S)`` each source's score (NaN where it did not propose the item)."""

    @property
    def ranks(self) -> Matrix:
        """``(C, S)`` 1-based rank in each source (NaN where absent)."""


class ItemStatsLike(Protocol):
    """The per item statistics of a ranker that the pipeline reads (its ``ItemStats``)."""

    @property
    def category(self) -> Rows:
        """``(N,)`` category code per item row (-1: none)."""

    @property
    def category_names(self) -> tuple[str, ...]:
        """Category name of each code."""

    @property
    def unseen(self) -> npt.NDArray[np.bool_]:
        """``(N,)`` True where the item has had no event."""


@runtime_checkable
class RankedModel(Protocol):
    """A model that retrieves candidates from several sources and ranks them by features.

    The pipeline calls the same methods that the model's offline ``score_batch`` does
    (candidates -> features -> rank), so a served slate is ranked exactly as it was evaluated.
    """

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The ``F`` feature names, in column order."""

    @property
    def item_stats(self) -> ItemStatsLike:
        """Per item statistics the features read (popularity, price, category, brand)."""

    def encode(self, query: Query) -> UserSequences:
        """A query as a one-row history in the model's item rows."""

    def candidates(
        self,
        histories: UserSequences,
        exclude: Sequence[Rows] | None = None,
        only: Sequence[Rows] | None = None,
    ) -> Sequence[CandidateSetLike]:
        """Per history, the sources' candidates (never ``exclude``, only within ``only``)."""

    def features(
        self, histories: UserSequences, cands: Sequence[Any], scenario: str = "home"
    ) -> list[Matrix]:
        """Per history, ``(C, F)`` features of its candidates (sets :meth:`candidates` gave)."""

    def rank(self, features: Matrix) -> Matrix:
        """``(C,)`` scores of feature rows; higher is better."""

    def contributions(self, features: Matrix) -> Matrix:
        """``(C, F)``: how much each feature pushed each row's score."""


@runtime_checkable
class HasSourceModels(Protocol):
    """A model built on other fitted models (a ranker's candidate sources), by name."""

    @property
    def source_models(self) -> Mapping[str, object]:
        """The fitted sources, by source name."""


@runtime_checkable
class Explains(Protocol):
    """A model that can tell which history event drove an item (the Transformer)."""

    def explain(
        self, query: Query, item_ids: Sequence[ItemId], n_last: int = 5
    ) -> dict[ItemId, list[tuple[ItemId, float]]]:
        """Per item, ``(history item, contribution)`` pairs, largest first."""
