"""Compressed SASRec: one frozen inference Recommender over an int8, half-precision or ONNX backend.

``sasrec-int8``, ``sasrec-fp16`` (preset ``sasrec-bf16``) and ``sasrec-onnx`` are each a
:class:`CompressedSASRec` that names its key, config and :class:`~.backends.Backend` class.
``derive(teacher, **settings)`` compresses a fitted :class:`SASRec` (``shoprec optimize``);
``fit`` first trains the fp32 SASRec the config describes (registry, contract tests). The
artifact holds the precomputed ``(N, D)`` item table instead of ID embeddings and text vectors,
so new items (``add_items``) need a retrained source.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ModelError
from shoprec.features.quantized_index import ShortlistCatalogue
from shoprec.models.base import BaseRecommender, Scores
from shoprec.models.config import FitOptions
from shoprec.types import Candidates, ItemId, Query

from .backends import (
    Backend,
    HalfBackend,
    HalfConfig,
    Int8Backend,
    Int8Config,
    OnnxBackend,
    OnnxConfig,
    ShortlistRanker,
)
from .config import SASRecConfig
from .data import check_items, inference_batches
from .net import SequenceEncoder
from .scorer import SASRec, fit_teacher
from .train import EVAL_BATCH

B = TypeVar("B", bound=Backend)


class CompressedSASRec(BaseRecommender, Generic[B]):
    """Inference-only SASRec: the latest ``max_len`` events scored over the catalogue by a backend.

    Subclasses set ``key``, ``config_cls`` and ``backend_cls``; :meth:`_verify` may check the
    built model against its source.
    """

    config_cls: ClassVar[type[SASRecConfig]] = SASRecConfig
    config: SASRecConfig
    backend_cls: type[B]

    def __init__(self, config: SASRecConfig | None = None) -> None:
        super().__init__(config)
        self.known = np.ones(0, dtype=np.float32)  # (N,) items seen in training
        self.params = 0
        self.source_state: dict[str, Any] = {}  # measured when built (e.g. ONNX parity)
        self._backend: B | None = None

    @property
    def backend(self) -> B:
        """The backend that scores (raises NotFittedError before ``fit``/``derive``/``load``)."""
        self._require_fitted()
        assert self._backend is not None
        return self._backend

    @classmethod
    def derive(
        cls,
        teacher: SASRec,
        data: Interactions | None = None,
        opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
        **settings: Any,
    ) -> Self:
        """This model of a fitted SASRec with the given settings (``data``/``opts`` unused)."""
        model = cls(teacher.derived_config(cls.config_cls, settings))
        model._derive_from(teacher)
        return model

    def fit(
        self,
        data: Interactions,
        opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
        **_: Any,
    ) -> None:
        """Train the fp32 SASRec described by the config on ``data``, then derive from it."""
        self._derive_from(fit_teacher(self.config, data, opts))

    def _derive_from(self, teacher: SASRec) -> None:
        net = teacher.network
        self.item_vocab = IdVocab(teacher.item_vocab.ids)
        encoder = SequenceEncoder(self.config)
        encoder.load_state_dict(
            {k: v for k, v in net.state_dict().items() if not k.startswith("items.")}
        )
        with torch.inference_mode():
            table = net.items().float().clone()  # (N, D)
        self.known = net.items.known.numpy().astype(np.float32)
        self.params = sum(p.numel() for p in encoder.parameters()) + table.numel()
        self._backend = self.backend_cls.build(self.config, encoder.eval(), table)
        self._fitted = True
        self.source_state = self._verify(teacher)

    def _verify(self, teacher: SASRec) -> dict[str, Any]:
        """Check the built model against its source; what was measured goes to the artifact."""
        return {}

    def parameter_count(self) -> int:
        """Scalars stored for scoring: encoder weights plus the ``(N, D)`` item table."""
        return self.params

    @torch.inference_mode()
    def score_batch(self, histories: UserSequences) -> Scores:
        """Scores ``(B, N)`` of every catalogue item as each history's next event.

        Raises:
            DataError: When a history holds an item index outside the model's vocabulary.
        """
        backend = self.backend
        n_items = len(self.item_vocab)
        check_items(histories, n_items)
        out = np.empty((len(histories), n_items), dtype=np.float32)
        for start, batch in inference_batches(histories, self.config, EVAL_BATCH):
            out[start : start + len(batch)] = backend.scores(batch)
        out[histories.lengths() == 0] = np.nan
        if not self.config.uses_text:
            out[:, self.known == 0] = np.nan
        return out

    @torch.inference_mode()
    def top_k(self, query: Query, k: int, exclude: Iterable[ItemId] = ()) -> Candidates:
        """One history's top ``k``: a short-list backend ranks it without a whole score row."""
        backend = self.backend
        if not isinstance(backend, ShortlistRanker):
            return super().top_k(query, k, exclude)
        seqs = self.encode(query)
        if not len(seqs.items):
            return Candidates(())
        skip = {int(i) for i in self.item_vocab.lookup(exclude) if i >= 0}
        if not self.config.uses_text:
            skip.update(np.flatnonzero(self.known == 0).tolist())
        # Cropped as score_batch's batches are (the int8 activations see the same values, so
        # both paths rank alike).
        _, row = next(inference_batches(seqs, self.config, 1))
        idx, vals = backend.top_k(row, k + len(skip), k + len(skip))
        best = [(i, v) for i, v in zip(idx, vals, strict=True) if i not in skip][:k]
        ids = self.item_vocab.ids
        scores = np.array([v for _, v in best], dtype=np.float32)
        return Candidates(tuple(ids[i] for i, _ in best), scores)

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {**self.backend.arrays(), "known": self.known}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.known = arrays["known"]
        self._backend = self.backend_cls.restore(self.config, arrays)

    def _extra_state(self) -> dict[str, Any]:
        return {"params": self.params, **self.source_state}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.params = int(state.get("params", 0))
        self.source_state = {k: v for k, v in state.items() if k != "params"}


