"""Compression and fast-inference building blocks for the SASRec network (torch only, no I/O).

Used by the compressed Recommenders in :mod:`~shoprec.models.sasrec.variants`:

- :func:`make_encoder`: the network without its item table (the table is passed in, frozen);
- int8: :func:`int8_linear_arrays` / :func:`int8_encoder` (dynamic quantization of every
  ``nn.Linear``, per-output-channel symmetric int8 weights), :class:`Int8Catalogue` (int8
  item table) and :class:`PQCatalogue` (4-bit product-quantized table), each with exact fp32
  re-scoring of a short list;
- pruning: :func:`prune_linears`, :func:`finalize_pruning`, :func:`pruned_sparsity`;
- distillation: :class:`DistillTrainer` (soft teacher scores + the true next items);
- ONNX: :class:`ExportScorer`, :func:`export_onnx`, :class:`OnnxSession`.

Shapes: ``B`` histories, ``T`` positions, ``D`` hidden width, ``N`` catalogue items, ``S``
short-list length.
"""

from __future__ import annotations

import functools
import importlib
import io
import logging
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantLinear
from torch.ao.quantization import quantize_dynamic
from torch.nn.utils import prune

from shoprec.errors import ArtifactError, ConfigError

from .config import SASRecConfig
from .data import PAD, SeqBatch
from .net import SASRecNet
from .train import Trainer, ValidationCases, autocast

Arrays = dict[str, npt.NDArray[Any]]

#: Suffixes of the int8 weight of a quantized linear layer and its per-row scale.
INT8_SUFFIX = ".int8"
SCALE_SUFFIX = ".scale"
#: Suffix of a serialized product-quantized (faiss) item table.
PQ_SUFFIX = ".pq"


def count_parameters(module: nn.Module) -> int:
    """Number of scalars in ``module``'s parameters (buffers such as frozen text excluded)."""
    total = 0
    for m in module.modules():
        if isinstance(m, DynamicQuantLinear):
            weight, bias = m._weight_bias()  # type: ignore[no-untyped-call]
            total += weight.numel() + (bias.numel() if bias is not None else 0)
    return total + sum(p.numel() for p in module.parameters())


def make_encoder(cfg: SASRecConfig) -> SASRecNet:
    """A :class:`SASRecNet` without its item table: positions, types, gaps, blocks, final norm.

    Its ``forward(table, items, types, gaps)`` is the network's own; the item table is passed
    in (precomputed once), so ``state_dict`` keys are the network's minus ``items.*``.
    """
    net = SASRecNet(1, 0, cfg.model_copy(update={"item_repr": "id"}))
    del net.items
    return net.eval()


def encoder_state(net: SASRecNet) -> dict[str, torch.Tensor]:
    """The weights of ``net`` that :func:`make_encoder` holds (everything but ``items.*``)."""
    return {k: v for k, v in net.state_dict().items() if not k.startswith("items.")}


# -- int8 ------------------------------------------------------------------------------------
@contextmanager
def _quantized_tensors() -> Iterator[None]:
    """Silence PyTorch's notices that ``torch.ao`` quantization is deprecated (torch >= 2.13).

    ``torch.ao`` dynamic quantization still works; the notices point to ``torchao`` as its
    future home (noted in ``docs/optimize.md``).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*quantized tensor creation functions.*", category=UserWarning
        )
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        yield


def _symmetric_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row symmetric int8 codes and scales of a ``(R, C)`` matrix: ``w ~ q * s[:, None]``."""
    scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0  # (R,)
    q = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale.float()


def int8_linear_arrays(encoder: SASRecNet) -> Arrays:
    """The encoder's weights with every ``nn.Linear`` weight as int8 codes + per-row scales."""
    linear = {name for name, m in encoder.named_modules() if isinstance(m, nn.Linear)}
    out: Arrays = {}
    for key, value in encoder.state_dict().items():
        module, _, leaf = key.rpartition(".")
        if module in linear and leaf == "weight":
            q, scale = _symmetric_int8(value.detach().float())
            out[key + INT8_SUFFIX] = q.numpy()
            out[key + SCALE_SUFFIX] = scale.numpy()
        else:
            out[key] = value.detach().cpu().numpy()
    return out


