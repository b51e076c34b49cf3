"""Implicit-feedback matrix factorisation (iALS, Hu, Koren and Volinsky 2008) through ``implicit``.

Only the item factors are kept: a user's vector is solved from the request's history at scoring
time (``recalculate_user``), so known users, new users and anonymous sessions are scored alike
and the latest events count without retraining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ModelError

from .base import BaseRecommender, Scores
from .config import FitOptions, WeightedConfig
from .registry import register
from .weighting import history_weights, type_weight_table, user_item_matrix

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import ThreadpoolController


class ALSConfig(WeightedConfig):
    """Configuration of :class:`ALS`."""

    factors: int = Field(128, ge=1)
    """Length of the item and user vectors."""

    regularization: float = Field(5.0, ge=0.0)
    """L2 regularisation of the factors."""

    alpha: float = Field(20.0, gt=0.0)
    """Confidence of an interaction: ``alpha x`` its weight (interactions are scaled so that
    their mean weight is 1)."""

    iterations: int = Field(15, ge=1)
    """Alternating least-squares sweeps."""

    num_threads: int = Field(1, ge=1)
    """Threads of implicit's solver (BLAS is held to one thread while fitting, as implicit
    advises)."""


@register
class ALS(BaseRecommender):
    """Weighted matrix factorisation; a history is scored through its freshly solved user vector.

    Items never interacted with in training cannot be scored (``NaN``), nor can an empty history.

    Example:
        >>> model = ALS(ALSConfig(factors=256))  # doctest: +SKIP
    """

    key: ClassVar[str] = "als"
    config_cls: ClassVar[type[ALSConfig]] = ALSConfig
    config: ALSConfig
    search_space: ClassVar[dict[str, list[Any]]] = {"factors": [128, 256]}

    def __init__(self, config: ALSConfig | None = None) -> None:
        super().__init__(config)
        self._solver: AlternatingLeastSquares | None = None
        self._blas: ThreadpoolController | None = None
        self._known = np.zeros(0, dtype=bool)  # (N,) item occurred in training
        self._type_table = type_weight_table(self.config.event_weights)
        self.weight_scale = 1.0
        """Mean event weight of the training matrix (interactions are divided by it)."""

    def _new_solver(self, seed: int | None) -> AlternatingLeastSquares:
        # Imported here so that ``import shoprec`` stays light.
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import ThreadpoolController

        cfg = self.config
        # Created after implicit has loaded scipy, so that it sees every BLAS in the process.
        self._blas = ThreadpoolController()
        with self._one_blas_thread():
            return AlternatingLeastSquares(
                factors=cfg.factors,
                regularization=cfg.regularization,
                alpha=cfg.alpha,
                iterations=cfg.iterations,
                num_threads=cfg.num_threads,
                random_state=seed,
            )

    def _one_blas_thread(self) -> AbstractContextManager[object]:
        """BLAS held to one thread around implicit's calls.

        implicit parallelises over users itself (and warns about a threaded BLAS); a threaded
        BLAS inside its small per-user solves costs 3x and long tails on a single request.
        """
        if self._blas is None:  # pragma: no cover - set with the solver
            raise ModelError("ALS has no solver")
        limit: AbstractContextManager[object] = self._blas.limit(limits=1, user_api="blas")
        return limit

    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        """Factorise the weighted user-item matrix of ``data`` (seeded by ``opts.seed``)."""
        seqs = data.sequences
        matrix = user_item_matrix(seqs, data.n_items, self._type_table[seqs.types])
        self.weight_scale = float(matrix.data.mean()) if matrix.nnz else 1.0
        matrix = (matrix / self.weight_scale).astype(np.float32).tocsr()
        solver = self._new_solver(opts.seed)
        with self._one_blas_thread():
            solver.fit(matrix, show_progress=False)
        self.item_vocab = IdVocab(data.item_vocab.ids)
        self._known = np.diff(matrix.tocsc().indptr) > 0
        self._solver = solver
        self._fitted = True

    def query_embeddings(self, histories: UserSequences) -> npt.NDArray[np.float32]:
        """Each history's user vector ``(B, factors)``, solved against the fixed item factors."""
        self._require_fitted()
        solver = self._require_solver()
        n = len(self._known)
        weights = history_weights(histories, n, self._type_table)
        query = user_item_matrix(histories, n, weights / self.weight_scale).astype(np.float32)
        with self._one_blas_thread():
            users = solver.recalculate_user(np.arange(len(histories)), query)
        return np.asarray(users, dtype=np.float32).reshape(len(histories), -1)

    def item_embeddings(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """The item factors ``(N, factors)`` and which items occurred in training."""
        self._require_fitted()
        return np.asarray(self._require_solver().item_factors, dtype=np.float32), self._known

    def score_batch(self, histories: UserSequences) -> Scores:
        """Dot products with each history's solved user vector ``(B, N)``; ``NaN`` = unscorable."""
        users = self.query_embeddings(histories)
        items, known = self.item_embeddings()
        with self._one_blas_thread():
            scores = np.asarray(users @ items.T, dtype=np.float32)
        scores[:, ~known] = np.nan
        scores[histories.lengths() == 0] = np.nan
        return scores

    def _require_solver(self) -> AlternatingLeastSquares:
        if self._solver is None:  # pragma: no cover - fitted implies a solver
            raise ModelError("ALS has no factors")
        return self._solver

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"item_factors": self._require_solver().item_factors, "known": self._known}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._solver = self._new_solver(None)
        self._solver.item_factors = arrays["item_factors"]
        self._known = arrays["known"]

    def _extra_state(self) -> dict[str, Any]:
        return {"weight_scale": self.weight_scale}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.weight_scale = float(state.get("weight_scale", 1.0))
