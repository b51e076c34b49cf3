"""The Transformer itself: item representations, causal self-attention blocks, next-item head.

Pure ``nn.Module`` code in the nanoGPT style: no I/O, no data handling, shapes in comments
(``B`` histories, ``T`` positions, ``D`` hidden width, ``N`` catalogue items, ``X`` text width).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import nn

from shoprec.types import EVENT_TYPE_CODES

from ..cold_items import TextNeighbours
from .config import SASRecConfig

#: Event type embedding rows: one per known type plus padding (row 0).
N_EVENT_TYPES = len(EVENT_TYPE_CODES) + 1


class ItemTable(nn.Module):
    """Representation of every catalogue item, ``(N, D)``.

    ``fused`` = ID embedding + projection of the frozen text embedding (linear, or a one-hidden-
    layer MLP with ``text_hidden``). ID vectors narrower than ``hidden`` (``id_dim``) are lifted
    by one shared matrix; the ``id_head_items`` most frequent training items (``head_rows``,
    chosen by :meth:`choose_head`) add a second, wider ID vector (``id_head_dim``), so a small
    table spends its width where most of the traffic is. Items never seen in training have
    ``known = 0``: their ID rows are masked to zero (they could only be noise) and receive no
    gradient. Outside training a fused model then gives each of them the vector of its nearest
    known items by text (:meth:`impute_cold`); ``cold_neighbors = 0`` leaves them their text
    projection alone.
    """

    def __init__(self, n_items: int, text_dim: int, cfg: SASRecConfig) -> None:
        super().__init__()
        self.hidden = cfg.hidden
        id_dim = cfg.id_dim or cfg.hidden
        self.id_emb = nn.Parameter(torch.zeros(n_items, id_dim)) if cfg.uses_id else None
        lifted = cfg.uses_id and id_dim != cfg.hidden
        self.id_up = nn.Linear(id_dim, cfg.hidden, bias=False) if lifted else None
        n_head = min(cfg.id_head_items, n_items) if cfg.uses_id else 0
        head_dim = min(cfg.id_head_dim or cfg.hidden, cfg.hidden)  # wider adds no rank
        self.head_emb = nn.Parameter(torch.zeros(n_head, head_dim)) if n_head else None
        wide = n_head and head_dim != cfg.hidden
        self.head_up = nn.Linear(head_dim, cfg.hidden, bias=False) if wide else None
        self.text_proj: nn.Module | None = None
        if cfg.uses_text and cfg.text_hidden:
            self.text_proj = nn.Sequential(
                nn.Linear(text_dim, cfg.text_hidden),
                nn.GELU(),
                nn.Linear(cfg.text_hidden, cfg.hidden),
            )
        elif cfg.uses_text:
            self.text_proj = nn.Linear(text_dim, cfg.hidden)
        self.text_drop = nn.Dropout(cfg.text_dropout)
        self.id_dropout = cfg.id_dropout if cfg.item_repr == "fused" else 0.0
        self.cold_neighbors = cfg.cold_neighbors if cfg.item_repr == "fused" else 0
        self.cold_temperature = cfg.cold_temperature
        self.text: torch.Tensor
        self.known: torch.Tensor
        self.head_rows: torch.Tensor
        self.register_buffer("text", torch.zeros(n_items, text_dim if cfg.uses_text else 0))
        self.register_buffer("known", torch.ones(n_items))
        # Stored only with a head table, so artifacts without one keep their old layout.
        self.register_buffer("head_rows", torch.arange(n_head), persistent=bool(n_head))
        for emb in (self.id_emb, self.head_emb):
            if emb is not None:
                nn.init.normal_(emb, std=cfg.id_init_std)

    def choose_head(self, counts: npt.NDArray[np.int64]) -> None:
        """Give the head vectors to the items with the most training events (``counts``)."""
        top = np.argsort(-counts, kind="stable")[: len(self.head_rows)]
        self.head_rows.copy_(torch.from_numpy(np.sort(top)))

    @property
    def n_items(self) -> int:
        """Number of items ``N``."""
        return int(self.known.shape[0])

    def forward(self) -> torch.Tensor:
        """All item vectors, ``(N, D)``."""
        out = torch.zeros(self.n_items, self.hidden, device=self.known.device)
        if self.id_emb is not None:
            keep = self.known  # (N,)
            if self.training and self.id_dropout > 0:
                # Some items train from their text alone, as cold items will have to serve.
                keep = keep * (torch.rand_like(keep) >= self.id_dropout)
            ids = self.id_emb * keep[:, None]  # (N, R)
            out = out + (self.id_up(ids) if self.id_up is not None else ids)  # (N, D)
            if self.head_emb is not None:
                head = self.head_emb * keep[self.head_rows, None]  # (H, R')
                head = self.head_up(head) if self.head_up is not None else head  # (H, D)
                out = out.index_add(0, self.head_rows, head)
        if self.text_proj is not None:
            out = out + self.text_proj(self.text_drop(self.text))  # (N, X) -> (N, D)
        if not self.training and self.cold_neighbors > 0:
            out = self.impute_cold(out)
        return out

    def impute_cold(self, table: torch.Tensor) -> torch.Tensor:
        """``table`` ``(N, D)`` with each unknown item's row replaced by its neighbours' vectors.

        The neighbours (:class:`~shoprec.models.cold_items.TextNeighbours`; items without text
        are left alone) are the ``cold_neighbors`` known items whose text vectors are closest by
        cosine; their vectors are averaged with softmax(similarity / ``cold_temperature``)
        weights, and the mean is rescaled to the weighted mean of their norms. The length of a
        vector carries how often an item is chosen, and a plain average of several would shrink
        it (measured in docs/benchmarks.md: the rescaled mean of 3 neighbours lifts the cold
        items' validation HR@10 from 0.028 to 0.075 without lowering the warm items').
        """
        near = TextNeighbours.find(
            F.normalize(self.text.float(), dim=1).cpu().numpy(),
            self.known.cpu().numpy() > 0,
            self.cold_neighbors,
            self.cold_temperature,
        )
        if not len(near):
            return table
        cold = torch.from_numpy(near.cold).to(table.device)  # (U,)
        weights = torch.from_numpy(near.weights).to(table.device, table.dtype)  # (U, k)
        vecs = table[torch.from_numpy(near.rows).to(table.device)]  # (U, k, D)
        mean = (weights[..., None] * vecs).sum(1)  # (U, D)
        norm = (weights * vecs.norm(dim=2)).sum(1)  # (U,)
        out = table.clone()
        out[cold] = mean * (norm / mean.norm(dim=1).clamp_min(1e-12))[:, None]
        return out


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees only itself and older positions."""

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``x`` ``(B, T, D)``; ``mask`` ``(B, 1, T, T)`` True = may attend, ``None`` = causal."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)  # 3 x (B, T, D)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        p = self.dropout if self.training else 0.0
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(b, t, d)  # (B, H, T, D/H) -> (B, T, D)
        return self.resid_drop(self.proj(y))  # type: ignore[no-any-return]


