"""Fair exposure: how evenly recommendations spread attention over items and brands (#21).

Exposure is what a list shows: every slot of every recommendation list is one impression of
its item. Three views of it, offline (over evaluation top-K lists) and live (over the
impressions a service served) alike:

- **Gini over items** (:func:`gini`): 0 when every catalogue item is shown equally often, 1
  when one item takes every impression. Items never shown count (with 0), so a model that
  shows a tenth of the catalogue is far from 0 however evenly it spreads that tenth.
- **Long-tail share** (:func:`long_tail_share`): the share of impressions going to items
  outside the *short head*, the most popular items that together hold
  :data:`HEAD_SHARE` of the interactions (Abdollahpouri et al.'s definition).
- **Group exposure against group interactions** (:func:`group_exposure`): per brand (or
  seller) its share of impressions beside its share of interactions, and the total variation
  distance between the two distributions (:func:`exposure_gap`): 0 when every brand is shown
  exactly as often as shoppers engage with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shoprec.data import Interactions
from shoprec.types import Columns

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Share of all interactions held by the short head (the rest of the items are the long tail).
HEAD_SHARE = 0.2


def gini(counts: npt.ArrayLike) -> float:
    """Gini coefficient of non-negative counts (0 = all equal, ``1 - 1/n`` = one holds all).

    ``G = sum_i (2i - n - 1) x_(i) / (n * sum x)`` over the counts sorted ascending
    (``i = 1..n``). Empty input or all zeros give 0: there is no inequality to measure.

    Raises:
        ValueError: A count is negative or not finite.
    """
    x = np.sort(np.asarray(counts, dtype=np.float64).ravel())
    if len(x) and (not np.isfinite(x).all() or x[0] < 0):
        raise ValueError("gini: counts must be finite and non-negative")
    total = float(x.sum())
    if len(x) == 0 or total == 0:
        return 0.0
    n = len(x)
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * ranks - n - 1) * x).sum() / (n * total))


def exposure_counts(top: IntArray, n_items: int) -> FloatArray:
    """Impressions per item (``(n_items,)``) of top-K lists ``(N, K)``, ``-1`` padding ignored."""
    flat = np.asarray(top, dtype=np.int64).ravel()
    return np.bincount(flat[flat >= 0], minlength=n_items).astype(np.float64)[:n_items]


def short_head(
    interactions: npt.ArrayLike, head_share: float = HEAD_SHARE
) -> npt.NDArray[np.bool_]:
    """Mask of the short-head items: the most popular ones holding ``head_share`` of the total.

    Items are taken by decreasing interaction count (ties by lower index) until their sum
    reaches ``head_share`` of all interactions; items with no interaction are never head.
    """
    counts = np.asarray(interactions, dtype=np.float64)
    head = np.zeros(len(counts), dtype=bool)
    total = float(counts.sum())
    if total <= 0:
        return head
    order = np.lexsort((np.arange(len(counts)), -counts))
    cumulative = np.cumsum(counts[order])
    # The smallest prefix whose sum reaches the head share.
    size = int(np.searchsorted(cumulative, head_share * total, side="left")) + 1
    head[order[: min(size, len(counts))]] = True
    head &= counts > 0
    return head


def long_tail_share(exposure: npt.ArrayLike, head: npt.NDArray[np.bool_]) -> float:
    """Share of impressions on items outside ``head`` (``nan`` when nothing was shown)."""
    shown = np.asarray(exposure, dtype=np.float64)
    total = float(shown.sum())
    return float(shown[~head].sum() / total) if total > 0 else float("nan")


@dataclass(frozen=True)
class GroupExposure:
    """One brand's (or seller's) share of impressions beside its share of interactions.

    Attributes:
        group: The brand or seller.
        exposure_share: Its items' share of all impressions of grouped items.
        interaction_share: Its items' share of all interactions with grouped items.
    """

    group: str
    exposure_share: float
    interaction_share: float

    @property
    def ratio(self) -> float:
        """Exposure share over interaction share (>1: over-exposed; ``inf`` if never engaged)."""
        if self.interaction_share == 0:
            return float("inf") if self.exposure_share > 0 else 1.0
        return self.exposure_share / self.interaction_share


def group_exposure(
    exposure: Mapping[str, float] | Sequence[float] | FloatArray,
    interactions: Mapping[str, float] | Sequence[float] | FloatArray,
    groups: Sequence[str | None],
) -> list[GroupExposure]:
    """Per group: share of impressions and share of interactions, largest exposure first.

    Args:
        exposure: Impressions per item (aligned with ``groups``).
        interactions: Interactions per item (aligned with ``groups``).
        groups: Each item's brand or seller (``None``: no group, left out of both shares).

    Returns:
        One row per group that was shown or engaged with.
    """
    shown = np.asarray(exposure, dtype=np.float64)
    engaged = np.asarray(interactions, dtype=np.float64)
    if not (len(shown) == len(engaged) == len(groups)):
        raise ValueError("group_exposure: exposure, interactions and groups must align")
    by_shown: dict[str, float] = {}
    by_engaged: dict[str, float] = {}
    for g, s, e in zip(groups, shown.tolist(), engaged.tolist(), strict=True):
        if g is None:
            continue
        by_shown[g] = by_shown.get(g, 0.0) + s
        by_engaged[g] = by_engaged.get(g, 0.0) + e
    total_s = sum(by_shown.values())
    total_e = sum(by_engaged.values())
    rows = [
        GroupExposure(
            g,
            by_shown[g] / total_s if total_s else 0.0,
            by_engaged[g] / total_e if total_e else 0.0,
        )
        for g in by_shown
        if by_shown[g] > 0 or by_engaged[g] > 0
    ]
    return sorted(rows, key=lambda r: (-r.exposure_share, -r.interaction_share, r.group))


def exposure_gap(rows: Sequence[GroupExposure]) -> float:
    """Total variation distance between exposure and interaction shares (0 = proportional)."""
    return 0.5 * sum(abs(r.exposure_share - r.interaction_share) for r in rows)


def group_codes(values: Sequence[str | None]) -> tuple[IntArray, list[str]]:
    """Integer code per item (``-1``: no group) and the group names in code order."""
    names: dict[str, int] = {}
    codes = np.full(len(values), -1, dtype=np.int64)
    for row, value in enumerate(values):
        if value:
            codes[row] = names.setdefault(value, len(names))
    return codes, list(names)


def exposure_metrics(
    top: IntArray,
    interactions: npt.ArrayLike,
    groups: Sequence[str | None] | None = None,
    k: int | None = None,
) -> dict[str, float]:
    """The exposure metrics of top-K lists, keyed like the other evaluation metrics.

    Args:
        top: ``(N, K)`` recommended item indices (``-1`` padded).
        interactions: Interactions per item in the training log (popularity).
        groups: Brand (or seller) per item, for ``exposure_gap_brand@K``.
        k: The K in the keys (default: the lists' length).

    Returns:
        ``gini@K``, ``long_tail@K`` and, with groups, ``exposure_gap_brand@K``.
    """
    top = np.asarray(top, dtype=np.int64)
    k = top.shape[1] if k is None else k
    counts = np.asarray(interactions, dtype=np.float64)
    shown = exposure_counts(top, len(counts))
    metrics = {
        f"gini@{k}": gini(shown),
        f"long_tail@{k}": long_tail_share(shown, short_head(counts)),
    }
    if groups is not None:
        metrics[f"exposure_gap_brand@{k}"] = exposure_gap(group_exposure(shown, counts, groups))
    return metrics


def item_brands(data: Interactions) -> list[str | None]:
    """Brand per item in vocabulary order (``None`` where the catalogue names none)."""
    frame = data.items.select(Columns.ITEM, Columns.BRAND).drop_nulls(Columns.BRAND)
    brands = dict(zip(frame[Columns.ITEM].to_list(), frame[Columns.BRAND].to_list(), strict=True))
    return [brands.get(i) or None for i in data.item_vocab.ids]
