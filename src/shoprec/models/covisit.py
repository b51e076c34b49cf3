"""Co-visitation: "shoppers who did A then did B", from item pairs close together in sequences.

An item-to-item matrix counted from every user's sequence (each event paired with the next
``window`` events), weighted by event type and recency, pruned to the ``top_m`` neighbours per
item. A recommendation sums the neighbour rows of the latest history items: cheap enough to
answer a single request in well under a millisecond and to rebuild often.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from pydantic import Field

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.types import ItemId

from .base import BaseRecommender, Scores
from .cold_items import TextNeighbours, grown_vocab
from .config import FitOptions, WeightedConfig
from .registry import register
from .weighting import history_weights, recency_weights, type_weight_table

Normalization = Literal["none", "cosine"]


class CoVisitationConfig(WeightedConfig):
    """Configuration of :class:`CoVisitation`."""

    window: int = Field(5, ge=1)
    """Each event is paired with this many following events of the same user."""

    reverse_weight: float = Field(0.25, ge=0.0)
    """Weight of the backward direction: ``A`` then ``B`` also counts as ``B -> A`` this much
    (1 makes the matrix symmetric, 0 purely sequential)."""

    half_life_days: float | None = Field(None, gt=0.0)
    """Pairs lose half their weight every this many days before the newest training event
    (a pair's age is that of its later event); ``None`` keeps every pair fully."""

    normalization: Normalization = "none"
    """``"none"``: weighted pair counts; ``"cosine"``: ``A -> B`` divided by
    ``sqrt(out_A * in_B)``, the total weight of pairs leaving ``A`` and entering ``B``, so that
    best-sellers do not neighbour everything."""

    top_m: int = Field(200, ge=1)
    """Neighbours kept per item (the strongest)."""

    last_n: int = Field(10, ge=1)
    """Latest history events whose neighbours are summed at scoring time."""

    position_decay: float = Field(0.5, gt=0.0, le=1.0)
    """Weight of a history event relative to the one after it (the latest weighs 1)."""


@register
class CoVisitation(BaseRecommender):
    """Item-to-item co-visitation over sequence windows, scored from the latest history events.

    The score of item ``j`` for a history is ``sum_k decay^k * w(e_k) * C[i_k, j]`` over the
    ``last_n`` latest events ``e_k`` (``k = 0`` the latest, ``w`` its event-type weight).
    Items without any co-visitation with those events get ``NaN`` (cannot score), as does a
    history without known items: the popularity fallback fills those in.

    Example:
        >>> model = CoVisitation(CoVisitationConfig(window=3, reverse_weight=0.0))  # doctest: +SKIP
    """

    key: ClassVar[str] = "covisit"
    config_cls: ClassVar[type[CoVisitationConfig]] = CoVisitationConfig
    config: CoVisitationConfig
    search_space: ClassVar[dict[str, list[Any]]] = {
        "position_decay": [0.5, 0.8],
        "normalization": ["none", "cosine"],
    }

    def __init__(self, config: CoVisitationConfig | None = None) -> None:
        super().__init__(config)
        self._matrix = sp.csr_matrix((0, 0), dtype=np.float32)  # (N, N) neighbours per row
        self._type_table = type_weight_table(self.config.event_weights)

    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        """Count, weight, normalise and prune the item pairs of ``data`` (no randomness)."""
        cfg = self.config
        seqs = data.sequences
        n = data.n_items
        newest = float(seqs.timestamps.max(initial=0.0))
        weights = self._type_table[seqs.types]
        decay = recency_weights(seqs.timestamps, newest, cfg.half_life_days)
        user = np.repeat(np.arange(len(seqs)), seqs.lengths())
        counts = sp.csr_matrix((n, n), dtype=np.float32)
        # One pass per distance keeps memory at one pair per event (not window pairs per event).
        for d in range(1, cfg.window + 1):
            first = np.flatnonzero(user[:-d] == user[d:])
            then = first + d
            a, b = seqs.items[first], seqs.items[then]
            keep = a != b
            a, b, first, then = a[keep], b[keep], first[keep], then[keep]
            forward = weights[then] * decay[then]
            backward = cfg.reverse_weight * weights[first] * decay[then]
            counts = counts + sp.csr_matrix(
                (
                    np.concatenate([forward, backward]),
                    (np.concatenate([a, b]), np.concatenate([b, a])),
                ),
                shape=(n, n),
                dtype=np.float32,
            )
        if cfg.normalization == "cosine":
            counts = _cosine(counts)
        self.item_vocab = IdVocab(data.item_vocab.ids)
        self._matrix = _top_per_row(counts, cfg.top_m)
        self._fitted = True

    # -- scoring ---------------------------------------------------------------------------
    def score_batch(self, histories: UserSequences) -> Scores:
        """Summed neighbour rows of each history's latest events ``(B, N)``; NaN = no evidence.

        Each history sums a few stored neighbour lists on its own (float64, then float32): a
        single request builds no sparse matrix (scipy's per-call overhead was most of its cost),
        and a row never depends on the rest of the batch.
        """
        scores = np.full((len(histories), self._matrix.shape[0]), np.nan, dtype=np.float32)
        for b, cols, total in self._sums(histories):
            scores[b, cols] = total
        return scores

    def top_k_rows(
        self,
        histories: UserSequences,
        k: int,
        exclude: Sequence[npt.NDArray[np.int64]] | None = None,
        only: Sequence[npt.NDArray[np.int64]] | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Each history's ``k`` best-scored items, from its evidence alone.

        The items, order and scores of the top ``k`` of :meth:`score_batch` (ties by lower
        item row), without filling and sorting a whole-catalogue row: a request's evidence is
        a few hundred items.

        Args:
            histories: The histories.
            k: Items per history (fewer where fewer have evidence).
            exclude: Per history, item rows never returned.
            only: Per history, the only item rows that may be returned.

        Returns:
            ``(b, rows, scores)`` of every kept item, grouped by history, best first.
        """
        parts = []
        for b, cols, total in self._sums(histories):
            if exclude is not None or only is not None:
                # A catalogue-wide mask: np.isin sorts both sides, ~10x slower here.
                allowed = np.full(self._matrix.shape[0], only is None)
                if only is not None:
                    allowed[only[b]] = True
                if exclude is not None:
                    allowed[exclude[b]] = False
                keep = allowed[cols]
                cols, total = cols[keep], total[keep]
            best = np.argsort(-total, kind="stable")[:k]  # cols ascend: ties by lower row
            parts.append((np.full(len(best), b, dtype=np.int64), cols[best], total[best]))
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        b_all, rows, scores = (np.concatenate(cols) for cols in zip(*parts, strict=True))
        return b_all, rows, scores

    def _sums(
        self, histories: UserSequences
    ) -> Iterator[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """Per history with evidence: its row, the items with evidence and their float32 sums."""
        self._require_fitted()
        n = self._matrix.shape[0]
        weights = history_weights(histories, n, self._type_table)
        lengths = histories.lengths()
        # 0 for each history's latest event, counting back.
        back = np.repeat(histories.offsets[1:], lengths) - 1 - np.arange(len(weights))
        recent = back < self.config.last_n
        strength = weights * self.config.position_decay ** np.where(recent, back, 0)
        for b in range(len(histories)):
            lo, hi = histories.offsets[b], histories.offsets[b + 1]
            keep = recent[lo:hi]
            sizes, cols, vals = self.neighbours(histories.items[lo:hi][keep].astype(np.int64))
            if not len(cols):
                continue
            # Summed per distinct item in list order (as a catalogue-wide bincount would, bit
            # for bit), over the few hundred items with evidence only.
            items, slot = np.unique(cols, return_inverse=True)
            total = np.bincount(slot, weights=np.repeat(strength[lo:hi][keep], sizes) * vals)
            found = total != 0
            yield b, items[found].astype(np.int64), total[found].astype(np.float32)

    def neighbours(
        self, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The stored neighbour lists of items ``rows``.

        Returns per row its list's length, then the items and strengths of all lists
        concatenated in row order. What serving reads per anchor: a few slices of the
        matrix, no scoring of the catalogue (and none of scipy's per-call overhead, which
        costs more than the slices here).
        """
        self._require_fitted()
        m = self._matrix
        starts, ends = m.indptr[rows], m.indptr[rows + 1]
        spans = [np.arange(a, b, dtype=np.int64) for a, b in zip(starts, ends, strict=True)]
        picks = np.concatenate(spans) if spans else np.zeros(0, np.int64)
        return (ends - starts).astype(np.int64), m.indices[picks], m.data[picks]

    def with_cold_items(self, neighbours: TextNeighbours, added: Sequence[ItemId] = ()) -> Self:
        """A copy whose cold items take their text neighbours' rows and columns (means).

        A cold item is then proposed where its neighbours would be, and leads from a
        shopper's history where they would lead. ``added`` items start with empty ones.
        """
        self._require_fitted()
        out = copy.copy(self)
        out.item_vocab = grown_vocab(self.item_vocab, added, neighbours)
        matrix = self._matrix.copy()
        matrix.resize((len(out.item_vocab),) * 2)
        out._matrix = neighbours.impute_sparse(matrix)
        return out

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        m = self._matrix
        return {"indptr": m.indptr, "indices": m.indices, "data": m.data}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        n = len(arrays["indptr"]) - 1
        self._matrix = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n)
        )


