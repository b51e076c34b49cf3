"""Offline quality metrics over ranked evaluation cases.

Accuracy metrics read ``ranks``: the 0-based position of each case's single target in the
full-catalogue ranking (``>= n_items`` when it cannot be found). Beyond-accuracy metrics read
``top``: the ``(N, K)`` recommended item indices per case, padded with ``-1`` when fewer than
``K`` items could be scored. An empty input gives ``nan``: there is nothing to average.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shoprec.data import Interactions
from shoprec.types import Columns

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Upper bounds of the history-length buckets of :func:`activity_buckets` (last one open).
ACTIVITY_EDGES = (5, 10, 20, 50)


def _mean(values: npt.NDArray[np.floating] | npt.NDArray[np.bool_]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def hit_rate(ranks: IntArray, k: int) -> float:
    """Share of cases whose target is in the top ``k`` (HR@K; equals Recall@K with one target)."""
    return _mean(np.asarray(ranks) < k)


def ndcg(ranks: IntArray, k: int) -> float:
    """Mean NDCG@K with one relevant item: ``1 / log2(rank + 2)`` inside the top ``k``, else 0."""
    ranks = np.asarray(ranks)
    gains = np.where(ranks < k, 1.0 / np.log2(np.minimum(ranks, k) + 2.0), 0.0)
    return _mean(gains)


def mrr(ranks: IntArray, k: int) -> float:
    """Mean reciprocal rank cut at ``k``: ``1 / (rank + 1)`` inside the top ``k``, else 0."""
    ranks = np.asarray(ranks)
    return _mean(np.where(ranks < k, 1.0 / (np.minimum(ranks, k) + 1.0), 0.0))


def _valid(top: IntArray) -> npt.NDArray[np.bool_]:
    return np.asarray(top) >= 0


def coverage(top: IntArray, n_items: int) -> float:
    """Share of the catalogue's ``n_items`` that appear in at least one recommendation list."""
    top = np.asarray(top)
    if n_items <= 0 or len(top) == 0:
        return float("nan")
    return len(np.unique(top[top >= 0])) / n_items


def _pair_mean(differ: npt.NDArray[np.floating], valid: npt.NDArray[np.bool_]) -> float:
    """Mean over lists of the mean of ``differ`` over each list's valid unordered pairs.

    ``differ`` is ``(N, K, K)``; ``valid`` the ``(N, K)`` mask of list entries that count.
    Lists with no valid pair are skipped.
    """
    k = valid.shape[1]
    upper = np.triu(np.ones((k, k), dtype=bool), 1)
    pair_ok = valid[:, :, None] & valid[:, None, :] & upper
    n_pairs = pair_ok.sum(axis=(1, 2))
    total = np.where(pair_ok, differ, 0.0).sum(axis=(1, 2))
    has = n_pairs > 0
    return _mean(total[has] / n_pairs[has])


def category_diversity(top: IntArray, categories: IntArray) -> float:
    """Intra-list diversity by category: share of a list's item pairs from different categories.

    Args:
        top: ``(N, K)`` recommended item indices, ``-1`` padded.
        categories: Category code per item index; a negative code means unknown, and pairs with
            an unknown member are left out.

    Returns:
        The mean over lists that have at least one pair with both categories known.
    """
    top = np.asarray(top)
    cats = np.where(_valid(top), np.asarray(categories)[np.maximum(top, 0)], -1)
    differ = (cats[:, :, None] != cats[:, None, :]).astype(np.float64)
    return _pair_mean(differ, cats >= 0)


def embedding_diversity(top: IntArray, embeddings: npt.NDArray[np.floating]) -> float:
    """Intra-list diversity by embedding: mean pairwise cosine distance ``1 - cos`` within a list.

    Args:
        top: ``(N, K)`` recommended item indices, ``-1`` padded.
        embeddings: ``(n_items, D)`` item vectors; all-zero rows (no content) are left out.
    """
    top = np.asarray(top)
    vectors = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    has_vector = norms > 0
    totals, counts = [], []
    # Chunks keep the (chunk, K, D) gather small on big catalogues.
    for start in range(0, len(top), 4096):
        part = top[start : start + 4096]
        valid = _valid(part) & has_vector[np.maximum(part, 0)]
        vec = unit[np.maximum(part, 0)]  # (B, K, D)
        cos = np.einsum("bkd,bjd->bkj", vec, vec)  # (B, K, K)
        k = part.shape[1]
        pair_ok = valid[:, :, None] & valid[:, None, :] & np.triu(np.ones((k, k), bool), 1)
        totals.append(np.where(pair_ok, 1.0 - cos, 0.0).sum(axis=(1, 2)))
        counts.append(pair_ok.sum(axis=(1, 2)))
    total = np.concatenate(totals) if totals else np.zeros(0)
    n_pairs = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    has = n_pairs > 0
    return _mean(total[has] / n_pairs[has])