def int8_encoder(cfg: SASRecConfig, arrays: Arrays) -> nn.Module:
    """Rebuild the dynamically quantized encoder from :func:`int8_linear_arrays`' output.

    Every ``nn.Linear`` becomes a dynamic int8 linear layer (int8 weights, activations quantized
    per batch at run time, fp32 output) holding exactly the stored codes.
    """
    encoder = make_encoder(cfg)
    state: dict[str, torch.Tensor] = {}
    int8: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for key, value in arrays.items():
        if key.endswith(INT8_SUFFIX):
            base = key[: -len(INT8_SUFFIX)]
            q = torch.from_numpy(value).float()
            scale = torch.from_numpy(arrays[base + SCALE_SUFFIX])
            int8[base] = (q, scale)
            state[base] = q * scale[:, None]
        elif not key.endswith(SCALE_SUFFIX):
            state[key] = torch.from_numpy(value)
    encoder.load_state_dict(state)
    with _quantized_tensors():
        quantized: nn.Module = quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]
        for name, module in quantized.named_modules():
            if isinstance(module, DynamicQuantLinear):
                q, scale = int8[f"{name}.weight"]
                module.set_weight_bias(_per_channel(q, scale), module.bias())  # type: ignore[no-untyped-call]
    return quantized.eval()


