"""Score blending: one ranked list from several candidate sources, with configurable weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shoprec.types import Candidates, ItemId


@dataclass(frozen=True)
class Blended:
    """Candidates ranked by blended score, best first, each with the source that counted most.

    Attributes:
        item_ids: The candidates, best first.
        scores: Blended scores (same order).
        sources: Per candidate, the source whose weighted contribution was largest.
    """

    item_ids: tuple[ItemId, ...]
    scores: npt.NDArray[np.float32]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.item_ids)


@runtime_checkable
class Ranker(Protocol):
    """Turns per-source candidates into one ranking."""

    def rank(self, results: Mapping[str, Candidates]) -> Blended:
        """Rank the union of ``results`` (source name -> its candidates)."""


def normalised(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Scores scaled to ``[0, 1]`` over the list (all 1 when they are equal); NaN becomes 0."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    finite = np.isfinite(s)
    if not finite.any():
        return np.zeros(len(s))
    low, high = s[finite].min(), s[finite].max()
    out = np.where(finite, (s - low) / (high - low) if high > low else 1.0, 0.0)
    return np.asarray(out, dtype=np.float64)


class WeightedBlend:
    """Weighted sum of each source's scores scaled to ``[0, 1]``; absent from a source adds 0.

    Args:
        weights: Weight per source name; sources not listed weigh 0 (ignored).
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)

    def rank(self, results: Mapping[str, Candidates]) -> Blended:
        """Blend ``results``; ties keep first-seen order (sources in ``weights`` order)."""
        names = [s for s in self.weights if s in results and self.weights[s] > 0]
        index: dict[ItemId, int] = {}
        for name in names:
            for item_id in results[name].item_ids:
                index.setdefault(item_id, len(index))
        if not index:
            return Blended((), np.zeros(0, dtype=np.float32), ())
        parts = np.zeros((len(names), len(index)))  # (S, C) weighted contributions
        for row, name in enumerate(names):
            found = results[name]
            cols = np.fromiter((index[i] for i in found.item_ids), np.int64, len(found))
            parts[row, cols] = self.weights[name] * normalised(found.scores)
        total = parts.sum(axis=0)
        order = np.argsort(-total, kind="stable")
        ids = list(index)
        lead = parts.argmax(axis=0)
        return Blended(
            tuple(ids[c] for c in order),
            total[order].astype(np.float32),
            tuple(names[lead[c]] for c in order),
        )
