"""Compressed SASRec: one frozen inference Recommender over an int8, half-precision or ONNX backend.

``sasrec-int8``, ``sasrec-fp16`` (preset ``sasrec-bf16``) and ``sasrec-onnx`` are one
Recommender, :class:`CompressedSASRec`, holding a :class:`~.backends.Backend`; each key's class
names its config (the source network's SASRec config + the backend's settings) and builds its
backend. ``SASRecInt8.derive(teacher, **settings)`` compresses a fitted :class:`SASRec`
(``shoprec optimize``); ``fit`` trains the fp32 SASRec the config describes first (registry,
contract tests). Inference-only: the artifact holds the precomputed ``(N, D)`` item table, not
the ID embeddings and text vectors, so new items (``add_items``) need a retrained source.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

import numpy as np
import numpy.typing as npt
import torch
from pydantic import Field

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ModelError
from shoprec.models.base import BaseRecommender, Scores
from shoprec.models.config import FitOptions
from shoprec.types import Candidates, ItemId, Query

from .backends import Arrays, Backend, HalfBackend, Int8Backend, OnnxBackend, ShortlistRanker
from .catalogue import ShortlistCatalogue
from .config import SASRecConfig
from .data import check_items, inference_windows
from .net import SequenceEncoder
from .scorer import SASRec, base_config
from .train import EVAL_BATCH


class Int8Config(SASRecConfig):
    """SASRec config of the source network + int8 inference settings."""

    shortlist: int = Field(100, ge=1)
    """Items per history re-scored exactly (fp32) after the pass over the catalogue's codes."""

    catalogue: Literal["int8", "pq4"] = "int8"
    """Codes of the item table scanned before the re-scoring: ``"int8"`` (a quarter of fp32's
    bytes) or ``"pq4"`` (4-bit product quantization, a sixteenth: for large catalogues, with a
    longer ``shortlist``; measured in docs/benchmarks.md)."""


class HalfConfig(SASRecConfig):
    """SASRec config of the source network + the half-precision type."""

    dtype: Literal["float16", "bfloat16"] = "float16"
    """``"float16"`` or ``"bfloat16"`` weights, item table and arithmetic."""


class OnnxConfig(SASRecConfig):
    """SASRec config of the source network + ONNX Runtime settings."""

    onnx_threads: int = Field(1, ge=0)
    """ONNX Runtime intra-op threads (0: one per core). One suits serving: a single history is
    too small to split, and the service's event loop needs the other core."""

    parity_tolerance: float = Field(1e-4, gt=0.0)
    """Largest allowed absolute score difference to PyTorch, checked when the graph is built."""

    int8: bool = False
    """Quantize the graph with ONNX Runtime's dynamic int8 quantization: int8 weights (the item
    table included) and activations quantized per call; checked by ranking agreement instead
    of ``parity_tolerance``."""

    min_top10_overlap: float = Field(0.9, ge=0.0, le=1.0)
    """int8: least mean top-10 overlap with PyTorch on probe histories; the build fails below."""


B = TypeVar("B", bound=Backend)


