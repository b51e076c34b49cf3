"""Co-visitation candidates ("bought together", "viewed with"), each traced to its anchor item."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import numpy.typing as npt

from shoprec.data import UserSequences
from shoprec.models import BaseRecommender, CoVisitation
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved, anchors, exclusion_mask

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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
        found = self._evidence(query, exclude)
        if found is None:
            return Retrieved(Candidates(()))
        anchor_ids, anchor, cols, vals = found
        items, total, lead = _per_item(anchor, cols, vals)
        top = np.argsort(-total, kind="stable")[:k]
        ids = tuple(self.model.item_vocab.ids[i] for i in items[top].tolist())
        return Retrieved(
            Candidates(ids, total[top]),
            {item: anchor_ids[a] for item, a in zip(ids, lead[top].tolist(), strict=True)},
        )

    def strongest_anchors(
        self, query: Query, item_ids: Collection[ItemId], exclude: Collection[ItemId] = ()
    ) -> dict[ItemId, ItemId]:
        """The anchor that contributed most to each of ``item_ids`` (those with evidence).

        The same anchors :meth:`retrieve` reports, without scoring and sorting every neighbour:
        the explain stage asks this for the handful of items shown.
        """
        found = self._evidence(query, exclude) if item_ids else None
        if found is None:
            return {}
        anchor_ids, anchor, cols, vals = found
        vocab = self.model.item_vocab
        keep = exclusion_mask(vocab, item_ids)[cols]  # true at the asked items
        best: dict[int, tuple[float, int]] = {}
        # The strongest anchor per item; among equals the later one, as in retrieve.
        evidence = zip(anchor[keep].tolist(), cols[keep].tolist(), vals[keep].tolist(), strict=True)
        for a, col, val in evidence:
            if col not in best or val >= best[col][0]:
                best[col] = (val, a)
        return {vocab.ids[col]: anchor_ids[a] for col, (_, a) in best.items()}

    def _evidence(
        self, query: Query, exclude: Collection[ItemId]
    ) -> tuple[list[ItemId], IntArray, IntArray, FloatArray] | None:
        """``(anchor ids, anchor position, item, strength)`` of every neighbour of the anchors.

        ``exclude`` and the anchors themselves are left out; each anchor's strengths are
        scaled so that its strongest neighbour weighs the anchor's weight (recency x event
        type). ``None`` when no anchor has a neighbour.
        """
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
            return None
        anchor, cols, vals = self._neighbours(np.asarray(rows, dtype=np.int64))
        skip = exclusion_mask(vocab, [*exclude, *(event.item_id for event, _ in found)])
        ok = (vals > 0) & ~skip[cols]
        anchor, cols, vals = anchor[ok], cols[ok], vals[ok]
        if not len(cols):
            return None
        peak = np.zeros(len(rows))
        np.maximum.at(peak, anchor, vals)
        vals *= np.asarray(weights)[anchor] / peak[anchor]
        return anchor_ids, anchor, cols, vals

    def _neighbours(
        self, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Evidence per anchor as ``(anchor position, item, strength)`` triples.

        A co-visitation model's stored neighbour lists; any other model's scores of each anchor
        as a one-item history.
        """
        if isinstance(self.model, CoVisitation):
            lengths, cols, vals = self.model.neighbours(rows)
            anchor = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
            return anchor, cols.astype(np.int64), vals.astype(np.float64)
        scores = self.model.score_batch(UserSequences.from_lists([[int(r)] for r in rows]))
        found, items = np.nonzero(scores > 0)
        return (
            found.astype(np.int64),
            items.astype(np.int64),
            scores[found, items].astype(np.float64),
        )


def _per_item(
    anchor: IntArray, cols: IntArray, vals: FloatArray
) -> tuple[IntArray, npt.NDArray[np.float32], IntArray]:
    """Each distinct item (sorted), its summed strength and its strongest anchor's position."""
    items, slot = np.unique(cols, return_inverse=True)
    total = np.bincount(slot, weights=vals, minlength=len(items)).astype(np.float32)
    lead = np.empty(len(items), dtype=np.int64)  # strongest anchor per item: the last
    order = np.argsort(vals, kind="stable")  # write of an ascending pass wins
    lead[slot[order]] = anchor[order]
    return items, total, lead
