"""Diversity re-ranking: maximal marginal relevance (MMR) on category and item embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def mmr(
    scores: npt.NDArray[np.float32],
    n: int,
    weight: float,
    categories: Sequence[str | None] | None = None,
    embeddings: npt.NDArray[np.float32] | None = None,
) -> list[int]:
    """Greedy MMR: positions of ``n`` candidates trading relevance against redundancy.

    Each step picks the candidate maximising ``(1 - weight) * relevance - weight * similarity``
    where relevance is the score scaled to ``[0, 1]`` over the candidates and similarity is
    the largest similarity to an item already picked: 1 for the same category, the cosine
    of the embeddings when given (the larger of the two). Ties go to the better score.

    Args:
        scores: Candidate scores, best first (rows of ``embeddings`` / ``categories``).
        n: How many to pick.
        weight: 0 keeps the score order; 1 picks the least redundant item each time.
        categories: Category per candidate (``None``: unknown, similar to nothing).
        embeddings: Unit-norm vector per candidate, ``(C, D)``.

    Returns:
        Candidate positions in pick order.
    """
    count = len(scores)
    n = min(n, count)
    if weight <= 0 or n <= 1 or (categories is None and embeddings is None):
        return list(np.argsort(-np.asarray(scores), kind="stable")[:n])
    s = np.asarray(scores, dtype=np.float64)
    spread = s.max() - s.min()
    relevance = (s - s.min()) / spread if spread > 0 else np.ones(count)
    codes = _category_codes(categories, count)
    redundancy = np.full(count, -np.inf)  # largest similarity to a picked item
    picked: list[int] = []
    free = np.ones(count, dtype=bool)
    for _ in range(n):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        gain = (1 - weight) * relevance - weight * penalty
        # Tie-break by relevance: lexsort's last key is the primary one.
        order = np.lexsort((-relevance, -np.where(free, gain, -np.inf)))
        best = int(order[0])
        picked.append(best)
        free[best] = False
        sim = np.zeros(count)
        if codes is not None and codes[best] >= 0:
            sim = (codes == codes[best]).astype(np.float64)
        if embeddings is not None:
            sim = np.maximum(sim, embeddings @ embeddings[best])
        redundancy = np.maximum(redundancy, sim)
    return picked


def _category_codes(
    categories: Sequence[str | None] | None, count: int
) -> npt.NDArray[np.int64] | None:
    if categories is None:
        return None
    index: dict[str, int] = {}
    codes = np.full(count, -1, dtype=np.int64)
    for row, category in enumerate(categories):
        if category is not None:
            codes[row] = index.setdefault(category, len(index))
    return codes
