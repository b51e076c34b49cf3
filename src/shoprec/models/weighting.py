"""Interaction strength: per-event weights (event type, recency) and weighted user-item matrices.

Shared by the baselines so that "a purchase counts more than a view" and "old events fade" mean
the same thing in every model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shoprec.data import UserSequences
from shoprec.errors import DataError
from shoprec.types import EVENT_TYPE_CODES

FloatArray = npt.NDArray[np.float32]

SECONDS_PER_DAY = 86_400.0


def type_weight_table(event_weights: Mapping[str, float]) -> FloatArray:
    """Weight of each event type code (``EVENT_TYPE_CODES`` order); types not listed weigh 1."""
    table = np.ones(len(EVENT_TYPE_CODES), dtype=np.float32)
    for name, code in EVENT_TYPE_CODES.items():
        table[code] = event_weights.get(name, 1.0)
    return table


def check_history(histories: UserSequences, n_items: int) -> None:
    """Raise when a history refers to an item row outside ``[0, n_items)``.

    Raises:
        DataError: For an out-of-range item index (map ids with ``item_vocab``).
    """
    items = histories.items
    if len(items) and (int(items.min()) < 0 or int(items.max()) >= n_items):
        raise DataError(f"history item indices must lie in [0, {n_items}); map ids with item_vocab")


def history_weights(histories: UserSequences, n_items: int, table: FloatArray) -> FloatArray:
    """Type weight of every event of ``histories`` after checking its item indices.

    Raises:
        DataError: When a history holds an item index outside ``[0, n_items)``.
    """
    check_history(histories, n_items)
    return table[histories.types]


def recency_weights(
    timestamps: npt.NDArray[np.float64], newest: float, half_life_days: float | None
) -> FloatArray:
    """``0.5 ** (age / half-life)`` per event, age measured back from ``newest``; 1 when off.

    Events newer than ``newest`` (a request after training) count as new, never above 1.
    """
    if half_life_days is None:
        return np.ones(len(timestamps), dtype=np.float32)
    age_days = np.maximum(newest - timestamps, 0.0) / SECONDS_PER_DAY
    return np.exp2(-age_days / half_life_days).astype(np.float32)


def strongest(
    keys: npt.NDArray[np.int64], weights: FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Each distinct key once, sorted, with its largest weight; zero-weight keys left out.

    The strongest (not the summed) weight keeps a user who viewed an item twenty times from
    outweighing one who bought it.
    """
    uniq, slot = np.unique(keys, return_inverse=True)
    best = np.zeros(len(uniq), dtype=np.float32)
    np.maximum.at(best, slot, weights)
    keep = best > 0
    return uniq[keep], best[keep]


def user_item_matrix(seqs: UserSequences, n_items: int, weights: FloatArray) -> sp.csr_matrix:
    """``(users, n_items)`` matrix holding each user's strongest event weight per item.

    Args:
        seqs: The users' events (rows of the matrix, in order).
        n_items: Number of columns (the item vocabulary's size).
        weights: Weight of every event of ``seqs`` (same order as ``seqs.items``).
    """
    rows = np.repeat(np.arange(len(seqs), dtype=np.int64), seqs.lengths())
    keys, w = strongest(rows * n_items + seqs.items, weights)
    return sp.csr_matrix((w, (keys // n_items, keys % n_items)), shape=(len(seqs), n_items))
