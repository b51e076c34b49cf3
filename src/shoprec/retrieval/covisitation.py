"""Co-visitation candidates ("bought together", "viewed with"), each traced to its anchor item."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from shoprec.models import BaseRecommender
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved, anchors


class CoVisitSource:
    """Items related to the query's anchors by a model's ``similar_items``, summed over anchors.

    With a fitted co-visitation model these are the items shoppers acted on next to the
    anchors; with any other model, its item-to-item similarity. An anchor's neighbours are
    scaled to at most 1 and weighted by the anchor's recency and event type; each candidate
    remembers the anchor that contributed most (the "because you viewed X" of a response).

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
        total: dict[ItemId, float] = {}
        best: dict[ItemId, tuple[float, ItemId]] = {}
        found = anchors(query, self.n_anchors)
        skip = set(exclude) | {event.item_id for event, _ in found}
        for event, recency in found:
            weight = recency * self.event_weights.get(event.event_type, 1.0)
            if weight <= 0 or event.item_id not in vocab:
                continue
            near = self.model.recommend(Query.from_items([event.item_id]), k + len(skip))
            if not len(near):
                continue
            top = float(np.max(near.scores))
            scale = weight / top if top > 0 else 0.0
            for item_id, score in zip(near.item_ids, near.scores, strict=True):
                if item_id in skip or score <= 0:
                    continue
                part = float(score) * scale
                total[item_id] = total.get(item_id, 0.0) + part
                if part > best.get(item_id, (0.0, ""))[0]:
                    best[item_id] = (part, event.item_id)
        if not total:
            return Retrieved(Candidates(()))
        ranked = Candidates(tuple(total), np.fromiter(total.values(), np.float32, len(total)))
        top_k = ranked.top(k)
        return Retrieved(top_k, {i: best[i][1] for i in top_k.item_ids})