def _list_mean(top: IntArray, per_item: FloatArray) -> float:
    """Mean over non-empty lists of the mean of ``per_item`` over the list's items."""
    top = np.asarray(top)
    valid = _valid(top)
    values = np.where(valid, per_item[np.maximum(top, 0)], 0.0)
    n = valid.sum(axis=1)
    has = n > 0
    return _mean(values.sum(axis=1)[has] / n[has])


def novelty(top: IntArray, popularity: FloatArray) -> float:
    """Mean self-information ``-log2 p(i)`` of recommended items (higher = less obvious).

    Args:
        top: ``(N, K)`` recommended item indices, ``-1`` padded.
        popularity: ``p(i)`` per item in ``(0, 1]``, e.g. the share of training users who
            interacted with it (see :func:`popularity_shares`).
    """
    return _list_mean(top, -np.log2(np.asarray(popularity, dtype=np.float64)))


def average_popularity(top: IntArray, counts: FloatArray) -> float:
    """Average recommendation popularity (ARP): mean training count of the recommended items."""
    return _list_mean(top, np.asarray(counts, dtype=np.float64))


def popularity_percentiles(counts: FloatArray) -> FloatArray:
    """Mid-rank percentile of each item's count in ``[0, 1]``: less popular items + half the ties.

    The single most popular of ``n`` distinct counts gets ``(n - 0.5) / n``; equal counts share
    a percentile.
    """
    counts = np.asarray(counts, dtype=np.float64)
    ordered = np.sort(counts)
    below = np.searchsorted(ordered, counts, side="left")
    equal = np.searchsorted(ordered, counts, side="right") - below
    return (below + 0.5 * equal) / max(len(counts), 1)


def popularity_bias(top: IntArray, counts: FloatArray) -> float:
    """Mean popularity percentile of the recommended items (0.5 = as popular as a random item)."""
    return _list_mean(top, popularity_percentiles(counts))


def item_counts(data: Interactions) -> FloatArray:
    """Number of distinct users who interacted with each item, in vocabulary order."""
    pairs = np.unique(
        np.stack([data.events[Columns.USER].rank("dense").to_numpy(), data.item_index]), axis=1
    )
    return np.bincount(pairs[1], minlength=data.n_items).astype(np.float64)


def popularity_shares(data: Interactions) -> FloatArray:
    """``p(i)`` for :func:`novelty`: share of users with an interaction, unseen items counted once.

    Counting never-seen items once keeps their self-information finite (``log2(n_users)``).
    """
    n_users = max(data.events[Columns.USER].n_unique(), 1)
    return np.maximum(item_counts(data), 1.0) / n_users


def category_codes(data: Interactions) -> IntArray:
    """Integer category code per item in vocabulary order; ``-1`` where the category is unknown."""
    cats = data.items.select(Columns.ITEM, Columns.CATEGORY).drop_nulls(Columns.CATEGORY)
    ranks = cats[Columns.CATEGORY].rank("dense").to_list()
    codes = dict(zip(cats[Columns.ITEM].to_list(), ranks, strict=True))
    return np.asarray([codes.get(i, -1) for i in data.item_vocab.ids], dtype=np.int64)


def activity_buckets(lengths: IntArray, edges: tuple[int, ...] = ACTIVITY_EDGES) -> list[str]:
    """Bucket label per case by history length: ``"0"``, ``"1-5"``, ..., ``"51+"`` by default."""
    names = ["0"]
    low = 1
    for high in edges:
        names.append(f"{low}-{high}")
        low = high + 1
    names.append(f"{low}+")
    # bucket 0 = empty history, then one per edge, then the open last bucket.
    index = np.where(
        np.asarray(lengths) == 0, 0, 1 + np.searchsorted(np.asarray(edges), lengths, side="left")
    )
    return [names[i] for i in index]


def bucket_order(labels: list[str]) -> list[str]:
    """The distinct bucket labels sorted by their lower bound."""
    return sorted(set(labels), key=lambda s: int(s.split("-")[0].rstrip("+")))
