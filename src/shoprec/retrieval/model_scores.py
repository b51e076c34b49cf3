"""Candidates from a model's scores over the catalogue: brute force, or a vector index."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from shoprec.models import BaseRecommender, EmbeddingModel
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved
from .vector_index import IndexConfig, VectorIndex


class ModelSource:
    """The model's top items for the query's history (context items appended as views).

    A history with no item the model knows yields nothing: cold shoppers are left to the
    trending and contextual sources rather than to arbitrary scores. A model that scores by
    inner products (:class:`~shoprec.models.EmbeddingModel`) over a catalogue of at least
    ``index.min_items`` items is searched through a :class:`VectorIndex` built here, instead
    of scoring every item per request.

    Args:
        model: A fitted model.
        name: The source's name in blend weights and responses.
        index: When and how to index the model's item vectors.
    """

    def __init__(
        self, model: BaseRecommender, name: str = "model", index: IndexConfig = IndexConfig()
    ) -> None:
        self.model = model
        self.name = name
        self.index: VectorIndex | None = None
        if isinstance(model, EmbeddingModel) and len(model.item_vocab) >= index.min_items:
            vectors, scorable = model.item_embeddings()
            self.index = VectorIndex(vectors, scorable, index)

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` scored items, ``exclude`` left out."""
        vocab = self.model.item_vocab
        if not any(e.item_id in vocab for e in query.history):
            return Retrieved(Candidates(()))
        if self.index is None or not isinstance(self.model, EmbeddingModel):
            return Retrieved(self.model.top_k(query, k, exclude))
        skip = vocab.lookup(exclude) if exclude else np.zeros(0, np.int64)
        skip = skip[skip >= 0]
        vector = self.model.query_embeddings(self.model.encode(query))[0]
        rows, scores = self.index.search(vector, k + len(skip))
        keep = ~np.isin(rows, skip)
        rows, scores = rows[keep][:k], scores[keep][:k]
        return Retrieved(Candidates(tuple(vocab.ids[r] for r in rows), scores))
