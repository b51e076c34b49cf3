"""Compressed SASRec Recommenders: int8, fp16/bf16, pruned, distilled and ONNX Runtime variants.

Each variant is an ordinary registered Recommender (``sasrec-int8``, ``sasrec-fp16``,
``sasrec-pruned``, ``sasrec-distilled``, ``sasrec-onnx``) whose config is the SASRec config of
the network it comes from plus the variant's own settings. Two ways to get one:

- ``Variant.derive(teacher, data, opts, **settings)``: from a fitted :class:`SASRec` (what
  ``shoprec optimize`` does with an artifact);
- ``Variant(config).fit(data, opts)``: trains the fp32 SASRec described by the config, then
  derives from it (what the registry, the benchmark runner and the contract tests do).

Artifacts are the usual directory (``config.json``, ``weights.safetensors``, ``items.json``),
so ``load_model`` and the service load them like any other model. The int8, half-precision and
ONNX variants are *inference-only*: they store the precomputed item table instead of the ID
embeddings and raw text vectors, so they cannot learn new items (``add_items``) — retrain the
fp32 model and derive again. Pruned and distilled models are plain SASRec networks (all of
SASRec's features).
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
import torch
from pydantic import Field

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ConfigError, DataError, ModelError
from shoprec.models.base import BaseRecommender, Scores
from shoprec.models.config import FitOptions
from shoprec.types import Candidates, ItemId, Query

from .compress import (
    INT8_SUFFIX,
    PQ_SUFFIX,
    SCALE_SUFFIX,
    DistillTrainer,
    Int8Catalogue,
    OnnxSession,
    PQCatalogue,
    ShortlistCatalogue,
    count_parameters,
    encoder_state,
    export_onnx,
    finalize_pruning,
    init_student,
    int8_encoder,
    int8_linear_arrays,
    make_encoder,
    max_abs_diff,
    prune_linears,
    pruned_sparsity,
    quantize_onnx,
    top_overlap,
)
from .config import SASRecConfig
from .data import SeqBatch, inference_windows, training_windows
from .net import SASRecNet
from .scorer import SASRec
from .train import EVAL_BATCH, Trainer, resolve_device

HalfDtype = Literal["float16", "bfloat16"]
CatalogueCodes = Literal["int8", "pq4"]


# -- configs ---------------------------------------------------------------------------------
class Int8Config(SASRecConfig):
    """SASRec config of the source network + int8 inference settings."""

    shortlist: int = Field(100, ge=1)
    """Items per history re-scored exactly (fp32) after the pass over the catalogue's codes."""

    catalogue: CatalogueCodes = "int8"
    """Codes of the item table scanned before the re-scoring: ``"int8"`` (a quarter of fp32's
    bytes) or ``"pq4"`` (4-bit product quantization, a sixteenth: for large catalogues, with a
    longer ``shortlist``; measured in docs/benchmarks.md)."""


class HalfConfig(SASRecConfig):
    """SASRec config of the source network + the half-precision type."""

    dtype: HalfDtype = "float16"
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


class PrunedConfig(SASRecConfig):
    """SASRec config + magnitude pruning of every linear layer and its recovery fine-tune."""

    prune_amount: float = Field(0.5, ge=0.0, lt=1.0)
    """Share of each linear layer's weights set to zero (smallest magnitude first)."""

    prune_epochs: int = Field(2, ge=0)
    """Fine-tuning epochs with the pruning masks held (needs the training data)."""


