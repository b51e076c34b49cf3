"""Items without events, described by the known items nearest to them by text.

A collaborative model learns nothing about an item nobody has interacted with: co-visitation
and EASE have an empty row and column for it, popularity a zero. Items whose texts read alike
are chosen alike, so such an item is given the weighted mean of what the model learned for its
nearest known items by text (cosine of unit text vectors; weights softmax(similarity /
temperature)). The fused Transformer does this with its item vectors
(:meth:`~shoprec.models.sasrec.net.ItemTable.impute_cold`), the learned ranker with its
collaborative sources and item statistics (:class:`ImputesColdItems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shoprec.data import IdVocab
from shoprec.errors import ModelError
from shoprec.types import ItemId

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
T = TypeVar("T", bound=np.generic)


@dataclass(frozen=True)
class TextNeighbours:
    """Each cold item (no events, has text) with its nearest known items by text.

    Attributes:
        cold: ``(U,)`` rows of the cold items.
        rows: ``(U, k)`` rows of each one's nearest known items, nearest first.
        weights: ``(U, k)`` softmax(cosine similarity / temperature): each row sums to 1.
        n_items: Catalogue size.
    """

    cold: IntArray
    rows: IntArray
    weights: FloatArray
    n_items: int

    @classmethod
    def find(
        cls, text: FloatArray, known: npt.NDArray[np.bool_], k: int, temperature: float
    ) -> TextNeighbours:
        """The ``k`` nearest known items of every item that is not ``known`` but has text.

        Args:
            text: ``(N, D)`` item text vectors (unit length; zero rows = no text).
            known: ``(N,)`` True for the items the model learned from events.
            k: Neighbours per cold item (fewer when fewer items are known).
            temperature: Softmax temperature over the similarities (smaller: closer to the
                single nearest neighbour).
        """
        has_text = np.linalg.norm(text, axis=1) > 0
        cold = np.flatnonzero(~known & has_text).astype(np.int64)
        warm = np.flatnonzero(known & has_text).astype(np.int64)
        k = min(k, len(warm))
        if not len(cold) or k == 0:
            return cls.none(len(text))
        import faiss  # exact inner-product top-k without a (U, K) similarity matrix

        index = faiss.IndexFlatIP(text.shape[1])
        index.add(np.ascontiguousarray(text[warm], dtype=np.float32))
        sim, nn = index.search(np.ascontiguousarray(text[cold], dtype=np.float32), k)
        logits = (sim - sim[:, :1]) / temperature  # the nearest first: stable softmax
        weights = np.exp(logits)
        weights /= weights.sum(axis=1, keepdims=True)
        return cls(cold, warm[nn], weights.astype(np.float32), len(text))

    @classmethod
    def none(cls, n_items: int) -> TextNeighbours:
        """No cold item described, in a catalogue of ``n_items``."""
        empty = np.zeros((0, 0))
        return cls(np.zeros(0, np.int64), empty.astype(np.int64), empty.astype(np.float32), n_items)

    def __len__(self) -> int:
        return len(self.cold)

    def only(self, rows: IntArray) -> TextNeighbours:
        """The same neighbours for the cold items among ``rows`` only."""
        keep = np.isin(self.cold, rows)
        return TextNeighbours(self.cold[keep], self.rows[keep], self.weights[keep], self.n_items)

    def matrix(self) -> sp.csr_matrix:
        """``W`` ``(N, N)``: ``W[j, c]`` the weight of known item ``j`` in cold item ``c``."""
        k = self.rows.shape[1] if len(self) else 0
        return sp.csr_matrix(
            (self.weights.ravel(), (self.rows.ravel(), np.repeat(self.cold, k))),
            shape=(self.n_items, self.n_items),
            dtype=np.float32,
        )

    def mean(self, values: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        """``values`` ``(N, ...)`` with each cold item's entry its neighbours' weighted mean."""
        out = values.copy()
        if len(self):
            shape = (len(self),) + (1,) * (values.ndim - 1)
            out[self.cold] = sum(
                self.weights[:, j].reshape(shape) * values[self.rows[:, j]]
                for j in range(self.rows.shape[1])
            )
        return out

    def impute_square(self, matrix: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        """``matrix``, in place, with each cold item's row and column its neighbours' mean.

        In place because the matrix may be catalogue-sized (EASE's dense ``B``): callers pass
        their own fresh copy. Both means read the matrix as given, whose cold rows and columns
        are empty, so the cold-cold block stays empty (no item is scored from itself).
        """
        if not len(self):
            return matrix
        k = range(self.rows.shape[1])
        columns = sum(self.weights[:, j] * matrix[:, self.rows[:, j]] for j in k)  # (N, U)
        # Rows next: the neighbours' rows still have empty cold columns.
        matrix[self.cold] = sum(self.weights[:, j, None] * matrix[self.rows[:, j]] for j in k)
        matrix[:, self.cold] = columns
        return matrix

    def impute_sparse(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """:meth:`impute_square` for a sparse matrix (``M + WᵀM + MW``)."""
        if not len(self):
            return matrix
        w = self.matrix()
        return sp.csr_matrix(matrix + w.T @ matrix + matrix @ w, dtype=matrix.dtype)


def grown_vocab(vocab: IdVocab, added: Sequence[ItemId], neighbours: TextNeighbours) -> IdVocab:
    """A copy of ``vocab`` with ``added`` appended: the catalogue ``neighbours`` describes.

    Raises:
        ModelError: When the grown vocabulary is not the size of that catalogue.
    """
    out = IdVocab(vocab.ids)
    out.add(added)
    if len(out) != neighbours.n_items:
        raise ModelError(
            f"cold items: {len(vocab)} known + {len(added)} added items, but the neighbours "
            f"describe a catalogue of {neighbours.n_items}"
        )
    return out


def padded(values: npt.NDArray[T], n: int, fill: float, square: bool = False) -> npt.NDArray[T]:
    """``values`` grown along its first axis (and its second, when ``square``) to ``n``."""
    width = [(0, n - values.shape[0])] + [(0, 0)] * (values.ndim - 1)
    if square:
        width[1] = (0, n - values.shape[1])
    return np.pad(values, width, constant_values=fill)


@runtime_checkable
class ImputesColdItems(Protocol):
    """A fitted model that can describe its cold items by their text neighbours."""

    def with_cold_items(self, neighbours: TextNeighbours, added: Sequence[ItemId] = ()) -> Self:
        """A copy that scores each cold item from its neighbours (this model unchanged).

        Args:
            neighbours: The cold items and their neighbours, in the catalogue grown by
                ``added``.
            added: Items new to the model, appended to its catalogue first (no events; scored
                where ``neighbours`` describes them, never otherwise).
        """
