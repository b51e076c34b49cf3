"""Maximum-inner-product search over compressed item codes, a short list re-scored exactly.

The compressed counterpart of :mod:`shoprec.retrieval.vector_index`: ``(N, D)`` item vectors are
scanned as int8 codes (a quarter of fp32's bytes) or 4-bit product-quantized ones (a
sixteenth), and each query's short list is re-scored with the exact fp32 vectors. Nothing here
is specific to a model. It sits in ``features`` rather than beside the vector index because the
int8 SASRec backend (``models``) builds it, and ``models`` may not import ``retrieval``; it
imports torch and faiss, so ``shoprec.features`` does not re-export it (import it by path).
Shapes: ``B`` queries, ``D`` width, ``N`` items, ``S`` short-list length.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantLinear

from shoprec.errors import ArtifactError


@contextmanager
def quantized_tensors() -> Iterator[None]:
    """Silence PyTorch's notices that ``torch.ao`` quantization is deprecated (torch >= 2.13).

    It still works; the notices point to ``torchao`` as its future home (``docs/optimize.md``).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*quantized tensor creation functions.*", category=UserWarning
        )
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        yield


def int8_codes(x: torch.Tensor, per_row: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 codes of ``x`` and their scale (one per row, or one in all): ``x ~ q * s``."""
    x = x.detach().float()
    top = x.abs().amax(dim=1) if per_row else x.abs().max().reshape(1)
    scale = top.clamp(min=1e-12) / 127.0
    codes = torch.round(x / (scale[:, None] if per_row else scale)).clamp(-127, 127)
    return codes.to(torch.int8), scale


def per_channel(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The quantized ``qint8`` tensor holding exactly ``codes`` with per-row ``scale``."""
    zeros = torch.zeros(len(scale), dtype=torch.long)
    return torch.quantize_per_channel(
        codes.float() * scale[:, None], scale.double(), zeros, 0, torch.qint8
    )


class ShortlistCatalogue:
    """Approximate scores from item codes, exact fp32 scores for each query's short list.

    Two paths: :meth:`scores` writes whole ``(B, N)`` score rows (batch evaluation), while
    :meth:`top_k` scans the codes with faiss' fused top-k and never writes a score row (one
    query, the serving case). Subclasses provide :meth:`approximate` and ``_index``.
    """

    table: torch.Tensor
    """``(N, D)`` the exact fp32 item vectors (for the re-scoring)."""

    _index: Any
    """faiss index over the codes, inner-product search."""

    def approximate(self, h: torch.Tensor) -> torch.Tensor:
        """Approximate scores ``(B, N)`` of every item for queries ``h`` ``(B, D)``."""
        raise NotImplementedError

    def scores(self, h: torch.Tensor, shortlist: int) -> torch.Tensor:
        """``(B, N)`` scores: approximations, exact fp32 ones for each row's short list."""
        out = self.approximate(h)  # (B, N)
        idx = out.topk(min(shortlist, out.shape[1]), dim=1).indices  # (B, S)
        return out.scatter_(1, idx, self._exact(idx, h))

    def top_k(self, h: torch.Tensor, k: int, shortlist: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top ``k`` items ``(B, k)`` (indices, exact scores) via the codes' short list."""
        s = min(shortlist, self.table.shape[0])
        _, found = self._index.search(np.ascontiguousarray(h.detach().float().numpy()), s)
        idx = torch.from_numpy(found)  # (B, S)
        best = self._exact(idx, h).topk(min(k, s), dim=1)
        return idx.gather(1, best.indices), best.values

    def _exact(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bsd,bd->bs", self.table[idx], h.float())  # (B, S)


class Int8Catalogue(ShortlistCatalogue):
    """Int8 item codes with one scale for the whole table, a short list re-scored in fp32.

    One scale lets the same codes feed two kernels, each built on first use: faiss' int8 scan
    with a fused top-k (:meth:`top_k`) and a dynamic int8 linear layer (fbgemm) for whole score
    rows (:meth:`scores`).

    Args:
        table: ``(N, D)`` item vectors.
        codes: ``(N, D)`` int8 codes and their ``scale`` (default: computed from ``table``).
        scale: One-element tensor, the scale of ``codes``.

    Raises:
        ArtifactError: When ``scale`` has more than one element (an older artifact format).
    """

    def __init__(
        self,
        table: torch.Tensor,
        codes: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> None:
        if codes is None or scale is None:
            codes, scale = int8_codes(table)
        if scale.numel() != 1:
            raise ArtifactError(
                f"int8 item table: one scale expected, got {scale.numel()} (an artifact of an "
                "older format: derive the int8 model again)"
            )
        self.table = table.float().contiguous()  # (N, D)
        self.codes = codes
        self.scale = scale

    @functools.cached_property
    def _linear(self) -> DynamicQuantLinear:
        n, d = self.codes.shape
        with quantized_tensors():
            linear = DynamicQuantLinear(d, n, bias_=False, dtype=torch.qint8)  # type: ignore[no-untyped-call]
            linear.set_weight_bias(per_channel(self.codes, self.scale.expand(n)), None)
        return linear

    @functools.cached_property
    def _index(self) -> Any:
        import faiss  # only needed when single queries are ranked this way

        n, d = self.codes.shape
        # "direct_signed" stores each int8 code as is: the scan's dot products are the int8
        # approximations divided by the one scale, so they rank items the same way.
        index = faiss.IndexScalarQuantizer(
            d, faiss.ScalarQuantizer.QT_8bit_direct_signed, faiss.METRIC_INNER_PRODUCT
        )
        index.add(self.codes.float().numpy())
        return index

    def approximate(self, h: torch.Tensor) -> torch.Tensor:
        """Int8 scores ``(B, N)`` of every item for queries ``h`` ``(B, D)``."""
        return self._linear(h.float())  # type: ignore[no-any-return]


class PQCatalogue(ShortlistCatalogue):
    """4-bit product-quantized item codes (faiss fast scan), a short list re-scored in fp32.

    Each vector is cut into pairs of dimensions (single ones for an odd width), each coded with
    4 bits (16 k-means centroids): ``D / 4`` bytes an item. faiss scores the codes from lookup
    tables held in SIMD registers; the codes are coarser than int8's, so the short list must be
    longer for the same overlap.

    Args:
        table: ``(N, D)`` item vectors.
        index: A serialized faiss index of ``table``'s codes (:meth:`serialize`); default:
            trained on ``table`` (k-means on at most ``train_rows`` of its rows).
        train_rows: Rows sampled (seed 0) to train the codebooks.
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
        """Scores ``(B, N)`` of every item's decoded vector for queries ``h`` ``(B, D)``."""
        return h.float() @ self._decoded.T
