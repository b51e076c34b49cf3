"""A hand-made ranker with the RankedModel methods, and a context builder for stage tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from shoprec.data import IdVocab, UserSequences
from shoprec.pipeline import Context, PipelineConfig, Request, context
from shoprec.ranking import CandidateSet
from shoprec.types import Query

Rows = npt.NDArray[np.int64]


@dataclass
class FakeStats:
    category: Rows
    category_names: tuple[str, ...]
    unseen: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass
class FakeRanker:
    """Ranks by the first feature; its features are ``(row, source count)`` per candidate.

    Records what it was asked, to check that stages pass what they should.
    """

    vocab: IdVocab
    cands: CandidateSet
    feature_names: tuple[str, ...] = ("f_row", "n_sources")
    item_stats: FakeStats = field(default_factory=lambda: FakeStats(np.zeros(0, np.int64), ()))
    asked: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def item_vocab(self) -> IdVocab:
        return self.vocab

    def encode(self, query: Query) -> UserSequences:
        rows = [r for e in query.history if (r := self.vocab.index_of(e.item_id)) is not None]
        return UserSequences.from_lists([rows])

    def candidates(
        self,
        histories: UserSequences,
        exclude: Sequence[Rows] | None = None,
        only: Sequence[Rows] | None = None,
    ) -> list[CandidateSet]:
        self.asked.append(("candidates", (exclude, only)))
        keep = np.ones(len(self.cands.rows), dtype=bool)
        if exclude is not None:
            keep &= ~np.isin(self.cands.rows, exclude[0])
        if only is not None:
            keep &= np.isin(self.cands.rows, only[0])
        c = self.cands
        return [CandidateSet(c.rows[keep], c.source_names, c.scores[keep], c.ranks[keep])]

    def features(
        self, histories: UserSequences, cands: Sequence[CandidateSet], scenario: str = "home"
    ) -> list[npt.NDArray[np.float32]]:
        self.asked.append(("features", scenario))
        return [
            np.stack([c.rows.astype(np.float32), (~np.isnan(c.scores)).sum(axis=1)], axis=1).astype(
                np.float32
            )
            for c in cands
        ]

    def rank(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.asked.append(("rank", len(features)))
        return features[:, 0].astype(np.float32)

    def contributions(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.asked.append(("contributions", len(features)))
        return features.astype(np.float32)


def candidate_set(rows: list[int], scores: list[list[float]]) -> CandidateSet:
    """Candidates of sources ``covisit`` and ``popularity`` (NaN: not proposed)."""
    s = np.asarray(scores, dtype=np.float32)
    ranks = np.full_like(s, np.nan)
    for col in range(s.shape[1]):
        present = np.flatnonzero(~np.isnan(s[:, col]))
        order = present[np.argsort(-s[present, col], kind="stable")]
        ranks[order, col] = np.arange(1, len(order) + 1)
    return CandidateSet(np.asarray(rows, np.int64), ("covisit", "popularity"), s, ranks)


def make_context(request: Request | None = None, **config: object) -> Context:
    return context(request or Request(Query()), PipelineConfig.model_validate(config))