class DistilledConfig(SASRecConfig):
    """SASRec config of the teacher + the smaller student and the distillation loss.

    The default student keeps the teacher's Transformer and shrinks its ID table, which holds
    nearly all the parameters of a catalogue-sized model, to ``student_id_dim`` columns plus
    ``student_head_dim`` more for the most frequent ``student_head_share`` of the items (chosen
    on Beauty's validation target); it starts from the teacher (see
    :func:`~shoprec.models.sasrec.compress.init_student`).
    """

    student_hidden: int | None = Field(None, ge=8)
    """Width of the student (``None``: the teacher's)."""

    student_layers: int | None = Field(None, ge=1)
    """Transformer blocks of the student (``None``: the teacher's)."""

    student_heads: int | None = Field(None, ge=1)
    """Attention heads of the student (``None``: the teacher's; must divide its width)."""

    student_id_dim: int | None = Field(4, ge=1)
    """Width of the student's ID vectors, lifted to its hidden width (``None``: its width)."""

    student_head_share: float = Field(0.2, ge=0.0, le=1.0)
    """Share of the catalogue, most frequent training items first, that gets a second, wider ID
    vector in the student (``id_head_items``)."""

    student_head_dim: int | None = Field(32, ge=1)
    """Width of the student's head ID vectors (``None``: its width)."""

    student_text_hidden: int | None = Field(None, ge=1)
    """Hidden width of the student's MLP text projection (``None``: the teacher's projection);
    fit to the teacher's item vectors before training."""

    temperature: float = Field(2.0, gt=0.0)
    """Softening temperature of teacher and student scores in the distillation term."""

    distill_weight: float = Field(0.25, ge=0.0, le=1.0)
    """Weight of the distillation term; ``1 - distill_weight`` goes to the true next items."""

    student_epochs: int | None = Field(12, ge=1)
    """Student training epochs (``None``: ``FitOptions.max_epochs``, else ``max_epochs``). The
    default student starts from the teacher: a short fine-tune, as after pruning."""

    student_lr_decay: bool = True
    """Cosine-decay the student's learning rate to 0 over its epochs (else constant ``lr``): the
    last epoch is then the best one, so a fixed epoch count needs no validation target."""

    def student(self, n_head: int = 0) -> SASRecConfig:
        """The student's own SASRec config: the teacher's with the student's shape.

        ``n_head``: its number of head ID vectors (``student_head_share`` of the catalogue when
        derived; the stored table's size when loaded).
        """
        base = _base_config(self)
        shape = {
            "hidden": self.student_hidden,
            "n_layers": self.student_layers,
            "n_heads": self.student_heads,
        }
        update: dict[str, int | float | None] = {k: v for k, v in shape.items() if v is not None}
        update["id_dim"] = self.student_id_dim
        update["id_head_items"] = n_head
        update["id_head_dim"] = self.student_head_dim
        # The student's recipe (a short cosine-decayed fine-tune, measured in
        # docs/benchmarks.md) uses neither the teacher's ID dropout nor its weight average,
        # both chosen for a long run at a constant rate.
        update["id_dropout"] = 0.0
        update["ema_decay"] = 0.0
        if self.student_text_hidden is not None:
            update["text_hidden"] = self.student_text_hidden
        return SASRecConfig.model_validate(base.model_dump() | update)


def _base_config(config: SASRecConfig) -> SASRecConfig:
    """The plain SASRec part of a variant config."""
    return SASRecConfig.model_validate(config.model_dump(include=set(SASRecConfig.model_fields)))


def _source_fields(teacher: SASRec) -> dict[str, Any]:
    """The SASRec config of ``teacher``'s network (a distilled model's is its student's)."""
    config = teacher.config
    if isinstance(config, DistilledConfig):
        network = config.student(len(teacher._require_net().items.head_rows))
    else:
        network = _base_config(config)
    return network.model_dump()


def _check_data(teacher: SASRec, data: Interactions | None, method: str) -> Interactions:
    if data is None:
        raise ConfigError(f"{method} needs the training data (shoprec optimize --data DIR)")
    if data.item_vocab.ids != teacher.item_vocab.ids:
        raise ConfigError(
            f"{method}: the data's catalogue ({data.n_items} items) is not the model's "
            f"({len(teacher.item_vocab)} items, same order): use the data it was trained on"
        )
    return data