class SASRecInt8(CompressedSASRec[Int8Backend]):
    """int8 SASRec (:class:`~.backends.Int8Backend`): int8 linear layers and item codes."""

    key: ClassVar[str] = "sasrec-int8"
    config_cls: ClassVar[type[Int8Config]] = Int8Config
    config: Int8Config
    backend_cls = Int8Backend

    @property
    def catalogue(self) -> ShortlistCatalogue:
        """The scanned item codes (int8 or pq4)."""
        return self.backend.catalogue


class SASRecHalf(CompressedSASRec[HalfBackend]):
    """SASRec in float16 or bfloat16 (:class:`~.backends.HalfBackend`)."""

    key: ClassVar[str] = "sasrec-fp16"
    config_cls: ClassVar[type[HalfConfig]] = HalfConfig
    config: HalfConfig
    backend_cls = HalfBackend


class SASRecOnnx(CompressedSASRec[OnnxBackend]):
    """SASRec exported to ONNX and scored by ONNX Runtime (CPU), parity-checked when built.

    The graph (weights and item table included) is the ``onnx`` byte array of
    ``weights.safetensors``; :meth:`onnx_graph` returns it for use outside shoprec.
    """

    key: ClassVar[str] = "sasrec-onnx"
    config_cls: ClassVar[type[OnnxConfig]] = OnnxConfig
    config: OnnxConfig
    backend_cls = OnnxBackend

    def onnx_graph(self) -> bytes:
        """The serialized ONNX model (inputs ``items``, ``types``[, ``gaps``]; output scores)."""
        return self.backend.graph

    def _verify(self, teacher: SASRec) -> dict[str, Any]:
        """Score seeded random histories of every length with both engines.

        Raises:
            ModelError: Above ``parity_tolerance`` (fp32) or below ``min_top10_overlap`` (int8).
        """
        cfg, rng = self.config, np.random.default_rng(0)
        lengths = 1 + np.arange(64) % cfg.max_len
        n = len(teacher.item_vocab)
        probe = UserSequences.from_lists([rng.integers(0, n, size=k).tolist() for k in lengths])
        mine, theirs = self.score_batch(probe), teacher.score_batch(probe)
        both = np.isnan(mine) & np.isnan(theirs)
        diff = float(np.abs(np.where(both, 0.0, mine - theirs)).max(initial=0.0))
        state: dict[str, Any] = {"parity_max_abs_diff": diff}
        if cfg.int8:
            state["top10_overlap"] = overlap = top_overlap(mine, theirs, 10)
            if not overlap >= cfg.min_top10_overlap:
                raise ModelError(
                    f"int8 ONNX top-10 agrees with PyTorch on {overlap:.1%} of items "
                    f"(< min_top10_overlap {cfg.min_top10_overlap:.0%})"
                )
        elif not diff <= cfg.parity_tolerance:
            raise ModelError(
                f"ONNX scores differ from PyTorch by {diff:.3g} "
                f"(> parity_tolerance {cfg.parity_tolerance})"
            )
        return state


def top_overlap(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], k: int) -> float:
    """Mean share of each row's top ``k`` items (by ``b``) that are also in ``a``'s top ``k``."""
    top_a = np.argsort(-np.nan_to_num(a, nan=-np.inf), axis=1)[:, :k]
    top_b = np.argsort(-np.nan_to_num(b, nan=-np.inf), axis=1)[:, :k]
    shared = [len(np.intersect1d(x, y)) / k for x, y in zip(top_a, top_b, strict=True)]
    return float(np.mean(shared))
