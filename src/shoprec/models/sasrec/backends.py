"""Inference backends of a compressed SASRec (int8, half precision, ONNX Runtime) and their configs.

A backend computes a frozen encoder over the precomputed ``(N, D)`` item table in its own
arithmetic. Each is made the same two ways, reading its settings from the model's config:
:meth:`Backend.build` from the source network, :meth:`Backend.restore` from the artifact.
Shapes: ``B`` histories, ``T`` positions, ``D`` hidden width, ``N`` catalogue items.
"""

from __future__ import annotations

import importlib
import io
import logging
import tempfile
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt
import torch
from pydantic import Field
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantLinear
from torch.ao.quantization import quantize_dynamic

from shoprec.errors import ConfigError
from shoprec.features.quantized_index import (
    Int8Catalogue,
    PQCatalogue,
    ShortlistCatalogue,
    int8_codes,
    per_channel,
    quantized_tensors,
)

from .config import SASRecConfig
from .data import PAD, SeqBatch
from .net import SequenceEncoder

Arrays = dict[str, npt.NDArray[Any]]
Scores = npt.NDArray[np.float32]

#: Suffixes of an int8 weight (or item table) and its scale, and of a product-quantized table.
INT8_SUFFIX, SCALE_SUFFIX, PQ_SUFFIX = ".int8", ".scale", ".pq"


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

    @property
    def torch_dtype(self) -> torch.dtype:
        """``dtype`` as a torch dtype."""
        return torch.float16 if self.dtype == "float16" else torch.bfloat16


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


class Backend(ABC):
    """How a compressed model computes, over the arrays its artifact stores.

    Args:
        cfg: The model's config; each backend reads its own settings from it.
        stored: What :meth:`build` made (and the artifact holds).
    """

    def __init__(self, cfg: Any, stored: Arrays) -> None:
        self.stored = stored

    @classmethod
    @abstractmethod
    def build(cls, cfg: Any, encoder: SequenceEncoder, table: torch.Tensor) -> Self:
        """The backend over a source network's encoder and ``(N, D)`` item table."""

    @classmethod
    def restore(cls, cfg: Any, arrays: Arrays) -> Self:
        """The backend again from an artifact's arrays."""
        return cls(cfg, arrays)

    def arrays(self) -> Arrays:
        """The arrays the artifact stores."""
        return self.stored

    @abstractmethod
    def scores(self, batch: SeqBatch) -> Scores:
        """Scores ``(B, N)`` of every catalogue item after each row's latest event."""


@runtime_checkable
class ShortlistRanker(Protocol):
    """A backend that ranks one history's top ``k`` without writing a whole score row."""

    def top_k(self, batch: SeqBatch, k: int, extra: int) -> tuple[list[int], list[float]]:
        """Indices and scores of row 0's best ``k`` (``extra`` more on the short list)."""


def _torch(batch: SeqBatch) -> dict[str, torch.Tensor]:
    return batch.to_torch(torch.device("cpu"))


def _prefixed(arrays: Arrays, prefix: str) -> Arrays:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


