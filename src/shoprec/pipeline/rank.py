"""The featurize and rank stages: the learned ranker's features and order, or the blend's.

A slate retrieved by a learned ranker is featurized (one ``(C, F)`` matrix, the same code path
as offline evaluation) and ordered by the ranker's scores. Any other slate is ranked by the
weighted blend of its sources' scores (:class:`~shoprec.ranking.WeightedBlend`), the fallback
when no ranker is trained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from shoprec.data import UserSequences
from shoprec.ranking import WeightedBlend
from shoprec.types import Candidates

from .capabilities import RankedModel
from .slate import Slate


def featurize(slate: Slate, ranker: RankedModel, histories: UserSequences, scenario: str) -> Slate:
    """The slate with the ranker's features of its candidates (``scenario`` is one of them).

    Raises:
        ValueError: The slate's rows are no longer the ranker's candidate set (a stage
            reordered them before featurize).
    """
    if slate.candidates is None:
        if len(slate):
            raise ValueError("featurize: the slate does not hold the ranker's candidate set")
        return replace(slate, features=None, feature_names=())
    x = ranker.features(histories, [slate.candidates], scenario)[0]
    return replace(
        slate, features=np.asarray(x, dtype=np.float32), feature_names=tuple(ranker.feature_names)
    )


def rank(slate: Slate, ranker: RankedModel) -> Slate:
    """The slate ordered by the ranker's scores of its features, best first (ties: in order)."""
    if slate.features is None or not len(slate):
        return slate
    scores = np.asarray(ranker.rank(slate.features), dtype=np.float32)
    order = np.argsort(-scores, kind="stable")
    return replace(slate, scores=scores).take(order)


def blend(slate: Slate, weights: Mapping[str, float]) -> Slate:
    """The slate ordered by the weighted blend of its sources' scores, best first.

    Each candidate's source becomes the one whose weighted contribution was largest;
    candidates proposed only by sources of weight 0 are dropped.
    """
    lists = {}
    for col, name in enumerate(slate.source_names):
        column = slate.source_scores[:, col]
        present = np.flatnonzero(~np.isnan(column))
        lists[name] = Candidates(tuple(slate.item_ids[r] for r in present), column[present])
    blended = WeightedBlend(weights).rank(lists)
    position = {item_id: row for row, item_id in enumerate(slate.item_ids)}
    ranked = slate.take([position[i] for i in blended.item_ids])
    return replace(ranked, scores=blended.scores, sources=blended.sources)