class _Derivation(BaseRecommender):
    """``fit`` and ``derive`` of every variant: build it from a fitted fp32 SASRec (teacher).

    ``fit`` trains the teacher the config describes first, so a variant passes the same
    contract as any model; subclasses implement ``_derive``.
    """

    config_cls: ClassVar[type[SASRecConfig]] = SASRecConfig
    config: SASRecConfig

    def fit(
        self,
        data: Interactions,
        opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
        **_: Any,
    ) -> None:
        """Train the fp32 SASRec described by the config on ``data``, then derive from it."""
        teacher = SASRec(_base_config(self.config))
        teacher.fit(data, opts)
        self._derive(teacher, data, opts)

    @classmethod
    def derive(
        cls,
        teacher: SASRec,
        data: Interactions | None = None,
        opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
        **settings: Any,
    ) -> Self:
        """Derive this variant from a fitted SASRec with the given variant settings."""
        model = cls(cls.config_cls.model_validate({**_source_fields(teacher), **settings}))
        model._derive(teacher, data, opts)
        return model

    @abstractmethod
    def _derive(self, teacher: SASRec, data: Interactions | None, opts: FitOptions) -> None:
        """Build this model from ``teacher`` (``data``/``opts`` for methods that train)."""


# -- derived from SASRec, still a SASRec network ---------------------------------------------
class _DerivedSASRec(_Derivation, SASRec):
    """A SASRec network derived from a fitted teacher; ``fit`` trains the teacher first."""


class SASRecPruned(_DerivedSASRec):
    """SASRec with magnitude-pruned linear layers, fine-tuned with the masks held."""

    key: ClassVar[str] = "sasrec-pruned"
    config_cls: ClassVar[type[PrunedConfig]] = PrunedConfig
    config: PrunedConfig

    def _derive(self, teacher: SASRec, data: Interactions | None, opts: FitOptions) -> None:
        cfg = self.config
        self.item_vocab = IdVocab(teacher.item_vocab.ids)
        net = copy.deepcopy(teacher._require_net())
        prune_linears(net, cfg.prune_amount)
        self.history = []
        if cfg.prune_epochs > 0:
            train = _check_data(teacher, data, "prune")
            device = resolve_device(opts.device)
            rows = training_windows(train.sequences, cfg.max_len, cfg.time_gap_buckets)
            trainer = Trainer(
                net.to(device), cfg, rows, device, opts.seed, self._validation(opts.validation)
            )
            self.history = trainer.run(cfg.prune_epochs).history
        finalize_pruning(net)
        self.net = net.to("cpu").eval()
        self.best_epoch = len(self.history)
        self._table = None
        self._fitted = True

    def sparsity(self) -> dict[str, float]:
        """Share of zero weights in each linear layer."""
        return pruned_sparsity(self._require_net())

    def nonzero_parameter_count(self) -> int:
        """Parameters that are not exactly zero."""
        return sum(int((p != 0).sum()) for p in self._require_net().parameters())


class SASRecDistilled(_DerivedSASRec):
    """A smaller SASRec student trained on a teacher's softened scores and the true next items."""

    key: ClassVar[str] = "sasrec-distilled"
    config_cls: ClassVar[type[DistilledConfig]] = DistilledConfig
    config: DistilledConfig

    def _derive(self, teacher: SASRec, data: Interactions | None, opts: FitOptions) -> None:
        cfg = self.config
        student_cfg = cfg.student(round(cfg.student_head_share * len(teacher.item_vocab)))
        train = _check_data(teacher, data, "distill")
        self.item_vocab = IdVocab(teacher.item_vocab.ids)
        teacher_net = teacher._require_net()
        torch.manual_seed(opts.seed)
        net = SASRecNet(len(self.item_vocab), teacher_net.items.text.shape[1], student_cfg)
        net.items.choose_head(np.bincount(train.sequences.items, minlength=len(self.item_vocab)))
        init_student(net, teacher_net)
        device = resolve_device(opts.device)
        rows = training_windows(train.sequences, cfg.max_len, cfg.time_gap_buckets)
        epochs = cfg.student_epochs or opts.max_epochs or cfg.max_epochs
        trainer = DistillTrainer(
            net.to(device),
            copy.deepcopy(teacher_net),
            student_cfg,
            rows,
            device,
            opts.seed,
            self._validation(opts.validation),
            cfg.temperature,
            cfg.distill_weight,
            epochs if cfg.student_lr_decay else None,
        )
        state = trainer.run(epochs)
        self.history = state.history
        self.best_epoch = state.best_epoch
        self.net = net.to("cpu").eval()
        self._table = None
        self._fitted = True

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        n_items, text_dim = arrays["items.text"].shape
        n_head = len(arrays.get("items.head_rows", ()))
        net = SASRecNet(n_items, text_dim, self.config.student(n_head))
        net.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
        self.net = net.eval()
        self._table = None