class Int8Backend(Backend):
    """Dynamic int8 linear layers; the catalogue scanned as codes, a short list re-scored in fp32.

    Every ``nn.Linear`` of the encoder runs as a dynamic int8 layer (symmetric int8 weights per
    output channel, activations quantized per batch). The item table is scanned as
    :class:`Int8Catalogue` or :class:`PQCatalogue` codes (``cfg.catalogue``); each history's
    ``cfg.shortlist`` best items get their exact fp32 score.
    """

    def __init__(self, cfg: Int8Config, stored: Arrays) -> None:
        super().__init__(cfg, stored)
        self.shortlist = cfg.shortlist
        state: dict[str, torch.Tensor] = {}
        codes: dict[str, torch.Tensor] = {}
        for key, value in _prefixed(stored, "encoder.").items():
            if key.endswith(INT8_SUFFIX):
                base = key[: -len(INT8_SUFFIX)]
                codes[base] = torch.from_numpy(value)
                scale = torch.from_numpy(stored[f"encoder.{base}{SCALE_SUFFIX}"])
                state[base] = codes[base].float() * scale[:, None]
            elif not key.endswith(SCALE_SUFFIX):
                state[key] = torch.from_numpy(value)
        encoder = SequenceEncoder(cfg)
        encoder.load_state_dict(state)
        with quantized_tensors():
            self.encoder: SequenceEncoder = quantize_dynamic(
                encoder.eval(), {nn.Linear}, dtype=torch.qint8
            )  # type: ignore[no-untyped-call]
            for name, module in self.encoder.named_modules():
                if isinstance(module, DynamicQuantLinear):  # holds exactly the stored codes
                    scale = torch.from_numpy(stored[f"encoder.{name}.weight{SCALE_SUFFIX}"])
                    weight = per_channel(codes[f"{name}.weight"], scale)
                    module.set_weight_bias(weight, module.bias())  # type: ignore[no-untyped-call]
        self.table = torch.from_numpy(stored["table"])  # (N, D)
        self.catalogue: ShortlistCatalogue
        if "table" + PQ_SUFFIX in stored:
            self.catalogue = PQCatalogue(self.table, stored["table" + PQ_SUFFIX])
        else:
            self.catalogue = Int8Catalogue(
                self.table,
                torch.from_numpy(stored["table" + INT8_SUFFIX]),
                torch.from_numpy(stored["table" + SCALE_SUFFIX]),
            )

    @classmethod
    def build(cls, cfg: Int8Config, encoder: SequenceEncoder, table: torch.Tensor) -> Self:
        """Quantize ``encoder``'s linear weights per row and code ``table`` (``cfg.catalogue``)."""
        linear = {name for name, m in encoder.named_modules() if isinstance(m, nn.Linear)}
        stored: Arrays = {}
        for key, value in encoder.state_dict().items():
            if key.rpartition(".")[0] in linear and key.endswith(".weight"):
                q, scale = int8_codes(value, per_row=True)
                stored[f"encoder.{key}{INT8_SUFFIX}"] = q.numpy()
                stored[f"encoder.{key}{SCALE_SUFFIX}"] = scale.numpy()
            else:
                stored[f"encoder.{key}"] = value.detach().numpy()
        stored["table"] = table.numpy()
        if cfg.catalogue == "pq4":
            stored["table" + PQ_SUFFIX] = PQCatalogue(table).serialize()
        else:
            catalogue = Int8Catalogue(table)
            stored["table" + INT8_SUFFIX] = catalogue.codes.numpy()
            stored["table" + SCALE_SUFFIX] = catalogue.scale.numpy()
        return cls(cfg, stored)

    def _states(self, batch: SeqBatch) -> torch.Tensor:
        return self.encoder.encode(self.table, _torch(batch))

    def scores(self, batch: SeqBatch) -> Scores:
        """Codes' scores ``(B, N)``, each row's short list exact."""
        return self.catalogue.scores(self._states(batch), self.shortlist).numpy()  # type: ignore[no-any-return]

    def top_k(self, batch: SeqBatch, k: int, extra: int) -> tuple[list[int], list[float]]:
        """Row 0's best ``k`` by a scan of the codes (no score row over the catalogue)."""
        idx, vals = self.catalogue.top_k(self._states(batch), k, self.shortlist + extra)
        return idx[0].tolist(), vals[0].tolist()


class HalfBackend(Backend):
    """The encoder, item table and arithmetic in float16 or bfloat16 (scores as float32)."""

    def __init__(self, cfg: HalfConfig, stored: Arrays) -> None:
        super().__init__(cfg, stored)
        self.dtype = cfg.torch_dtype
        self.encoder = SequenceEncoder(cfg).to(self.dtype).eval()
        state = {k: self._tensor(v) for k, v in _prefixed(stored, "encoder.").items()}
        self.encoder.load_state_dict(state)
        self.table = self._tensor(stored["table"])  # (N, D)

    @classmethod
    def build(cls, cfg: HalfConfig, encoder: SequenceEncoder, table: torch.Tensor) -> Self:
        """``encoder`` and ``table`` cast to ``cfg.dtype``."""
        state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
        dtype = cfg.torch_dtype
        stored = {k: cls._storable(v.to(dtype)) for k, v in {**state, "table": table}.items()}
        return cls(cfg, stored)

    @staticmethod
    def _storable(tensor: torch.Tensor) -> npt.NDArray[Any]:
        """An array safetensors can hold (bfloat16 as its raw 16-bit pattern)."""
        is_bf16 = tensor.dtype == torch.bfloat16
        return (tensor.view(torch.int16) if is_bf16 else tensor).numpy()

    def _tensor(self, array: npt.NDArray[Any]) -> torch.Tensor:
        tensor = torch.from_numpy(array)
        return (
            tensor.view(torch.bfloat16) if self.dtype == torch.bfloat16 else tensor.to(self.dtype)
        )

    def scores(self, batch: SeqBatch) -> Scores:
        """Half-precision scores ``(B, N)``, returned as float32."""
        h = self.encoder.encode(self.table, _torch(batch))  # (B, D)
        return (h @ self.table.T).float().numpy()  # type: ignore[no-any-return]