def _cosine(counts: sp.csr_matrix) -> sp.csr_matrix:
    """``C[a, b] / sqrt(out_a * in_b)``: each pair over its items' total pair weights (<= 1)."""
    out_total = np.asarray(counts.sum(axis=1)).ravel()
    in_total = np.asarray(counts.sum(axis=0)).ravel()
    # Every stored pair has both totals >= its own weight > 0; empty rows and columns are
    # scaled by 0 only to avoid a division by zero.
    row_scale = np.divide(
        1.0, np.sqrt(out_total), out=np.zeros(len(out_total)), where=out_total > 0
    )
    col_scale = np.divide(1.0, np.sqrt(in_total), out=np.zeros(len(in_total)), where=in_total > 0)
    return sp.csr_matrix(sp.diags(row_scale) @ counts @ sp.diags(col_scale), dtype=np.float32)


def _top_per_row(matrix: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """The ``m`` largest entries of each row of ``matrix`` (ties by lower column)."""
    matrix = matrix.tocsr()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(len(order)) - np.repeat(matrix.indptr[:-1], counts)
    keep = order[rank < m]
    # lexsort groups by row, so ``keep`` is row-major: rebuild the CSR directly.
    kept_counts = np.minimum(counts, m)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(kept_counts, out=indptr[1:])
    return sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape, dtype=np.float32
    )
