"""Candidate generation for the learned ranker: the union of several sources' top-K per history.

Each source is anything with a whole-catalogue ``score_batch`` (every registered model), or
a :class:`TopKSource` that finds its own top ``k`` (:class:`TextSimilarity` for the special
``"text"`` source; co-visitation, whose evidence is a few hundred items). For a batch of
histories each whole-catalogue source's scores are masked (exclusions, an ``only``
restriction, unscorable items) and its top ``k`` per row found by a partial sort (ties by lower
item row, as the evaluation ranks them); the union is kept with every candidate's score and
1-based rank in each source.
Everything is batched array work: the same call serves one request or a batch of 256 shoppers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt
import torch
from pydantic import Field

from shoprec.data import UserSequences
from shoprec.errors import ModelError
from shoprec.features.quantized_index import Int8Catalogue
from shoprec.models import BaseConfig
from shoprec.models.textsim import text_queries
from shoprec.models.weighting import check_history

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Key of the built-in text-similarity source: ``textsim``'s scores over the ranker's own text
#: vectors (kept in the ranked artifact, not a source model of its own).
TEXT_SOURCE = "text"
#: The text source re-scores exactly this many times ``k`` items of its int8 scan.
TEXT_SHORTLIST = 4


class SourceSpec(BaseConfig):
    """One candidate source of the ranked recommender."""

    key: str
    """Registered model key (``"sasrec"``, ``"covisit"``, ...) or ``"text"`` (cosine of item
    text vectors to the latest items)."""

    params: dict[str, Any] = Field(default_factory=dict)
    """Config values of the model (validated by that model's own config when fit)."""

    k: int = Field(ge=1)
    """Candidates this source contributes per request (its top ``k``)."""


@runtime_checkable
class BatchScorer(Protocol):
    """A candidate source: whole-catalogue scores for a batch of histories (NaN = cannot score)."""

    def score_batch(self, histories: UserSequences) -> npt.NDArray[Any]:
        """Scores ``(B, n_items)``."""


@dataclass(frozen=True)
class CandidateSet:
    """One request's candidates with what each source said about them.

    Attributes:
        rows: ``(C,)`` item rows in the model's item vocabulary (ascending).
        source_names: The sources, in the column order of ``scores`` and ``ranks``.
        scores: ``(C, S)`` each source's score; NaN where it did not propose the item.
        ranks: ``(C, S)`` each source's 1-based rank of the item; NaN where absent.
    """

    rows: IntArray
    source_names: tuple[str, ...]
    scores: FloatArray
    ranks: FloatArray

    def __len__(self) -> int:
        return len(self.rows)


def history_rows(histories: UserSequences) -> list[IntArray]:
    """Each history's item rows (what a ranking excludes by default)."""
    return [histories.items_of(u) for u in range(len(histories))]


class TextSimilarity:
    """The ``"text"`` source: cosine between item text vectors and the shopper's recent items.

    The query vector is :func:`~shoprec.models.textsim.text_queries`'s (the ``textsim``
    model's): the ``0.5 ** k``-weighted sum of the vectors of the latest distinct history
    items. Items without text, and histories whose recent items have none, cannot be scored.

    :meth:`top_k_rows` does not score the whole catalogue in fp32 (a 12k x 384 product was a
    quarter of a ranked request's CPU): int8 codes of the vectors are scanned, and each query's
    short list (:data:`TEXT_SHORTLIST` times ``k``, plus the excluded items) is re-scored
    exactly. The codes' rounding moves a cosine by ~1e-4, so the short list holds the exact top
    ``k`` (measured in ``docs/ranking.md``). Every history is its own scan and re-scoring: a
    shopper's candidates never depend on who else is in the batch, so offline and online agree
    to the bit.

    Args:
        vectors: ``(N, D)`` item text vectors, unit length or zero (no text).
    """

    def __init__(self, vectors: FloatArray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.has_text = np.linalg.norm(self.vectors, axis=1) > 0
        # The last histories asked about and their query vectors: a ranked request asks twice
        # (its candidates, then its text features). One tuple, swapped whole: thread-safe.
        self._last: tuple[UserSequences, FloatArray] | None = None

    @property
    def n_items(self) -> int:
        """Number of item rows."""
        return len(self.vectors)

    @functools.cached_property
    def _codes(self) -> Int8Catalogue:
        return Int8Catalogue(torch.from_numpy(self.vectors))

    def query_vectors(self, histories: UserSequences) -> FloatArray:
        """``(B, D)`` unit query vectors; zero rows where no recent item has text."""
        last = self._last
        if last is not None and last[0] is histories:
            return last[1]
        unit = text_queries(self.vectors, histories)
        unit.setflags(write=False)  # shared by both callers
        self._last = (histories, unit)
        return unit

    def top_k_rows(
        self,
        histories: UserSequences,
        k: int,
        exclude: Sequence[IntArray] | None = None,
        only: Sequence[IntArray] | None = None,
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """Each history's ``k`` items with text most similar to its recent items.

        Args:
            histories: The requests' histories.
            k: Items per history (fewer where fewer items have text).
            exclude: Per history, item rows never returned.
            only: Per history, the only item rows that may be returned (scored exactly).

        Returns:
            ``(b, rows, scores)``: history row, item row and cosine of every kept item, grouped
            by history, best first (ties by lower item row).
        """
        check_history(histories, self.n_items)
        query = self.query_vectors(histories)
        parts: list[tuple[IntArray, IntArray, FloatArray]] = []
        for b in np.flatnonzero(query.any(axis=1)).tolist():
            banned = np.zeros(0, dtype=np.int64) if exclude is None else exclude[b]
            if only is not None:
                rows = np.unique(np.asarray(only[b], dtype=np.int64))
            else:
                rows = self._shortlist(query[b], TEXT_SHORTLIST * k + len(banned))
            allowed = self.has_text.copy()  # np.isin sorts both sides, ~10x slower here
            allowed[banned] = False
            rows = rows[allowed[rows]]
            scores = np.einsum("sd,d->s", self.vectors[rows], query[b])
            best = np.lexsort((rows, -scores))[:k]
            parts.append((np.full(len(best), b, dtype=np.int64), rows[best], scores[best]))
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        b_all, rows_all, scores_all = (np.concatenate(cols) for cols in zip(*parts, strict=True))
        return b_all, rows_all, scores_all.astype(np.float32)

    def _shortlist(self, query: FloatArray, size: int) -> IntArray:
        """The ``size`` items of highest int8-approximate inner product with one query."""
        with torch.no_grad():
            approx = self._codes.approximate(torch.tensor(query[None]))[0].numpy()
        if size >= len(approx):
            return np.arange(len(approx), dtype=np.int64)
        return np.argpartition(-approx, size - 1)[:size].astype(np.int64)


@runtime_checkable
class TopKSource(Protocol):
    """A candidate source that finds each history's top ``k`` itself.

    Its result must be the top ``k`` of its own whole-catalogue scores under the generator's
    rules (``exclude`` and ``only`` honoured, ties by lower item row), so that it can stand
    in for them.
    """

    def top_k_rows(
        self,
        histories: UserSequences,
        k: int,
        exclude: Sequence[IntArray] | None = None,
        only: Sequence[IntArray] | None = None,
    ) -> tuple[IntArray, IntArray, npt.NDArray[Any]]:
        """``(b, rows, scores)`` of every kept item, grouped by history, best first."""


#: What a candidate source can be: a whole-catalogue scorer, or one that finds its top k.
Source = BatchScorer | TopKSource


class CandidateGenerator:
    """The union of several sources' top-K per history.

    Args:
        sources: Source name -> (fitted source, how many candidates it contributes).
        n_items: Catalogue size every source scores.
    """

    def __init__(self, sources: Mapping[str, tuple[Source, int]], n_items: int) -> None:
        self.sources = dict(sources)
        self.names = tuple(self.sources)
        self.n_items = n_items
        # Decided once: a runtime protocol check costs ~10 µs, a request asks per source.
        self._finds_top_k = {
            name: isinstance(source, TopKSource) for name, (source, _) in self.sources.items()
        }

    def generate(
        self,
        histories: UserSequences,
        exclude: Sequence[IntArray] | None = None,
        only: Sequence[IntArray] | None = None,
    ) -> list[CandidateSet]:
        """One :class:`CandidateSet` per history.

        Args:
            histories: The requests' histories (item rows of the model's vocabulary).
            exclude: Per history, item rows never returned.
            only: Per history, the only item rows that may be returned (e.g. search results).

        Raises:
            DataError: When a history refers to an unknown item row.
            ModelError: When a source's scores do not cover the catalogue.
        """
        check_history(histories, self.n_items)
        n_rows, n = len(histories), self.n_items
        # Costs are negated scores: +inf marks what may not be returned.
        banned = None
        if exclude is not None:
            ex_rows, ex_cols = _flat_rows(exclude), _flat(exclude)
        if only is not None:
            banned = np.ones((n_rows, n), dtype=bool)
            banned[_flat_rows(only), _flat(only)] = False
        parts: list[tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]] = []
        for s, (name, (source, k)) in enumerate(self.sources.items()):
            if self._finds_top_k[name]:
                b, rows, score = cast(TopKSource, source).top_k_rows(histories, k, exclude, only)
                pos = np.arange(len(b), dtype=np.int64) - np.searchsorted(b, b, side="left")
            else:
                scores = np.asarray(cast(BatchScorer, source).score_batch(histories))
                if scores.shape != (n_rows, n):
                    raise ModelError(
                        f"candidate source {name!r} returned scores of shape {scores.shape}, "
                        f"expected {(n_rows, n)}"
                    )
                cost = np.negative(scores, dtype=np.float32)  # a fresh array, edited below
                cost[np.isnan(cost)] = np.inf
                if exclude is not None:
                    cost[ex_rows, ex_cols] = np.inf
                if banned is not None:
                    cost[banned] = np.inf
                b, rows, pos = lowest_k(cost, k)
                score = -cost[b, rows]
            parts.append(
                (
                    b,
                    rows,
                    np.full(len(rows), s, dtype=np.int64),
                    score,
                    (pos + 1).astype(np.float32),
                )
            )
        return self._union(parts, n_rows)

    def _union(
        self,
        parts: list[tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]],
        n_rows: int,
    ) -> list[CandidateSet]:
        n_src = len(self.names)
        if parts:
            b, rows, src, score, rank = (np.concatenate(cols) for cols in zip(*parts, strict=True))
        else:
            b = rows = src = np.zeros(0, dtype=np.int64)
            score = rank = np.zeros(0, dtype=np.float32)
        keys, slot = np.unique(b * self.n_items + rows, return_inverse=True)
        scores = np.full((len(keys), n_src), np.nan, dtype=np.float32)
        ranks = np.full((len(keys), n_src), np.nan, dtype=np.float32)
        scores[slot, src] = score
        ranks[slot, src] = rank
        owner = keys // self.n_items
        items = (keys % self.n_items).astype(np.int64)
        bounds = np.searchsorted(owner, np.arange(n_rows + 1))
        return [
            CandidateSet(items[lo:hi], self.names, scores[lo:hi], ranks[lo:hi])
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        ]


def lowest_k(cost: FloatArray, k: int) -> tuple[IntArray, IntArray, IntArray]:
    """Each row's ``k`` lowest finite costs, lowest first, ties by lower position.

    Candidates are the lowest negated scores: the same items, in the same order, as the
    evaluation's top-K. Rows with fewer than ``k`` finite costs keep what they have.

    Returns:
        ``(b, cols, pos)``: row, column and 0-based place of every kept entry, grouped by row.
    """
    n_rows, n = cost.shape
    k = min(k, n)
    if k == 0 or n_rows == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    kth = np.partition(cost, k - 1, axis=1)[:, k - 1]
    # Everything up to the k-th cost (all of a tie across it), never +inf (not scorable).
    kth = np.minimum(kth, np.finfo(np.float32).max)
    b, cols = np.nonzero(cost <= kth[:, None])
    order = np.lexsort((cols, cost[b, cols], b))
    b, cols = b[order].astype(np.int64), cols[order].astype(np.int64)
    pos = np.arange(len(b), dtype=np.int64) - np.searchsorted(b, b, side="left")
    keep = pos < k
    return b[keep], cols[keep], pos[keep]


def _flat(arrays: Sequence[IntArray]) -> IntArray:
    if not arrays:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.asarray(a, dtype=np.int64) for a in arrays])


def _flat_rows(arrays: Sequence[IntArray]) -> IntArray:
    return np.repeat(np.arange(len(arrays), dtype=np.int64), [len(a) for a in arrays])
