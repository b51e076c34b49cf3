"""Full-catalogue ranking of evaluation cases, vectorised in batches, and the metrics over it.

Every case is scored against the whole catalogue (no sampled negatives). Items in the case's
input history are excluded (score ``-inf``), as are items the model cannot score (``NaN``).
A target's rank is the number of items scored above it, plus the tied items with a lower
catalogue index: ties are broken by catalogue order, the same order the top-K lists use, so a
model that scores everything alike cannot place every target first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from shoprec.data import EvalSet, IdVocab, Interactions, UserSequences
from shoprec.errors import ModelError

from .exposure import exposure_metrics
from .metrics import (
    activity_buckets,
    average_popularity,
    bucket_order,
    category_diversity,
    coverage,
    embedding_diversity,
    hit_rate,
    item_counts,
    mrr,
    ndcg,
    novelty,
    popularity_bias,
    popularity_shares,
)

IntArray = npt.NDArray[np.int64]


class BatchScorer(Protocol):
    """What evaluation needs of a model: its item vocabulary and whole-catalogue batch scores.

    Every :class:`~shoprec.models.Recommender` qualifies.
    """

    @property
    def item_vocab(self) -> IdVocab:
        """The model's item vocabulary (score columns)."""

    def score_batch(self, histories: UserSequences) -> npt.NDArray[Any]:
        """Scores ``(B, n_items)``; ``NaN`` where the model cannot score."""


#: Scores held in memory at once (rows x catalogue), about 64 MB of float32.
SCORE_BUDGET = 1 << 24


@dataclass(frozen=True)
class RankedCases:
    """Where each case's target landed, and what was recommended.

    Attributes:
        ranks: ``(N,)`` 0-based rank of the target; ``n_items`` when it could not be ranked
            (its score was NaN or it is in the input history).
        top: ``(N, K)`` recommended item indices, best first, ``-1`` padded.
        history_lengths: ``(N,)`` input history length per case.
        n_items: Catalogue size the cases were ranked against.
    """

    ranks: IntArray
    top: IntArray
    history_lengths: IntArray
    n_items: int


def _top_k(scores: npt.NDArray[np.floating], k: int) -> IntArray:
    """``(B, k)`` indices of the best scores, ties by lower index; ``-1`` where a score is -inf."""
    n = scores.shape[1]
    part = np.argpartition(scores, n - k, axis=1)[:, n - k :]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=-1)
    top = np.take_along_axis(part, order, axis=1)
    kth = np.take_along_axis(vals, order[:, -1:], axis=1)[:, 0]
    # argpartition picks arbitrary members of a tie that straddles the K-th place; redo
    # those rows so the lowest indices win, as in the rank computation.
    straddle = ((scores >= kth[:, None]).sum(axis=1) > k) & ~np.isneginf(kth)
    for row in np.flatnonzero(straddle):
        above = top[row][scores[row, top[row]] > kth[row]]
        tied = np.flatnonzero(scores[row] == kth[row])[: k - len(above)]
        top[row] = np.concatenate([above, tied])
    sorted_vals = np.take_along_axis(scores, top, axis=1)
    return np.where(np.isneginf(sorted_vals), -1, top).astype(np.int64)


def _rank_batch(
    scores: npt.NDArray[np.floating], histories: UserSequences, targets: IntArray, k: int
) -> tuple[IntArray, IntArray]:
    """Ranks of ``targets`` and top-``k`` lists for one batch; ``scores`` is modified in place."""
    n_rows, n_items = scores.shape
    scores[np.isnan(scores)] = -np.inf
    rows = np.repeat(np.arange(n_rows), np.diff(histories.offsets))
    scores[rows, histories.items] = -np.inf
    target = scores[np.arange(n_rows), targets][:, None]
    greater = (scores > target).sum(axis=1)
    tied_before = ((scores == target) & (np.arange(n_items) < targets[:, None])).sum(axis=1)
    ranks = np.where(np.isneginf(target[:, 0]), n_items, greater + tied_before)
    top = _top_k(scores, min(k, n_items))
    if top.shape[1] < k:
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-1)
    return ranks.astype(np.int64), top


