"""Exposure-aware re-ranking: spread attention beyond the best-sellers and the biggest brands.

Off by default; a scenario turns it on with an :class:`ExposureRule` (#21). Two levers,
either or both:

- **calibrated popularity mix** (``popularity_penalty``): each candidate's relevance (its score
  scaled to ``[0, 1]`` over the pool) loses ``popularity_penalty`` times its popularity (the
  log of its all-time weighted count, scaled to ``[0, 1]`` by the most popular item), so a
  long-tail item nearly as relevant as a best-seller moves ahead of it;
- **per-brand cap** (``brand_cap``): at most that many items of one brand (or seller) in the
  ``n`` shown; the next best items of other brands take the freed places, and capped items
  come back only when nothing else is left.

What it costs in accuracy and gains in exposure Gini is measured in
``benchmarks/fair_exposure.py`` (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field


class ExposureRule(BaseModel):
    """How one scenario trades relevance for a fairer spread of exposure (off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    popularity_penalty: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    """Weight of the popularity penalty against relevance (0: none, 1: popularity only)."""
    brand_cap: Annotated[int, Field(ge=1)] | None = None
    """At most this many items of one brand (or seller) among those shown (``None``: no cap)."""
    group_by: Literal["brand", "seller"] = "brand"
    """What the cap counts: the item's ``brand`` or its ``seller`` attribute."""
    pool: Annotated[int, Field(ge=1, le=20)] = 5
    """Candidates considered: this many times the number shown, best first."""

    @property
    def active(self) -> bool:
        """Whether the rule changes anything."""
        return self.popularity_penalty > 0 or self.brand_cap is not None


def popularity_scale(counts: npt.ArrayLike, peak: float | None = None) -> npt.NDArray[np.float64]:
    """``log1p(count) / log1p(peak)`` in ``[0, 1]`` (``peak``: the largest count by default)."""
    c = np.maximum(np.asarray(counts, dtype=np.float64), 0.0)
    top = float(c.max(initial=0.0)) if peak is None else float(peak)
    if top <= 0:
        return np.zeros(len(c))
    scaled: npt.NDArray[np.float64] = np.minimum(np.log1p(c) / np.log1p(top), 1.0)
    return scaled


def exposure_order(
    scores: npt.ArrayLike,
    n: int,
    rule: ExposureRule,
    popularity: npt.ArrayLike | None = None,
    groups: Sequence[str | None] | None = None,
) -> list[int]:
    """Positions of the ``n`` candidates to show under ``rule``, in showing order.

    Args:
        scores: Candidate scores (any order; higher is better).
        n: How many to pick.
        rule: The rule (an inactive one keeps the score order).
        popularity: Popularity in ``[0, 1]`` per candidate (see :func:`popularity_scale`);
            ``None`` turns the mix off.
        groups: Brand or seller per candidate (``None``: never capped).

    Returns:
        Up to ``n`` candidate positions: the candidates ranked by the mixed score, those over
        the cap skipped while others remain.
    """
    s = np.asarray(scores, dtype=np.float64)
    n = min(n, len(s))
    by_score = np.argsort(-s, kind="stable")
    if not rule.active or n <= 0:
        return [int(i) for i in by_score[:n]]
    pool = by_score[: n * rule.pool]
    mixed = _relevance(s[pool])
    if popularity is not None and rule.popularity_penalty > 0:
        pop = np.asarray(popularity, dtype=np.float64)[pool]
        mixed = (1 - rule.popularity_penalty) * mixed - rule.popularity_penalty * pop
    ranked = pool[np.argsort(-mixed, kind="stable")]
    if rule.brand_cap is None or groups is None:
        return [int(i) for i in ranked[:n]]
    picked: list[int] = []
    skipped: list[int] = []
    taken: dict[str, int] = {}
    for row in ranked:
        group = groups[row]
        if group is not None and taken.get(group, 0) >= rule.brand_cap:
            skipped.append(int(row))
            continue
        picked.append(int(row))
        if group is not None:
            taken[group] = taken.get(group, 0) + 1
        if len(picked) == n:
            return picked
    # Too few other brands: the best capped items fill what is left, after the others.
    return picked + skipped[: n - len(picked)]


def _relevance(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scores scaled to ``[0, 1]`` over the pool (all 1 when they are equal)."""
    finite = np.where(np.isfinite(scores), scores, np.nan)
    lo, hi = np.nanmin(finite, initial=np.inf), np.nanmax(finite, initial=-np.inf)
    if not np.isfinite(lo) or hi <= lo:
        return np.ones(len(scores))
    scaled: npt.NDArray[np.float64] = np.nan_to_num((finite - lo) / (hi - lo), nan=0.0)
    return scaled