# -- inference-only: precomputed item table --------------------------------------------------
class _FrozenSASRec(_Derivation):
    """Inference-only SASRec: the encoder and the precomputed ``(N, D)`` item table.

    Scoring is SASRec's (latest ``max_len`` events, whole catalogue); subclasses choose the
    arithmetic in :meth:`_score_rows`.
    """

    config_cls: ClassVar[type[SASRecConfig]] = SASRecConfig
    config: SASRecConfig

    def __init__(self, config: SASRecConfig | None = None) -> None:
        super().__init__(config)
        self._known = np.ones(0, dtype=np.float32)
        self._stored: dict[str, npt.NDArray[Any]] = {}
        self._params = 0
        self.source_state: dict[str, Any] = {}
        """What was measured when the variant was built (e.g. ONNX parity)."""

    def _derive(self, teacher: SASRec, data: Interactions | None, opts: FitOptions) -> None:
        net = teacher._require_net()
        self.item_vocab = IdVocab(teacher.item_vocab.ids)
        encoder = make_encoder(self.config)
        encoder.load_state_dict(encoder_state(net))
        with torch.inference_mode():
            table = net.items().float().clone()  # (N, D)
        arrays = self._build_arrays(encoder, table)
        arrays["known"] = net.items.known.numpy().astype(np.float32)
        self._params = count_parameters(encoder) + table.numel()
        self._from_arrays(arrays)
        self._check(teacher)
        self._fitted = True

    def _check(self, teacher: SASRec) -> None:
        """Hook: verify the variant against its source once built."""

    @abstractmethod
    def _build_arrays(
        self, encoder: SASRecNet, table: torch.Tensor
    ) -> dict[str, npt.NDArray[Any]]: ...

    @abstractmethod
    def _score_rows(self, batch: SeqBatch) -> npt.NDArray[np.float32]:
        """``(B, N)`` scores of padded rows."""

    def parameter_count(self) -> int:
        """Scalars stored for scoring: encoder weights plus the ``(N, D)`` item table."""
        return self._params

    @torch.inference_mode()
    def score_batch(self, histories: UserSequences) -> Scores:
        """Scores ``(B, N)`` of every catalogue item as each history's next event.

        Raises:
            DataError: When a history holds an item index outside the model's vocabulary.
        """
        self._require_fitted()
        n_items = len(self.item_vocab)
        if len(histories.items) and (histories.items.max() >= n_items or histories.items.min() < 0):
            raise DataError(
                f"history item indices must lie in [0, {n_items}); map ids with item_vocab"
            )
        cfg = self.config
        rows = inference_windows(histories, cfg.max_len, cfg.time_gap_buckets)
        out = np.empty((len(histories), n_items), dtype=np.float32)
        for start in range(0, len(histories), EVAL_BATCH):
            batch = rows.take(np.arange(start, min(start + EVAL_BATCH, len(histories))))
            out[start : start + len(batch)] = self._score_rows(batch)
        out[histories.lengths() == 0] = np.nan
        if not cfg.uses_text:
            out[:, self._known == 0] = np.nan
        return out

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return self._stored

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._stored = arrays
        self._known = arrays["known"]
        self._load(arrays)

    @abstractmethod
    def _load(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        """Build the runtime from the stored arrays (also right after deriving)."""

    def _extra_state(self) -> dict[str, Any]:
        return {"params": self._params, **self.source_state}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self._params = int(state.get("params", 0))
        self.source_state = {k: v for k, v in state.items() if k != "params"}


def _torch_batch(batch: SeqBatch) -> dict[str, torch.Tensor]:
    return batch.to_torch(torch.device("cpu"))


class SASRecInt8(_FrozenSASRec):
    """int8 SASRec: dynamically quantized linear layers, int8 item table with exact re-scoring.

    Every linear layer of the Transformer runs as a dynamic int8 layer (int8 weights, per-batch
    quantized activations). Catalogue scores come from the item table's int8 codes (or 4-bit
    product-quantized ones, ``catalogue = "pq4"``); each history's ``shortlist`` best items get
    their exact fp32 score (so the top of the ranking is exact), the rest keep the
    approximation.
    """

    key: ClassVar[str] = "sasrec-int8"
    config_cls: ClassVar[type[Int8Config]] = Int8Config
    config: Int8Config

    def _build_arrays(self, encoder: SASRecNet, table: torch.Tensor) -> dict[str, npt.NDArray[Any]]:
        arrays = {f"encoder.{k}": v for k, v in int8_linear_arrays(encoder).items()}
        arrays["table"] = table.numpy()
        if self.config.catalogue == "pq4":
            arrays["table" + PQ_SUFFIX] = PQCatalogue(table).serialize()
        else:
            catalogue = Int8Catalogue(table)
            arrays["table" + INT8_SUFFIX] = catalogue.codes.numpy()
            arrays["table" + SCALE_SUFFIX] = catalogue.scale.numpy()
        return arrays

    def _load(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        enc = {k[len("encoder.") :]: v for k, v in arrays.items() if k.startswith("encoder.")}
        self.encoder = int8_encoder(self.config, enc)
        table = torch.from_numpy(arrays["table"])
        self.table = table
        self.catalogue: ShortlistCatalogue
        if self.config.catalogue == "pq4":
            self.catalogue = PQCatalogue(table, arrays["table" + PQ_SUFFIX])
        else:
            self.catalogue = Int8Catalogue(
                table,
                torch.from_numpy(arrays["table" + INT8_SUFFIX]),
                torch.from_numpy(arrays["table" + SCALE_SUFFIX]),
            )

    def _states(self, batch: SeqBatch) -> torch.Tensor:
        t = _torch_batch(batch)
        return self.encoder(self.table, t["items"], t["types"], t["gaps"])[:, -1]  # type: ignore[no-any-return]

    def _score_rows(self, batch: SeqBatch) -> npt.NDArray[np.float32]:
        return self.catalogue.scores(self._states(batch), self.config.shortlist).numpy()  # type: ignore[no-any-return]

    @torch.inference_mode()
    def top_k(self, query: Query, k: int, exclude: Iterable[ItemId] = ()) -> Candidates:
        """One history's top ``k`` through the int8 scan: no score row over the catalogue.

        The same ranking as scoring the whole catalogue (:meth:`Int8Catalogue.top_k`), with
        ``exclude`` (and items an ID-only model never trained on) skipped.
        """
        self._require_fitted()
        seqs = self.encode(query)
        if not len(seqs.items):
            return Candidates(())
        skip = {int(i) for i in self.item_vocab.lookup(exclude) if i >= 0}
        if not self.config.uses_text:
            skip.update(np.flatnonzero(self._known == 0).tolist())
        # take() trims the padding as score_batch's batches do (the int8 activations see the
        # same values, so both paths rank alike).
        rows = inference_windows(seqs, self.config.max_len, self.config.time_gap_buckets).take(
            np.arange(1)
        )
        want = k + len(skip)
        idx, vals = self.catalogue.top_k(self._states(rows), want, self.config.shortlist + want)
        pairs = zip(idx[0].tolist(), vals[0].tolist(), strict=True)
        best = [(i, v) for i, v in pairs if i not in skip][:k]
        ids = self.item_vocab.ids
        scores = np.array([v for _, v in best], dtype=np.float32)
        return Candidates(tuple(ids[i] for i, _ in best), scores)


def _to_storable(tensor: torch.Tensor) -> npt.NDArray[Any]:
    """A tensor as a numpy array safetensors can hold (bfloat16 as its raw 16-bit pattern)."""
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy()
    return tensor.numpy()


def _from_storable(array: npt.NDArray[Any], dtype: torch.dtype) -> torch.Tensor:
    tensor = torch.from_numpy(array)
    return tensor.view(torch.bfloat16) if dtype == torch.bfloat16 else tensor.to(dtype)


class SASRecHalf(_FrozenSASRec):
    """SASRec in float16 or bfloat16: weights, item table and arithmetic (scores as float32)."""

    key: ClassVar[str] = "sasrec-fp16"
    config_cls: ClassVar[type[HalfConfig]] = HalfConfig
    config: HalfConfig

    @property
    def dtype(self) -> torch.dtype:
        """The torch dtype of weights and arithmetic."""
        return torch.float16 if self.config.dtype == "float16" else torch.bfloat16

    def _build_arrays(self, encoder: SASRecNet, table: torch.Tensor) -> dict[str, npt.NDArray[Any]]:
        arrays = {
            f"encoder.{k}": _to_storable(v.to(self.dtype)) for k, v in encoder.state_dict().items()
        }
        arrays["table"] = _to_storable(table.to(self.dtype))
        return arrays

    def _load(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        encoder = make_encoder(self.config).to(self.dtype)
        state = {
            k[len("encoder.") :]: _from_storable(v, self.dtype)
            for k, v in arrays.items()
            if k.startswith("encoder.")
        }
        encoder.load_state_dict(state)
        self.encoder = encoder.eval()
        self.table = _from_storable(arrays["table"], self.dtype)  # (N, D)

    def _score_rows(self, batch: SeqBatch) -> npt.NDArray[np.float32]:
        t = _torch_batch(batch)
        h = self.encoder(self.table, t["items"], t["types"], t["gaps"])[:, -1]  # (B, D)
        return (h @ self.table.T).float().numpy()  # type: ignore[no-any-return]


class SASRecOnnx(_FrozenSASRec):
    """SASRec exported to ONNX and scored by ONNX Runtime (CPU), parity-checked at build time.

    The graph (weights and item table included) is stored as the ``onnx`` byte array of
    ``weights.safetensors``; ``onnx_graph()`` returns it for use outside shoprec.
    """

    key: ClassVar[str] = "sasrec-onnx"
    config_cls: ClassVar[type[OnnxConfig]] = OnnxConfig
    config: OnnxConfig

    def _build_arrays(self, encoder: SASRecNet, table: torch.Tensor) -> dict[str, npt.NDArray[Any]]:
        graph = export_onnx(encoder, table)
        if self.config.int8:
            graph = quantize_onnx(graph)
        return {"onnx": np.frombuffer(graph, dtype=np.uint8).copy()}

    def _load(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._graph = arrays["onnx"].tobytes()
        self.session = OnnxSession(self._graph, self.config.onnx_threads)

    def onnx_graph(self) -> bytes:
        """The serialized ONNX model (inputs ``items``, ``types``[, ``gaps``]; output scores)."""
        self._require_fitted()
        return self._graph

    def _score_rows(self, batch: SeqBatch) -> npt.NDArray[np.float32]:
        return self.session.scores(batch)

    def _check(self, teacher: SASRec) -> None:
        """Score random histories with both engines and compare.

        Fails above ``parity_tolerance`` (fp32) or below ``min_top10_overlap`` (int8).
        """
        self._fitted = True
        probe = _probe(teacher)
        mine, theirs = self.score_batch(probe), teacher.score_batch(probe)
        diff = max_abs_diff(mine, theirs)
        self.source_state = {"parity_max_abs_diff": diff}
        if self.config.int8:
            overlap = top_overlap(mine, theirs, 10)
            self.source_state["top10_overlap"] = overlap
            if not overlap >= self.config.min_top10_overlap:
                raise ModelError(
                    f"int8 ONNX top-10 agrees with PyTorch on {overlap:.1%} of items "
                    f"(< min_top10_overlap {self.config.min_top10_overlap:.0%})"
                )
        elif not diff <= self.config.parity_tolerance:
            raise ModelError(
                f"ONNX scores differ from PyTorch by {diff:.3g} "
                f"(> parity_tolerance {self.config.parity_tolerance})"
            )


def _probe(model: SASRec, n: int = 64, seed: int = 0) -> UserSequences:
    """Seeded random histories of every length from 1 to ``max_len`` over the model's items."""
    rng = np.random.default_rng(seed)
    n_items = len(model.item_vocab)
    lengths = 1 + np.arange(n) % model.config.max_len
    return UserSequences.from_lists([rng.integers(0, n_items, size=k).tolist() for k in lengths])
