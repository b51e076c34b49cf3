"""Sequences for the Transformer: windows of the latest events, left padding, time gaps, batches.

Every history becomes a row of fixed width ``L`` holding its latest ``L`` events, oldest first,
right-aligned (left padding), so the newest event is always in the last column and a batch can
be cropped to its longest row without moving anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from shoprec.data import UserSequences
from shoprec.errors import DataError

from .config import SASRecConfig

PAD = -1
"""Item index of padding cells (and of "no target")."""

IntArray = npt.NDArray[np.int64]


def check_items(histories: UserSequences, n_items: int) -> None:
    """Refuse histories holding an item index outside ``[0, n_items)``.

    Raises:
        DataError: Naming the valid range (ids map to indices through the model's vocabulary).
    """
    items = histories.items
    if len(items) and (items.max() >= n_items or items.min() < 0):
        raise DataError(f"history item indices must lie in [0, {n_items}); map ids with item_vocab")


def time_gap_buckets(seqs: UserSequences, n_buckets: int) -> IntArray:
    """Bucket of the time since each event's predecessor in the same history, ``(E,)``.

    Bucket 0 is the first event of a history (and padding); buckets ``1..n-1`` grow with
    ``log2(1 + gap in minutes)``, capped at the last one, so seconds, hours, days and months
    land in different buckets.
    """
    if n_buckets < 2:
        return np.zeros(len(seqs.items), dtype=np.int64)
    gaps = np.diff(seqs.timestamps, prepend=0.0)
    minutes = np.maximum(gaps, 0.0) / 60.0
    buckets = 1 + np.minimum(np.floor(np.log2(1.0 + minutes)), n_buckets - 2).astype(np.int64)
    first = seqs.offsets[:-1][seqs.lengths() > 0]
    buckets[first] = 0
    return buckets


def _window(seqs: UserSequences, width: int, drop_last: int) -> IntArray:
    """Event positions of each history's latest ``width`` events after dropping ``drop_last``.

    Returns:
        ``(U, width)`` positions into the flat event arrays; padding cells hold ``E`` (one past
        the end), which :func:`_gather` maps to the fill value.
    """
    ends = seqs.offsets[1:] - drop_last  # (U,)
    starts = np.maximum(seqs.offsets[:-1], ends - width)  # (U,)
    pos = ends[:, None] - width + np.arange(width)[None, :]  # (U, width)
    return np.where(pos >= starts[:, None], pos, len(seqs.items))


def _gather(values: npt.NDArray[np.generic], pos: IntArray, fill: int) -> IntArray:
    """``values[pos]`` as int64 with ``fill`` where ``pos`` is one past the end (padding)."""
    return np.append(values.astype(np.int64), fill)[pos]


@dataclass(frozen=True)
class SeqBatch:
    """Padded model inputs (numpy), one row per history.

    Attributes:
        items: ``(B, L)`` item indices, ``PAD`` in padding cells.
        types: ``(B, L)`` event type code + 1, 0 in padding cells.
        gaps: ``(B, L)`` time-gap buckets, 0 in padding cells.
        targets: ``(B, L)`` next item after each cell (training), ``PAD`` where none.
    """

    items: IntArray
    types: IntArray
    gaps: IntArray
    targets: IntArray

    def __len__(self) -> int:
        return len(self.items)

    def take(self, rows: npt.ArrayLike) -> SeqBatch:
        """Rows ``rows`` cropped to the longest of them (left padding lets columns go)."""
        rows = np.asarray(rows, dtype=np.int64)
        items = self.items[rows]
        real = (items != PAD).sum(axis=1)
        width = max(int(real.max(initial=0)), 1)
        return SeqBatch(
            items[:, -width:],
            self.types[rows, -width:],
            self.gaps[rows, -width:],
            self.targets[rows, -width:],
        )

    def to_torch(self, device: torch.device) -> dict[str, torch.Tensor]:
        """The batch as int64 tensors on ``device``."""
        return {
            name: torch.from_numpy(np.ascontiguousarray(arr)).to(device, non_blocking=True)
            for name, arr in (
                ("items", self.items),
                ("types", self.types),
                ("gaps", self.gaps),
                ("targets", self.targets),
            )
        }


def training_windows(seqs: UserSequences, max_len: int, n_gap_buckets: int) -> SeqBatch:
    """Next-item training rows, one per history with at least two events.

    Inputs are the latest ``max_len`` events except the last; each target is the event after
    its input.
    """
    keep = np.flatnonzero(seqs.lengths() >= 2)
    seqs = seqs.take(keep)
    gaps = time_gap_buckets(seqs, n_gap_buckets)
    pos = _window(seqs, max_len, drop_last=1)
    # Targets are the same window one event later; a padding input has no target.
    tpos = np.where(pos < len(seqs.items), pos + 1, pos)
    return SeqBatch(
        items=_gather(seqs.items, pos, PAD),
        types=_gather(seqs.types.astype(np.int64) + 1, pos, 0),
        gaps=_gather(gaps, pos, 0),
        targets=_gather(seqs.items, tpos, PAD),
    )


def inference_windows(seqs: UserSequences, max_len: int, n_gap_buckets: int) -> SeqBatch:
    """Inference rows: each history's latest ``max_len`` events (no targets)."""
    gaps = time_gap_buckets(seqs, n_gap_buckets)
    pos = _window(seqs, max_len, drop_last=0)
    return SeqBatch(
        items=_gather(seqs.items, pos, PAD),
        types=_gather(seqs.types.astype(np.int64) + 1, pos, 0),
        gaps=_gather(gaps, pos, 0),
        targets=np.full(pos.shape, PAD, dtype=np.int64),
    )


def inference_batches(
    seqs: UserSequences, cfg: SASRecConfig, size: int
) -> Iterator[tuple[int, SeqBatch]]:
    """:func:`inference_windows` in batches of ``size`` rows (cropped), each with its first row."""
    rows = inference_windows(seqs, cfg.max_len, cfg.time_gap_buckets)
    for start in range(0, len(seqs), size):
        yield start, rows.take(np.arange(start, min(start + size, len(seqs))))


def shuffled_batches(
    n_rows: int,
    batch_size: int,
    rng: np.random.Generator,
    lengths: IntArray | None = None,
) -> list[IntArray]:
    """Row indices of one epoch's batches in a seeded random order.

    With ``lengths``, rows of similar length share a batch (sorted by length with random
    tie-breaks, then the batches shuffled): a batch is only as wide as its longest history,
    so short histories no longer pay for a long one's padding.
    """
    if lengths is None:
        order = rng.permutation(n_rows)
    else:
        order = np.lexsort((rng.random(n_rows), lengths))
    batches = [order[i : i + batch_size] for i in range(0, n_rows, batch_size)]
    if lengths is None:
        return batches
    return [batches[i] for i in rng.permutation(len(batches))]