class Block(nn.Module):
    """Pre-norm Transformer block: attention then feed-forward, each with a residual."""

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.hidden)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.hidden)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.hidden, cfg.ffn_mult * cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.ffn_mult * cfg.hidden, cfg.hidden),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``(B, T, D) -> (B, T, D)``."""
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))  # type: ignore[no-any-return]


def attention_mask(real: torch.Tensor) -> torch.Tensor:
    """Which keys each query may attend to, ``(B, 1, T, T)``, for real cells ``real`` ``(B, T)``.

    Causal (a position sees itself and older ones); padding keys are hidden, and a padding
    query keeps its own key so that no row is empty. Built from index comparisons only (no
    data-dependent branch, no boolean ``EyeLike``), so the ONNX export traces the same code.
    """
    idx = torch.arange(real.shape[1], device=real.device)  # (T,)
    causal = idx[None, :] <= idx[:, None]  # (T, T)
    own = idx[None, :] == idx[:, None]  # (T, T)
    return (causal[None] & (real[:, None, :] | own[None]))[:, None]


class SequenceEncoder(nn.Module):
    """The Transformer over a left-padded history: one hidden state per position.

    It reads the item vectors from a table passed in (``(N, D)``, computed once per batch by
    an :class:`ItemTable`, or precomputed and frozen by a compressed model), so the same code
    trains, scores and is exported to ONNX. A ``batch`` holds ``items`` ``(B, T)`` (negative in
    padding), ``types`` ``(B, T)`` (event type code + 1, 0 in padding) and ``gaps`` ``(B, T)``
    (time-gap buckets), as :meth:`~shoprec.models.sasrec.data.SeqBatch.to_torch` returns them.
    """

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        # Positions count back from the newest event (0 = newest), so they mean the same thing
        # however much left padding a batch carries.
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.hidden)
        self.type_emb = nn.Embedding(N_EVENT_TYPES, cfg.hidden) if cfg.use_event_type else None
        self.gap_emb = (
            nn.Embedding(cfg.time_gap_buckets, cfg.hidden) if cfg.time_gap_buckets > 1 else None
        )
        self.drop = nn.Dropout(cfg.emb_dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.hidden)
        for emb in (self.pos_emb, self.type_emb, self.gap_emb):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.02)

    def forward(self, table: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Hidden states ``(B, T, D)`` of ``batch`` over the item vectors ``table`` ``(N, D)``."""
        items = batch["items"]  # (B, T)
        real = items >= 0  # (B, T)
        x = table[items.clamp(min=0)]  # (B, T, D)
        t = items.shape[1]
        x = x + self.pos_emb(t - 1 - torch.arange(t, device=items.device))[None]  # newest = 0
        if self.type_emb is not None:
            x = x + self.type_emb(batch["types"])
        if self.gap_emb is not None:
            x = x + self.gap_emb(batch["gaps"])
        x = self.drop(x) * real[..., None].to(x.dtype)
        # Without padding the causal kernel needs no mask; an exported graph always has one.
        full = not torch.onnx.is_in_onnx_export() and bool(real.all())
        mask = None if full else attention_mask(real)  # (B, 1, T, T)
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_f(x)  # type: ignore[no-any-return]

    def encode(self, table: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The state after each history's latest event ``(B, D)``: its query vector."""
        return self(table, batch)[:, -1]  # type: ignore[no-any-return]


class SASRecNet(SequenceEncoder):
    """The SASRec network: the :class:`SequenceEncoder` and its own :class:`ItemTable`.

    The state at the last position, dotted with the item table (weight tying), scores every item
    as the next one. (A subclass rather than a second member keeps the weights' names, and so
    every saved artifact, as they were: ``items.*`` beside the encoder's own.)
    """

    def __init__(self, n_items: int, text_dim: int, cfg: SASRecConfig) -> None:
        items = ItemTable(n_items, text_dim, cfg)  # first: seeded weights draw in this order
        super().__init__(cfg)
        self.items = items