def rank_cases(
    model: BatchScorer, cases: EvalSet, k: int = 20, *, exclude_seen: bool = True
) -> RankedCases:
    """Rank every case's target over the whole catalogue and keep each case's top ``k``.

    Args:
        model: A fitted model; ``score_batch`` is called on batches of histories.
        cases: Histories (model input) and targets, indices in the model's vocabulary.
        k: Length of the recommendation lists kept (the largest K of the metrics).
        exclude_seen: Exclude each case's history items from its ranking (the protocol's rule).

    Raises:
        ModelError: When the model's scores do not cover the cases' item indices.
    """
    n_items = len(model.item_vocab)
    hist = cases.histories
    lengths = np.diff(hist.offsets)
    if len(cases) and max(int(cases.targets.max()), int(hist.items.max(initial=-1))) >= n_items:
        raise ModelError(
            f"evaluation cases refer to item indices beyond the model's {n_items} items: "
            "fit the model on the split's Interactions (same item vocabulary)"
        )
    step = max(1, SCORE_BUDGET // max(n_items, 1))
    ranks, tops = [np.zeros(0, np.int64)], [np.zeros((0, k), np.int64)]
    for start in range(0, len(cases), step):
        part = cases.take(np.arange(start, min(start + step, len(cases))))
        raw = np.asarray(model.score_batch(part.histories))
        if raw.shape != (len(part), n_items):
            raise ModelError(
                f"{type(model).__name__}.score_batch returned shape {raw.shape}, "
                f"expected {(len(part), n_items)}"
            )
        # A copy: the rows are edited in place and a model may hand out a view of its state.
        scores = np.array(raw, dtype=np.result_type(raw.dtype, np.float32))
        seen = part.histories if exclude_seen else _no_history(len(part))
        batch_ranks, batch_top = _rank_batch(scores, seen, part.targets, k)
        ranks.append(batch_ranks)
        tops.append(batch_top)
    return RankedCases(np.concatenate(ranks), np.concatenate(tops), lengths, n_items)


def _no_history(n: int) -> UserSequences:
    return UserSequences.from_lists([[] for _ in range(n)])


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics over all cases plus the accuracy metrics per user-activity bucket.

    Attributes:
        metrics: ``"HR@10"``, ``"NDCG@10"``, ``"MRR@10"``, ``"coverage@10"``, ... (and the
            beyond-accuracy metrics whose inputs were given).
        by_activity: Bucket label (history length, e.g. ``"6-10"``) -> ``"cases"`` and the
            HR/NDCG/MRR of its cases.
        ranked: The underlying ranks and top-K lists.
    """

    metrics: dict[str, float]
    by_activity: dict[str, dict[str, float]] = field(default_factory=dict)
    ranked: RankedCases | None = None


def evaluate_report(
    model: BatchScorer,
    cases: EvalSet,
    ks: Sequence[int] = (10, 20),
    *,
    item_categories: IntArray | None = None,
    item_embeddings: npt.NDArray[np.floating] | None = None,
    train: Interactions | None = None,
    exclude_seen: bool = True,
    item_brands: Sequence[str | None] | None = None,
) -> EvaluationReport:
    """Evaluate ``model`` on ``cases`` with full-catalogue ranking (see :func:`rank_cases`).

    Args:
        model: A fitted model.
        cases: Evaluation cases (e.g. ``Split.test``).
        ks: Cut-offs; every metric is reported at each.
        item_categories: Category code per item (negative = unknown) for category diversity
            (``"ILD_category@K"``).
        item_embeddings: ``(n_items, D)`` item vectors for embedding diversity
            (``"ILD_embedding@K"``).
        train: The training log popularity is measured on, for ``"novelty@K"``, ``"ARP@K"``
            (mean user count of recommended items) and ``"pop_percentile@K"``.
        exclude_seen: Exclude each case's history items (the protocol's rule).
        item_brands: Brand per item (``None``: unknown), with ``train`` for
            ``"exposure_gap_brand@K"`` (see :mod:`shoprec.evaluation.exposure`).

    Returns:
        The report; its metrics are ``nan`` when there are no cases. With ``train`` it also
        holds the exposure metrics ``"gini@K"`` and ``"long_tail@K"``.
    """
    ks = sorted(set(ks))
    ranked = rank_cases(model, cases, max(ks), exclude_seen=exclude_seen)
    counts = item_counts(train) if train is not None else None
    shares = popularity_shares(train) if train is not None else None
    metrics: dict[str, float] = {}
    for k in ks:
        top = ranked.top[:, :k]
        metrics[f"HR@{k}"] = hit_rate(ranked.ranks, k)
        metrics[f"NDCG@{k}"] = ndcg(ranked.ranks, k)
        metrics[f"MRR@{k}"] = mrr(ranked.ranks, k)
        metrics[f"coverage@{k}"] = coverage(top, ranked.n_items)
        if item_categories is not None:
            metrics[f"ILD_category@{k}"] = category_diversity(top, item_categories)
        if item_embeddings is not None:
            metrics[f"ILD_embedding@{k}"] = embedding_diversity(top, item_embeddings)
        if counts is not None and shares is not None:
            metrics[f"novelty@{k}"] = novelty(top, shares)
            metrics[f"ARP@{k}"] = average_popularity(top, counts)
            metrics[f"pop_percentile@{k}"] = popularity_bias(top, counts)
            metrics.update(exposure_metrics(top, counts, item_brands, k))
    return EvaluationReport(metrics, activity_breakdown(ranked, ks), ranked)


def activity_breakdown(ranked: RankedCases, ks: Sequence[int]) -> dict[str, dict[str, float]]:
    """HR/NDCG/MRR at each K per history-length bucket (``"cases"`` = the bucket's size)."""
    labels = np.asarray(activity_buckets(ranked.history_lengths), dtype=object)
    out: dict[str, dict[str, float]] = {}
    for label in bucket_order(list(labels)):
        ranks = ranked.ranks[labels == label]
        row: dict[str, float] = {"cases": float(len(ranks))}
        for k in ks:
            row[f"HR@{k}"] = hit_rate(ranks, k)
            row[f"NDCG@{k}"] = ndcg(ranks, k)
            row[f"MRR@{k}"] = mrr(ranks, k)
        out[label] = row
    return out


def evaluate(
    model: BatchScorer,
    cases: EvalSet,
    ks: Sequence[int] = (10, 20),
    *,
    item_categories: IntArray | None = None,
    item_embeddings: npt.NDArray[np.floating] | None = None,
    train: Interactions | None = None,
    exclude_seen: bool = True,
    item_brands: Sequence[str | None] | None = None,
) -> dict[str, float]:
    """The metrics of :func:`evaluate_report` as a flat dict (``{"HR@10": ..., ...}``)."""
    return evaluate_report(
        model,
        cases,
        ks,
        item_categories=item_categories,
        item_embeddings=item_embeddings,
        train=train,
        exclude_seen=exclude_seen,
        item_brands=item_brands,
    ).metrics
