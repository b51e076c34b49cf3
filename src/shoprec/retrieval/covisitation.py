"""Co-visitation candidates ("bought together", "viewed with"), each traced to its anchor item."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from shoprec.data import UserSequences
from shoprec.models import BaseRecommender
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved, anchors


class CoVisitSource:
    """Items related to the query's anchors, each anchor scored alone, summed over anchors.

    Each anchor is scored by the model as a one-item history (its ``similar_items``), all in
    one batch. With a fitted co-visitation model these are the items shoppers acted on next to
    the anchors; with any other model, its item-to-item similarity. An anchor's neighbours are
    scaled to at most its weight (recency x event type); each candidate remembers the anchor
    that contributed most (the "because you viewed X" of a response).

    Args:
        model: A fitted model.
        event_weights: Weight of an anchor by its event type (types not listed weigh 1).
        n_anchors: Latest distinct history items used as anchors (context items always are).
        name: The source's name in blend weights and responses.
    """

    def __init__(
        self,
        model: BaseRecommender,
        event_weights: Mapping[str, float],
        n_anchors: int = 5,
        name: str = "covisit",
    ) -> None:
        self.model = model
        self.event_weights = dict(event_weights)
        self.n_anchors = n_anchors
        self.name = name

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` neighbours of the anchors, ``exclude`` and the anchors left out."""
        vocab = self.model.item_vocab
        found = anchors(query, self.n_anchors)
        rows: list[int] = []
        weights: list[float] = []
        anchor_ids: list[ItemId] = []
        for event, recency in found:
            weight = recency * self.event_weights.get(event.event_type, 1.0)
            idx = vocab.index_of(event.item_id)
            if weight > 0 and idx is not None:
                rows.append(idx)
                weights.append(weight)
                anchor_ids.append(event.item_id)
        if not rows:
            return Retrieved(Candidates(()))
        # Every anchor as a one-item history, scored in one batch: (A, N).
        scores = self.model.score_batch(UserSequences.from_lists([[r] for r in rows]))
        scores = np.where(scores > 0, scores, 0.0)  # NaN (no evidence) and negatives count 0
        skip = vocab.lookup([*exclude, *(event.item_id for event, _ in found)])
        scores[:, skip[skip >= 0]] = 0.0
        peak = scores.max(axis=1, keepdims=True)
        scale = np.divide(
            np.asarray(weights)[:, None], peak, out=np.zeros_like(peak), where=peak > 0
        )
        parts = scores * scale  # (A, N): each anchor's neighbours scaled to its weight
        total = parts.sum(axis=0).astype(np.float32)
        total[total <= 0] = np.nan
        top = Candidates(tuple(vocab.ids), total).top(k)
        lead = parts[:, vocab.lookup(top.item_ids)].argmax(axis=0)  # strongest anchor per item
        return Retrieved(
            top, {item: anchor_ids[a] for item, a in zip(top.item_ids, lead, strict=True)}
        )