class _ExportScorer(nn.Module):
    """``(B, T)`` inputs -> ``(B, N)`` scores: the encoder with the item table as a constant."""

    def __init__(self, encoder: SequenceEncoder, table: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder.eval()
        self.table: torch.Tensor
        self.register_buffer("table", table.detach().float().clone())

    def forward(self, items: torch.Tensor, types: torch.Tensor, gaps: torch.Tensor) -> torch.Tensor:
        """Scores of the whole catalogue after each row's latest event."""
        batch = {"items": items, "types": types, "gaps": gaps}
        return self.encoder.encode(self.table, batch) @ self.table.T


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            "ONNX inference needs onnx and onnxruntime: pip install 'shoprec[onnx]'"
        ) from exc


class OnnxBackend(Backend):
    """The exported scorer graph (weights and item table inside) in an ONNX Runtime session.

    It is stored as the byte array ``onnx``; ``cfg.onnx_threads`` sets the session's threads.
    """

    def __init__(self, cfg: OnnxConfig, stored: Arrays) -> None:
        super().__init__(cfg, stored)
        ort = _import("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = cfg.onnx_threads
        options.inter_op_num_threads = 1
        self.graph: bytes = stored["onnx"].tobytes()
        self.session = ort.InferenceSession(self.graph, options, providers=["CPUExecutionProvider"])
        # Inputs the graph does not use (e.g. time gaps when off) are pruned by the exporter.
        self.inputs = {i.name for i in self.session.get_inputs()}

    @classmethod
    def build(cls, cfg: OnnxConfig, encoder: SequenceEncoder, table: torch.Tensor) -> Self:
        """Export ``encoder`` over ``table`` (opset 17, dynamic batch and length axes).

        With ``cfg.int8`` the graph gets ONNX Runtime's dynamic quantization: MatMul/Gemm
        weights stored as int8 (per tensor, symmetric), activations quantized per call.
        """
        _import("onnxruntime")
        _import("onnx")
        items = torch.tensor([[PAD, 0, 0], [0, 0, 0]])  # padding present, as serving sees it
        buf = io.BytesIO()
        names = ["items", "types", "gaps"]
        with warnings.catch_warnings():
            # The legacy (TorchScript) exporter is deprecated and the tracer warns about shape
            # reads; the graph is checked for parity against PyTorch instead.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _ExportScorer(encoder, table),
                (items, torch.ones_like(items), torch.zeros_like(items)),
                buf,  # type: ignore[arg-type]
                input_names=names,
                output_names=["scores"],
                dynamic_axes={n: {0: "batch", 1: "length"} for n in names}
                | {"scores": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        graph = _quantized(buf.getvalue()) if cfg.int8 else buf.getvalue()
        return cls(cfg, {"onnx": np.frombuffer(graph, dtype=np.uint8).copy()})

    def scores(self, batch: SeqBatch) -> Scores:
        """ONNX Runtime's scores ``(B, N)``."""
        feeds = {
            name: np.ascontiguousarray(arr)
            for name, arr in (("items", batch.items), ("types", batch.types), ("gaps", batch.gaps))
            if name in self.inputs
        }
        out: Scores = self.session.run(None, feeds)[0]
        return out


def _quantized(graph: bytes) -> bytes:
    """``graph`` after ONNX Runtime's dynamic int8 quantization (no calibration data)."""
    quantization = _import("onnxruntime.quantization")
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(graph)
        logging.getLogger().disabled = True  # it logs a pre-processing hint on the root logger
        try:
            quantization.quantize_dynamic(source, target, weight_type=quantization.QuantType.QInt8)
        finally:
            logging.getLogger().disabled = False
        return target.read_bytes()