class CompressedSASRec(BaseRecommender, Generic[B]):
    """Inference-only SASRec: scoring (latest ``max_len`` events, whole catalogue) by a backend.

    Subclasses name the key and config and say how their backend is built (:meth:`_build`,
    from the source's encoder and item table) and read back (:meth:`_restore`).
    """

    config_cls: ClassVar[type[SASRecConfig]] = SASRecConfig
    config: SASRecConfig

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
        fields = teacher.network_config.model_dump()
        model = cls(cls.config_cls.model_validate({**fields, **settings}))
        model._derive_from(teacher)
        return model

    def fit(
        self,
        data: Interactions,
        opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
        **_: Any,
    ) -> None:
        """Train the fp32 SASRec described by the config on ``data``, then derive from it."""
        teacher = SASRec(base_config(self.config))
        teacher.fit(data, opts)
        self._derive_from(teacher)

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
        self._backend = self._build(encoder.eval(), table)
        self._fitted = True
        self.source_state = self._verify(teacher)

    @abstractmethod
    def _build(self, encoder: SequenceEncoder, table: torch.Tensor) -> B:
        """This model's backend over the source's encoder and item table."""

    @abstractmethod
    def _restore(self, arrays: Arrays) -> B:
        """The backend again from the artifact's arrays."""

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
        cfg = self.config
        rows = inference_windows(histories, cfg.max_len, cfg.time_gap_buckets)
        out = np.empty((len(histories), n_items), dtype=np.float32)
        for start in range(0, len(histories), EVAL_BATCH):
            batch = rows.take(np.arange(start, min(start + EVAL_BATCH, len(histories))))
            out[start : start + len(batch)] = backend.scores(batch)
        out[histories.lengths() == 0] = np.nan
        if not cfg.uses_text:
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
        # take() trims the padding as score_batch's batches do (the int8 activations see the
        # same values, so both paths rank alike).
        cfg = self.config
        row = inference_windows(seqs, cfg.max_len, cfg.time_gap_buckets).take(np.arange(1))
        idx, vals = backend.top_k(row, k + len(skip), k + len(skip))
        best = [(i, v) for i, v in zip(idx, vals, strict=True) if i not in skip][:k]
        ids = self.item_vocab.ids
        scores = np.array([v for _, v in best], dtype=np.float32)
        return Candidates(tuple(ids[i] for i, _ in best), scores)

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {**self.backend.arrays(), "known": self.known}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.known = arrays["known"]
        self._backend = self._restore(arrays)

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

    def _build(self, encoder: SequenceEncoder, table: torch.Tensor) -> Int8Backend:
        cfg = self.config
        return Int8Backend.build(cfg, encoder, table, cfg.catalogue, cfg.shortlist)

    def _restore(self, arrays: Arrays) -> Int8Backend:
        return Int8Backend(self.config, arrays, self.config.shortlist)

    @property
    def catalogue(self) -> ShortlistCatalogue:
        """The scanned item codes (int8 or pq4)."""
        return self.backend.catalogue


class SASRecHalf(CompressedSASRec[HalfBackend]):
    """SASRec in float16 or bfloat16 (:class:`~.backends.HalfBackend`)."""

    key: ClassVar[str] = "sasrec-fp16"
    config_cls: ClassVar[type[HalfConfig]] = HalfConfig
    config: HalfConfig

    @property
    def dtype(self) -> torch.dtype:
        """The torch dtype of weights and arithmetic."""
        return torch.float16 if self.config.dtype == "float16" else torch.bfloat16

    def _build(self, encoder: SequenceEncoder, table: torch.Tensor) -> HalfBackend:
        return HalfBackend.build(self.config, encoder, table, self.dtype)

    def _restore(self, arrays: Arrays) -> HalfBackend:
        return HalfBackend(self.config, arrays, self.dtype)


class SASRecOnnx(CompressedSASRec[OnnxBackend]):
    """SASRec exported to ONNX and scored by ONNX Runtime (CPU), parity-checked when built.

    The graph (weights and item table included) is stored as the ``onnx`` byte array of
    ``weights.safetensors``; :meth:`onnx_graph` returns it for use outside shoprec.
    """

    key: ClassVar[str] = "sasrec-onnx"
    config_cls: ClassVar[type[OnnxConfig]] = OnnxConfig
    config: OnnxConfig

    def _build(self, encoder: SequenceEncoder, table: torch.Tensor) -> OnnxBackend:
        return OnnxBackend.build(encoder, table, self.config.onnx_threads, self.config.int8)

    def _restore(self, arrays: Arrays) -> OnnxBackend:
        return OnnxBackend(arrays["onnx"].tobytes(), self.config.onnx_threads)

    def onnx_graph(self) -> bytes:
        """The serialized ONNX model (inputs ``items``, ``types``[, ``gaps``]; output scores)."""
        return self.backend.graph

    def _verify(self, teacher: SASRec) -> dict[str, Any]:
        """Score seeded random histories of every length with both engines.

        Fails above ``parity_tolerance`` (fp32) or below ``min_top10_overlap`` (int8).
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
