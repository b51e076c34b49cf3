"""Candidates from a model's scores over the whole catalogue (brute force)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from shoprec.models import BaseRecommender
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved


class ModelSource:
    """The model's top items for the query's history (context items appended as views).

    A history with no item the model knows yields nothing: cold shoppers are left to the
    trending and contextual sources rather than to arbitrary scores.

    Args:
        model: A fitted model.
        name: The source's name in blend weights and responses.
    """

    def __init__(self, model: BaseRecommender, name: str = "model") -> None:
        self.model = model
        self.name = name

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` scored items, ``exclude`` left out."""
        vocab = self.model.item_vocab
        if not any(e.item_id in vocab for e in query.history):
            return Retrieved(Candidates(()))
        scored = self.model.score(query)
        scores = scored.scores.copy()
        if exclude:
            idx = vocab.lookup(exclude)
            scores[idx[idx >= 0]] = np.nan
        return Retrieved(Candidates(scored.item_ids, scores).top(k))
