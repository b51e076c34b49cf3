"""The Slate: the one value that flows through the pipeline's stages.

Every stage is a function from a slate (and what it needs, passed explicitly) to a new slate:
rows are candidates, best first once ranked, and every per-candidate fact travels in the same
row order: score, the source that counted most, each source's own score, features and their
contributions to the ranker's score, and the reason written last. Nothing is mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from shoprec.types import ItemId

from .capabilities import CandidateSetLike, Matrix

Vector = npt.NDArray[np.float32]

#: Sources whose anchors explain an item found by another source (in this order).
ANCHOR_SOURCES = ("covisit", "text")


def _picker(positions: list[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """A function taking the entries at ``positions`` of a tuple, in that order."""
    if len(positions) == 1:  # itemgetter of one position returns the entry, not a tuple
        (only,) = positions
        return lambda values: (values[only],)
    get = itemgetter(*positions) if positions else lambda _: ()
    return lambda values: tuple(get(values))


def _empty_matrix() -> Matrix:
    return np.zeros((0, 0), dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Slate:
    """Candidates of one request and everything known about each, row-aligned.

    Attributes:
        item_ids: ``C`` candidates (best first once ranked).
        scores: ``(C,)`` ranking scores (the ranker's or the blend's; fallbacks: their own).
        sources: Per candidate, the source that counted most (``contextual``, ``pinned``, ...
            for items the later stages add).
        source_names: The ``S`` retrieval sources, in column order.
        source_scores: ``(C, S)`` each source's own score (NaN where it did not propose it).
        anchors: Per source, candidate -> the history or context item that brought it.
        features: ``(C, F)`` ranker features (``None`` when no ranker ranked the slate; NaN
            rows for items added after ranking).
        feature_names: The ``F`` feature names.
        contributions: ``(C, F)`` how much each feature pushed each row's ranker score (set by
            the explain stage for the rows shown, NaN rows for items not ranked).
        reasons: Per candidate, its explanation (empty until the explain stage).
        candidates: The ranker's candidate set these rows are, in order, until a stage
            reorders them (featurize reads it).
    """

    item_ids: tuple[ItemId, ...]
    scores: Vector
    sources: tuple[str, ...]
    source_names: tuple[str, ...] = ()
    source_scores: Matrix = field(default_factory=_empty_matrix)
    anchors: Mapping[str, Mapping[ItemId, ItemId]] = field(default_factory=dict)
    features: Matrix | None = None
    feature_names: tuple[str, ...] = ()
    contributions: Matrix | None = None
    reasons: tuple[str, ...] = ()
    candidates: CandidateSetLike | None = None

    def __post_init__(self) -> None:
        c, s, f = len(self.item_ids), len(self.source_names), len(self.feature_names)
        if self.source_scores.shape == (0, 0) and (c, s) != (0, 0):  # no source: all NaN
            object.__setattr__(self, "source_scores", np.full((c, s), np.nan, np.float32))
        shapes = {
            "scores": (len(self.scores), c),
            "sources": (len(self.sources), c),
            "source_scores": (self.source_scores.shape, (c, s)),
            "reasons": (len(self.reasons), len(self.reasons) and c),
        }
        for name, matrix in (("features", self.features), ("contributions", self.contributions)):
            if matrix is not None:
                shapes[name] = (matrix.shape, (c, f))
        for name, (have, want) in shapes.items():
            if have != want:
                raise ValueError(f"Slate: {name} has shape {have}, expected {want}")

    @classmethod
    def empty(cls) -> Slate:
        """A slate without candidates."""
        return cls((), np.zeros(0, dtype=np.float32), ())

    def __len__(self) -> int:
        return len(self.item_ids)

    def take(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> Slate:
        """The slate of ``rows`` (positions), in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        pick = _picker(idx.tolist())  # Python ints index tuples several times faster
        return replace(
            self,
            item_ids=pick(self.item_ids),
            scores=self.scores[idx],
            sources=pick(self.sources),
            source_scores=self.source_scores[idx],
            features=None if self.features is None else self.features[idx],
            contributions=None if self.contributions is None else self.contributions[idx],
            reasons=pick(self.reasons) if self.reasons else (),
            candidates=None,
        )

    def append(
        self, item_ids: Sequence[ItemId], scores: npt.ArrayLike, sources: Sequence[str]
    ) -> Slate:
        """The slate with items added below (fallbacks, pins): no source, feature or reason."""
        k = len(item_ids)
        if not k:
            return self

        def grown(matrix: Matrix, width: int) -> Matrix:
            return np.vstack([matrix, np.full((k, width), np.nan, dtype=np.float32)])

        width = len(self.feature_names)
        return replace(
            self,
            item_ids=self.item_ids + tuple(item_ids),
            scores=np.concatenate([self.scores, np.asarray(scores, dtype=np.float32)]),
            sources=self.sources + tuple(sources),
            source_scores=grown(self.source_scores, len(self.source_names)),
            features=None if self.features is None else grown(self.features, width),
            contributions=None if self.contributions is None else grown(self.contributions, width),
            reasons=self.reasons + ("",) * k if self.reasons else (),
            candidates=None,
        )

    def anchor(self, row: int) -> ItemId | None:
        """The item that brought row ``row``: from its own source, else co-visitation, else text."""
        item_id = self.item_ids[row]
        for name in (self.sources[row], *ANCHOR_SOURCES):
            found = self.anchors.get(name, {}).get(item_id)
            if found is not None:
                return found
        return None

    def column(self, source: str) -> Vector | None:
        """``(C,)`` one source's own scores (NaN where absent), or ``None`` for no such source."""
        if source not in self.source_names:
            return None
        return self.source_scores[:, self.source_names.index(source)]
