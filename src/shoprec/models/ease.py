"""EASE: the closed-form linear item-to-item autoencoder (Steck, 2019) over weighted interactions.

Strong on small and medium catalogues, but the model is a dense ``N x N`` matrix found by
inverting another: beyond ``max_items`` it is refused in favour of co-visitation or SASRec.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import Field
from scipy.linalg import lapack

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ConfigError, ModelError
from shoprec.types import ItemId

from .base import BaseRecommender, Scores
from .cold_items import TextNeighbours, grown_vocab, padded
from .config import FitOptions, WeightedConfig
from .registry import register
from .weighting import history_weights, strongest, type_weight_table, user_item_matrix


class EASEConfig(WeightedConfig):
    """Configuration of :class:`EASE`."""

    l2: float = Field(50.0, gt=0.0)
    """L2 regularisation (lambda) on the item-item weights; interactions are scaled so that their
    mean weight is 1, so it means the same whatever the event mix."""

    max_items: int = Field(50_000, ge=1)
    """Largest catalogue accepted: memory grows with its square and time with its cube."""

    dtype: Literal["float32", "float64"] = "float32"
    """Precision of the inversion (float32 halves memory and time; rankings barely move)."""


@register
class EASE(BaseRecommender):
    """Embarrassingly Shallow Autoencoder: ``scores = history @ B`` with a zero-diagonal ``B``.

    ``B = I - P / diag(P)`` with ``P = (X^T X + l2 I)^-1``, ``X`` the user-item matrix of each
    user's strongest event weight per item. Items never interacted with in training cannot be
    scored (``NaN``), nor can an empty history.

    Example:
        >>> model = EASE(EASEConfig(l2=100.0))  # doctest: +SKIP
    """

    key: ClassVar[str] = "ease"
    config_cls: ClassVar[type[EASEConfig]] = EASEConfig
    config: EASEConfig
    search_space: ClassVar[dict[str, list[Any]]] = {"l2": [50.0, 200.0]}

    def __init__(self, config: EASEConfig | None = None) -> None:
        super().__init__(config)
        self._weights = np.zeros((0, 0), dtype=np.float32)  # (N, N) item-item B
        self._known = np.zeros(0, dtype=bool)  # (N,) item occurred in training
        self._unknown = np.zeros(0, dtype=np.int64)  # its false rows (a cheaper mask per request)
        self._type_table = type_weight_table(self.config.event_weights)
        self.weight_scale = 1.0
        """Mean event weight of the training matrix (interactions are divided by it)."""

    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        """Solve for the item-item matrix of ``data`` (deterministic: ``opts`` is unused).

        Raises:
            ConfigError: When the catalogue has more than ``max_items`` items.
            ModelError: When the regularised Gram matrix cannot be inverted.
        """
        cfg = self.config
        n = data.n_items
        if n > cfg.max_items:
            gib = 2 * n * n * np.dtype(cfg.dtype).itemsize / 2**30
            raise ConfigError(
                f"EASE inverts a dense {n:,} x {n:,} item matrix (about {gib:.0f} GiB, time "
                f"growing with the cube of the catalogue); this catalogue has {n:,} items, above "
                f"max_items={cfg.max_items:,}. Use 'covisit' or 'sasrec' for large catalogues, "
                "or raise max_items if the machine can take it."
            )
        seqs = data.sequences
        matrix = user_item_matrix(seqs, n, self._type_table[seqs.types])
        self.weight_scale = float(matrix.data.mean()) if matrix.nnz else 1.0
        matrix = (matrix / self.weight_scale).astype(cfg.dtype)
        # The Gram matrix is symmetric: the transposed view is the Fortran-ordered array LAPACK
        # works on in place.
        gram = (matrix.T @ matrix).toarray().T
        gram[np.diag_indices(n)] += cfg.l2
        self.item_vocab = IdVocab(data.item_vocab.ids)
        self._set_known(np.diff(matrix.tocsc().indptr) > 0)
        self._weights = _ease_weights(gram)
        self._fitted = True

    def score_batch(self, histories: UserSequences) -> Scores:
        """``history @ B`` for each history ``(B, N)``; ``NaN`` for unknown items, empty rows."""
        self._require_fitted()
        n = len(self._known)
        weights = history_weights(histories, n, self._type_table) / self.weight_scale
        if len(histories) == 1:
            # One request: a weighted sum of a few rows of B, no sparse matrix to build.
            items, strength = strongest(histories.items.astype(np.int64), weights)
            scores = (strength @ self._weights[items])[None, :].astype(np.float32)
        else:
            query = user_item_matrix(histories, n, weights)
            scores = np.asarray(query @ self._weights, dtype=np.float32)
        scores[:, self._unknown] = np.nan
        scores[histories.lengths() == 0] = np.nan
        return scores

    def with_cold_items(self, neighbours: TextNeighbours, added: Sequence[ItemId] = ()) -> Self:
        """A copy whose cold items take their text neighbours' rows and columns of ``B``.

        The weighted means (:class:`~.cold_items.TextNeighbours`); they are then scored like
        known items instead of NaN. ``added`` items without neighbours stay unscored.
        """
        self._require_fitted()
        out = copy.copy(self)
        out.item_vocab = grown_vocab(self.item_vocab, added, neighbours)
        n = len(out.item_vocab)
        # The padded array is a new one: imputing it in place leaves this model's untouched.
        out._weights = neighbours.impute_square(padded(self._weights, n, 0.0, square=True))
        known = padded(self._known, n, False)
        known[neighbours.cold] = True
        out._set_known(known)
        return out

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"weights": self._weights, "known": self._known}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._weights = arrays["weights"]
        self._set_known(arrays["known"])

    def _set_known(self, known: npt.NDArray[np.bool_]) -> None:
        self._known = known
        self._unknown = np.flatnonzero(~known)

    def _extra_state(self) -> dict[str, Any]:
        return {"weight_scale": self.weight_scale}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.weight_scale = float(state.get("weight_scale", 1.0))


def _ease_weights(gram: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """``B = I - P / diag(P)`` (zero diagonal) for ``P = gram^-1``; ``gram`` is overwritten.

    Cholesky factorisation and inversion in place (LAPACK ``potrf``/``potri`` on the
    Fortran-ordered ``gram``): about half the work of a general inverse and no second
    ``N x N`` array.
    """
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (gram,))
    factor, info = potrf(gram, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        factor, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ModelError(
            f"EASE: the regularised Gram matrix is not invertible (LAPACK info {info})"
        )
    # potri filled the upper triangle of the Fortran array: the lower one of its C-ordered view.
    inverse: npt.NDArray[np.floating] = factor.T
    _mirror_lower(inverse)
    diag = np.diag(inverse).copy()
    inverse /= -diag  # column j divided by -P[j, j]
    np.fill_diagonal(inverse, 0.0)
    return inverse.astype(np.float32, copy=False)


def _mirror_lower(a: npt.NDArray[np.floating], block: int = 1024) -> None:
    """Copy the lower triangle of square ``a`` onto its upper one, in place, a block at a time."""
    n = a.shape[0]
    for start in range(0, n, block):
        end = min(start + block, n)
        a[:start, start:end] = a[start:end, :start].T
        diagonal = a[start:end, start:end]
        diagonal[...] = np.tril(diagonal) + np.tril(diagonal, -1).T