def _per_channel(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The quantized ``qint8`` tensor holding exactly ``codes`` with per-row ``scale``."""
    zeros = torch.zeros(len(scale), dtype=torch.long)
    return torch.quantize_per_channel(
        codes.float() * scale[:, None], scale.double(), zeros, 0, torch.qint8
    )


class ShortlistCatalogue:
    """Catalogue scoring from compressed item codes, exact fp32 re-scoring of a short list.

    Subclasses give the approximate scores of every item (:meth:`approximate`, the batch path
    that writes full score rows) and a faiss index over the codes (``_index``: a scan with a
    fused top-k, the one-history path that never writes a score row).
    """

    table: torch.Tensor
    """``(N, D)`` the exact fp32 item vectors (for the re-scoring)."""

    _index: Any
    """faiss index over the codes, inner-product search."""

    def approximate(self, h: torch.Tensor) -> torch.Tensor:
        """Approximate scores ``(B, N)`` of every item for states ``h`` ``(B, D)``."""
        raise NotImplementedError

    def scores(self, h: torch.Tensor, shortlist: int) -> torch.Tensor:
        """``(B, N)`` scores: approximations, exact fp32 ones for each row's short list."""
        out = self.approximate(h)  # (B, N)
        idx = out.topk(min(shortlist, out.shape[1]), dim=1).indices  # (B, S)
        exact = torch.einsum("bsd,bd->bs", self.table[idx], h.float())  # (B, S)
        return out.scatter_(1, idx, exact)

    def top_k(self, h: torch.Tensor, k: int, shortlist: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top ``k`` items ``(B, k)`` (indices, exact scores) via the codes' short list."""
        s = min(shortlist, self.table.shape[0])
        _, found = self._index.search(np.ascontiguousarray(h.detach().float().numpy()), s)
        idx = torch.from_numpy(found)  # (B, S)
        exact = torch.einsum("bsd,bd->bs", self.table[idx], h.float())  # (B, S)
        best = exact.topk(min(k, s), dim=1)
        return idx.gather(1, best.indices), best.values


class Int8Catalogue(ShortlistCatalogue):
    """Catalogue scoring with an int8 item table and exact fp32 re-scoring of a short list.

    The codes are symmetric int8 with one scale for the whole table, so the same codes serve two
    kernels, each built on first use: a faiss int8 scan with a fused top-k for :meth:`top_k`
    (one history, the serving case: the scan reads a quarter of the fp32 table's bytes and
    never writes a score row), and a dynamic int8 linear layer (fbgemm) for the full score rows
    of :meth:`scores`. Either way the short list is then re-scored exactly in fp32.

    Args:
        table: ``(N, D)`` item vectors.
        codes: ``(N, D)`` int8 codes and their ``scale`` (default: computed from ``table``).
        scale: One-element tensor, the scale of ``codes``.
    """

    def __init__(
        self,
        table: torch.Tensor,
        codes: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> None:
        if codes is None or scale is None:
            scale = table.abs().max().clamp(min=1e-12).reshape(1).float() / 127.0
            codes = torch.round(table.float() / scale).clamp(-127, 127).to(torch.int8)
        if scale.numel() != 1:
            raise ArtifactError(
                f"int8 item table: one scale expected, got {scale.numel()} (an artifact of an "
                "older format: derive the int8 variant again)"
            )
        self.table = table.float().contiguous()  # (N, D)
        self.codes = codes
        self.scale = scale

    @functools.cached_property
    def _linear(self) -> DynamicQuantLinear:
        n, d = self.codes.shape
        with _quantized_tensors():
            linear = DynamicQuantLinear(d, n, bias_=False, dtype=torch.qint8)  # type: ignore[no-untyped-call]
            linear.set_weight_bias(_per_channel(self.codes, self.scale.expand(n)), None)
        return linear

    @functools.cached_property
    def _index(self) -> Any:
        import faiss  # only needed when single histories are ranked this way

        n, d = self.codes.shape
        # "direct_signed" stores each int8 code as is: the scan's dot products are the int8
        # approximations divided by the one scale, so they rank items the same way.
        index = faiss.IndexScalarQuantizer(
            d, faiss.ScalarQuantizer.QT_8bit_direct_signed, faiss.METRIC_INNER_PRODUCT
        )
        index.add(self.codes.float().numpy())
        return index

    def approximate(self, h: torch.Tensor) -> torch.Tensor:
        """Int8 scores ``(B, N)`` of every item for states ``h`` ``(B, D)``."""
        return self._linear(h.float())  # type: ignore[no-any-return]


class PQCatalogue(ShortlistCatalogue):
    """Catalogue scoring with 4-bit product-quantized item vectors and exact fp32 re-scoring.

    Each item vector is cut into two-dimensional pieces (one-dimensional for an odd width), each
    coded with 4 bits (16 k-means centroids per piece): ``D / 4`` bytes an item, a sixteenth of
    fp32 and a quarter of int8. faiss' fast-scan kernel scores the codes from lookup tables held
    in SIMD registers, with a fused top-k; the short list is then re-scored exactly, so it must
    be longer than int8's for the same overlap (the codes are coarser).

    Args:
        table: ``(N, D)`` item vectors.
        index: A serialized faiss index of ``table``'s codes (:meth:`serialize`); default:
            trained on ``table`` (k-means on at most ``train_rows`` of its rows).
    """

    def __init__(
        self,
        table: torch.Tensor,
        index: npt.NDArray[np.uint8] | None = None,
        train_rows: int = 100_000,
    ) -> None:
        import faiss

        self.table = table.float().contiguous()
        if index is not None:
            self._index = faiss.deserialize_index(index)
            return
        n, d = self.table.shape
        vectors = self.table.numpy()
        pieces = d // 2 if d % 2 == 0 else d
        self._index = faiss.IndexPQFastScan(d, pieces, 4, faiss.METRIC_INNER_PRODUCT)
        rows = np.random.default_rng(0).permutation(n)[:train_rows]
        self._index.train(vectors[np.sort(rows)])
        self._index.add(vectors)

    def serialize(self) -> npt.NDArray[np.uint8]:
        """The codes and codebooks as bytes (stored in the artifact)."""
        import faiss

        return faiss.serialize_index(self._index)  # type: ignore[no-any-return]

    @functools.cached_property
    def _decoded(self) -> torch.Tensor:
        return torch.from_numpy(self._index.reconstruct_n(0, self._index.ntotal))  # (N, D)

    def approximate(self, h: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, N)`` of every item's decoded vector for states ``h`` ``(B, D)``."""
        return h.float() @ self._decoded.T


# -- pruning ---------------------------------------------------------------------------------
def prunable_linears(net: SASRecNet) -> list[tuple[str, nn.Linear]]:
    """The Transformer's linear layers (attention and feed-forward) and the text projection."""
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]


def prune_linears(net: SASRecNet, amount: float) -> None:
    """Zero the ``amount`` share of smallest-magnitude weights in each linear layer (L1, per layer).

    The masks stay attached (``torch.nn.utils.prune`` reparametrisation) so that fine-tuning
    keeps pruned weights at zero; :func:`finalize_pruning` makes them permanent.
    """
    for _, module in prunable_linears(net):
        prune.l1_unstructured(module, name="weight", amount=amount)  # type: ignore[no-untyped-call]


def finalize_pruning(net: SASRecNet) -> None:
    """Fold the pruning masks into the weights (plain ``weight`` parameters again)."""
    for _, module in prunable_linears(net):
        if prune.is_pruned(module):
            prune.remove(module, "weight")  # type: ignore[no-untyped-call]


def pruned_sparsity(net: nn.Module) -> dict[str, float]:
    """Share of exact zeros in each linear layer's weight, by module name."""
    return {
        name: float((m.weight == 0).float().mean())
        for name, m in net.named_modules()
        if isinstance(m, nn.Linear)
    }


# -- distillation ----------------------------------------------------------------------------
def init_student(student: SASRecNet, teacher: SASRecNet, text_steps: int = 2000) -> None:
    """Start ``student`` from whatever of ``teacher`` fits it.

    Every tensor of the same name and shape is copied (text vectors always; with the teacher's
    width also the Transformer, positions, types and a linear text projection). At the
    teacher's width the student's item table is then fit to the teacher's item vectors: a text
    projection that could not be copied (an MLP, ``text_hidden``) is regressed onto them, a
    narrower ID table (``id_dim``) takes the truncated SVD of what the text part leaves (the
    best rank-``r`` approximation, split evenly between the table and its lifting matrix), and
    head ID vectors (``id_head_items``; ``head_rows`` chosen beforehand) the same of what is
    left on their rows.
    """
    own = student.state_dict()
    copied = set()
    with torch.no_grad():
        for name, value in teacher.state_dict().items():
            if name in own and own[name].shape == value.shape and name != "items.head_rows":
                own[name].copy_(value)
                copied.add(name)
    s_items, t_items = student.items, teacher.items
    if s_items.hidden != t_items.hidden:
        return
    with torch.no_grad():
        target = t_items.eval()()  # (N, D) the teacher's item vectors
    known = t_items.known.bool()  # (N,)
    proj = s_items.text_proj
    if proj is not None and not any(n.startswith("items.text_proj.") for n in copied):
        _regress_text(proj, s_items.text[known], target[known], text_steps)
    if s_items.id_emb is None:
        return
    with torch.no_grad():
        residual = target.clone()
        if proj is not None:
            residual -= proj(s_items.text)
        residual[~known] = 0.0  # unknown items get no ID vector anyway
        if s_items.id_up is not None:
            _low_rank_into(residual, s_items.id_emb, s_items.id_up)
        if s_items.head_emb is not None:
            rows = s_items.head_rows
            tail = s_items.id_emb[rows]
            tail = s_items.id_up(tail) if s_items.id_up is not None else tail
            _low_rank_into(residual[rows] - tail, s_items.head_emb, s_items.head_up)


def _low_rank_into(target: torch.Tensor, table: torch.Tensor, up: nn.Linear | None) -> None:
    """Set ``up(table)`` (``table`` alone without ``up``) to the best low-rank ``target``."""
    if up is None:
        table.copy_(target)
        return
    u, sv, vh = torch.linalg.svd(target, full_matrices=False)
    r = min(table.shape[1], len(sv))
    root = sv[:r].sqrt()
    table.zero_()
    up.weight.zero_()  # columns beyond the target's rank carry nothing
    table[:, :r] = u[:, :r] * root
    up.weight[:, :r] = vh[:r].T * root


def _regress_text(proj: nn.Module, text: torch.Tensor, target: torch.Tensor, steps: int) -> None:
    """Fit ``proj`` so that ``proj(text)`` approximates ``target`` (squared error, Adam)."""
    optimizer = torch.optim.Adam(proj.parameters(), lr=3e-3)
    for _ in range(steps):
        rows = torch.randint(0, len(text), (min(2048, len(text)),))
        loss = (proj(text[rows]) - target[rows]).pow(2).sum(1).mean()
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()


class DistillTrainer(Trainer):
    """Trains a student on the true next items plus the teacher's softened scores.

    Loss per position: ``(1 - w) * CE(student, target) + w * T^2 * CE(softmax(teacher / T),
    student / T)`` over the items known in training (Hinton et al. 2015), ``w`` =
    ``weight``, ``T`` = ``temperature``. Validation, early stopping and checkpoints are the
    plain :class:`Trainer`'s.
    """

    def __init__(
        self,
        net: SASRecNet,
        teacher: SASRecNet,
        cfg: SASRecConfig,
        rows: SeqBatch,
        device: torch.device,
        seed: int,
        validation: ValidationCases | None,
        temperature: float,
        weight: float,
        decay_epochs: int | None = None,
    ) -> None:
        super().__init__(net, cfg, rows, device, seed, validation, decay_epochs)
        self.teacher = teacher.to(device).eval()
        self.temperature = temperature
        self.weight = weight
        with torch.no_grad():
            self.t_table = self.teacher.items()  # (N, Dt): the teacher is frozen

    def batch_loss(
        self,
        batch: dict[str, torch.Tensor],
        sel: torch.Tensor,
        table: torch.Tensor,
        h: torch.Tensor,
    ) -> torch.Tensor:
        """The next-item loss blended with the teacher's softened scores (see the class)."""
        cols, temp = self.known_cols, self.temperature
        with torch.no_grad(), autocast(self.device):
            t_h = self.teacher(self.t_table, batch["items"], batch["types"], batch["gaps"])[sel]
            soft = F.softmax((t_h @ self.t_table[cols].T).float() / temp, dim=1)  # (M, K)
        hard = self._loss(table, h, batch["targets"][sel])
        s_logits = (h @ table[cols].T).float() / temp  # (M, K)
        distill = -(soft * F.log_softmax(s_logits, dim=1)).sum(1).mean() * temp**2
        return (1.0 - self.weight) * hard + self.weight * distill


# -- ONNX ------------------------------------------------------------------------------------
class ExportScorer(nn.Module):
    """Scores of the whole catalogue for the last position, written for ONNX export.

    The network's forward with the padding mask always built from index comparisons (no
    data-dependent branch, no boolean ``EyeLike``), and the item table as a constant.
    """

    def __init__(self, encoder: SASRecNet, table: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.table: torch.Tensor
        self.register_buffer("table", table.detach().float().clone())

    def forward(self, items: torch.Tensor, types: torch.Tensor, gaps: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` inputs -> ``(B, N)`` scores."""
        enc = self.encoder
        real = items >= 0  # (B, T)
        t = items.shape[1]
        idx = torch.arange(t, device=items.device)  # (T,)
        x = self.table[items.clamp(min=0)] + enc.pos_emb(t - 1 - idx)[None]  # (B, T, D)
        if enc.type_emb is not None:
            x = x + enc.type_emb(types)
        if enc.gap_emb is not None:
            x = x + enc.gap_emb(gaps)
        x = x * real[..., None].to(x.dtype)
        causal = idx[None, :] <= idx[:, None]  # (T, T)
        own = idx[None, :] == idx[:, None]  # (T, T)
        mask = (causal[None] & (real[:, None, :] | own[None]))[:, None]  # (B, 1, T, T)
        for block in enc.blocks:
            x = block(x, mask)
        h = enc.ln_f(x)[:, -1]  # (B, D)
        return h @ self.table.T  # type: ignore[no-any-return]


def _onnxruntime() -> Any:
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as exc:
        raise ConfigError(
            "ONNX inference needs onnx and onnxruntime: pip install 'shoprec[onnx]'"
        ) from exc


def export_onnx(encoder: SASRecNet, table: torch.Tensor, opset: int = 17) -> bytes:
    """The ONNX graph (weights included) of :class:`ExportScorer`; dynamic batch and length."""
    _onnxruntime()
    importlib.import_module("onnx")
    scorer = ExportScorer(encoder, table).eval()
    items = torch.tensor([[PAD, 0, 0], [0, 0, 0]])  # padding present: the mask path is traced
    types = torch.ones_like(items)
    gaps = torch.zeros_like(items)
    buf = io.BytesIO()
    names = ["items", "types", "gaps"]
    with warnings.catch_warnings():
        # The legacy (TorchScript) exporter is deprecated and the tracer warns about shape
        # reads; the graph is checked for parity against PyTorch instead.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            scorer,
            (items, types, gaps),
            buf,  # type: ignore[arg-type]
            input_names=names,
            output_names=["scores"],
            dynamic_axes={n: {0: "batch", 1: "length"} for n in names} | {"scores": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    return buf.getvalue()


def quantize_onnx(graph: bytes) -> bytes:
    """``graph`` with ONNX Runtime's dynamic int8 quantization of its MatMul/Gemm weights.

    Weights (per tensor, symmetric int8) are stored quantized; activations are quantized on
    the fly per call, so no calibration data is needed.
    """
    _onnxruntime()
    quantization = importlib.import_module("onnxruntime.quantization")
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(graph)
        logging.getLogger().disabled = True  # it logs a pre-processing hint on the root logger
        try:
            quantization.quantize_dynamic(source, target, weight_type=quantization.QuantType.QInt8)
        finally:
            logging.getLogger().disabled = False
        return target.read_bytes()


class OnnxSession:
    """An ONNX Runtime session over an exported scorer graph.

    Args:
        graph: The serialized ONNX model from :func:`export_onnx`.
        threads: Intra-op threads (0: ONNX Runtime's default, one per core).
    """

    def __init__(self, graph: bytes, threads: int = 0) -> None:
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        # Inputs the graph does not use (e.g. time gaps when off) are pruned by the exporter.
        self.inputs = {i.name for i in self.session.get_inputs()}

    def scores(self, batch: SeqBatch) -> npt.NDArray[np.float32]:
        """``(B, N)`` catalogue scores for padded rows."""
        feeds = {
            name: np.ascontiguousarray(arr)
            for name, arr in (("items", batch.items), ("types", batch.types), ("gaps", batch.gaps))
            if name in self.inputs
        }
        out: npt.NDArray[np.float32] = self.session.run(None, feeds)[0]
        return out


def top_overlap(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], k: int) -> float:
    """Mean share of each row's top ``k`` items (by ``b``) that are also in ``a``'s top ``k``."""
    top_a = np.argsort(-np.nan_to_num(a, nan=-np.inf), axis=1)[:, :k]
    top_b = np.argsort(-np.nan_to_num(b, nan=-np.inf), axis=1)[:, :k]
    shared = [len(np.intersect1d(x, y)) / k for x, y in zip(top_a, top_b, strict=True)]
    return float(np.mean(shared))


def max_abs_diff(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Largest absolute difference of two score matrices (NaN if one of them alone is NaN)."""
    both = np.isnan(a) & np.isnan(b)
    return float(np.abs(np.where(both, 0.0, a - b)).max(initial=0.0))
