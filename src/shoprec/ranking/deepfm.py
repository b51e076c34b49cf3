"""DeepFM in PyTorch: the second learner of the ranking stage.

Every feature is a *field* with a ``D``-dimensional embedding:

- a numeric column is standardised with the training mean and standard deviation (clipped to
  ``±10``); a missing value (NaN, or any non-finite value) becomes 0, and each numeric column
  that had missing values in training gets one more 0/1 field, its missing indicator. A numeric
  field's vector is its embedding scaled by the value;
- a categorical column (:attr:`RankingData.categorical`) looks its code up in a table sized from
  training (largest code + 1); unknown, negative or missing codes share one reserved index.

The score is ``bias + first order + FM pairwise interactions + MLP(concatenated field
vectors)``. Training minimises a listwise softmax cross-entropy within each group (a request's
candidates) with Adam, and keeps the weights of the epoch with the best validation NDCG@10.

Contributions are gradient x input on the field vectors: a field's contribution is its
first-order term plus ``<field vector, d score / d field vector>``. For a numeric field that is
exactly ``value x d score / d value`` on the standardised value; for a categorical field the
looked-up embedding is the input. A missing indicator's contribution goes to its feature.

Scores are computed by :class:`FoldedNet`, the trained net folded into a few numpy matrices
(about three times faster than a torch forward pass on the ~200 rows of a request).

This module imports torch at the top: it is only ever loaded through
:data:`~shoprec.ranking.learners.LEARNERS` on first use, never by ``import shoprec.ranking``.
Artifacts: ``weights.safetensors`` and ``learner.json`` (config, features, standardisation
statistics, vocabulary sizes, importance); never a pickle.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from pydantic import Field, PositiveInt
from pydantic import ValidationError as PydanticValidationError
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from shoprec.errors import ArtifactError, DataError, MissingDependencyError, NotFittedError
from shoprec.models import BaseConfig

from .learners import META_FILE, Matrix, RankingData, read_learner_meta, write_learner_meta

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError("torch", "torch") from exc

KIND = "deepfm"
SCHEMA_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
#: Standardised numeric values are clipped to this magnitude.
CLIP = 10.0
#: Rows scored per forward pass when predicting many rows (validation, importance).
CHUNK_ROWS = 65_536
#: Rows (at most) whose contributions make the importance computed at the end of ``fit``.
IMPORTANCE_ROWS = 20_000


class DeepFMConfig(BaseConfig):
    """Hyperparameters of the DeepFM learner."""

    embed_dim: int = Field(default=8, ge=1)
    """Size of each field's embedding."""

    hidden: tuple[PositiveInt, ...] = (64, 32)
    """Widths of the MLP's hidden layers."""

    dropout: float = Field(default=0.1, ge=0, lt=1)
    """Dropout after each hidden layer while training."""

    lr: float = Field(default=1e-3, gt=0)
    """Adam learning rate."""

    weight_decay: float = Field(default=1e-5, ge=0)
    """Adam L2 penalty."""

    batch_groups: int = Field(default=256, ge=1)
    """Groups (requests) per optimisation step."""

    max_epochs: int = Field(default=30, ge=1)
    """Maximum passes over the training groups."""

    patience: int = Field(default=3, ge=1)
    """Stop after this many epochs without a better validation NDCG@10."""

    n_threads: int = Field(default=0, ge=0)
    """Torch threads while training (0: torch's default); restored afterwards."""


# -- input encoding ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldEncoding:
    """How raw feature rows become the net's inputs; learnt from the training rows.

    Attributes:
        numeric: Column indices of the numeric features, in field order.
        mean: Training mean of each numeric column (missing values ignored).
        std: Training standard deviation of each numeric column (1 where it is 0 or unknown).
        indicators: Column indices of the numeric features that get a missing-indicator field.
        categorical: Column indices of the categorical features, in field order.
        vocab: Known codes per categorical column (largest training code + 1); index ``vocab``
            is the reserved unknown code.
    """

    numeric: npt.NDArray[np.int64]
    mean: npt.NDArray[np.float32]
    std: npt.NDArray[np.float32]
    indicators: npt.NDArray[np.int64]
    categorical: npt.NDArray[np.int64]
    vocab: npt.NDArray[np.int64]

    @classmethod
    def learn(cls, x: Matrix, categorical: tuple[int, ...]) -> FieldEncoding:
        """Statistics of the training rows ``x``."""
        cats = np.asarray(sorted(set(categorical)), dtype=np.int64)
        numeric = np.setdiff1d(np.arange(x.shape[1]), cats).astype(np.int64)
        values = x[:, numeric].astype(np.float64)
        known = np.isfinite(values)
        count = known.sum(axis=0)
        filled = np.where(known, values, 0.0)
        mean = filled.sum(axis=0) / np.maximum(count, 1)
        var = (np.where(known, values - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt(var)
        std[~(std > 1e-12)] = 1.0
        codes = x[:, cats]
        codes = np.where(np.isfinite(codes) & (codes >= 0), codes, -1.0)
        vocab = (codes.max(axis=0) + 1).astype(np.int64) if len(x) else np.zeros(len(cats))
        return cls(
            numeric=numeric,
            mean=mean.astype(np.float32),
            std=std.astype(np.float32),
            indicators=numeric[(~known).any(axis=0)],
            categorical=cats,
            vocab=np.maximum(vocab, 0).astype(np.int64),
        )

    @property
    def n_values(self) -> int:
        """Numeric input fields: the numeric columns and the missing indicators."""
        return len(self.numeric) + len(self.indicators)

    @property
    def offsets(self) -> npt.NDArray[np.int64]:
        """Start of each categorical column's rows in the shared embedding table."""
        sizes = self.vocab + 1
        return (np.cumsum(sizes) - sizes).astype(np.int64)

    @property
    def field_features(self) -> npt.NDArray[np.int64]:
        """The original column of every field (numeric, indicators, categorical)."""
        return np.concatenate([self.numeric, self.indicators, self.categorical]).astype(np.int64)

    def encode(self, x: Matrix) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """``(C, n_values)`` standardised values and ``(C, n_categorical)`` table indices."""
        v = (x[:, self.numeric] - self.mean) / self.std
        missing = ~np.isfinite(v)
        v[missing] = 0.0
        np.clip(v, -CLIP, CLIP, out=v)
        if len(self.indicators):
            flags = np.isin(self.numeric, self.indicators)
            v = np.concatenate([v, missing[:, flags].astype(np.float32)], axis=1)
        c = np.nan_to_num(x[:, self.categorical], nan=-1.0, posinf=-1.0, neginf=-1.0)
        codes = np.where((c >= 0) & (c < self.vocab), c, self.vocab).astype(np.int64)
        return v.astype(np.float32, copy=False), codes + self.offsets

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (float32 values survive the round trip exactly)."""
        return {
            "numeric": self.numeric.tolist(),
            "mean": [float(m) for m in self.mean],
            "std": [float(s) for s in self.std],
            "indicators": self.indicators.tolist(),
            "categorical": self.categorical.tolist(),
            "vocab": self.vocab.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldEncoding:
        """Inverse of :meth:`to_json`."""
        return cls(
            numeric=np.asarray(data["numeric"], dtype=np.int64),
            mean=np.asarray(data["mean"], dtype=np.float32),
            std=np.asarray(data["std"], dtype=np.float32),
            indicators=np.asarray(data["indicators"], dtype=np.int64),
            categorical=np.asarray(data["categorical"], dtype=np.int64),
            vocab=np.asarray(data["vocab"], dtype=np.int64),
        )


# -- the network -------------------------------------------------------------------------------
class DeepFMNet(nn.Module):
    """FM (first order + pairwise) plus an MLP over the field embeddings; no I/O."""

    def __init__(self, n_values: int, n_codes: int, n_cat_fields: int, config: DeepFMConfig):
        super().__init__()
        d = config.embed_dim
        self.value_emb = nn.Parameter(torch.randn(n_values, d) * 0.05)  # (M, D)
        self.value_w = nn.Parameter(torch.zeros(n_values))  # (M,)
        self.code_emb = nn.Embedding(max(n_codes, 1), d)  # (V, D)
        self.code_w = nn.Embedding(max(n_codes, 1), 1)  # (V, 1)
        nn.init.normal_(self.code_emb.weight, std=0.05)
        nn.init.zeros_(self.code_w.weight)
        self.bias = nn.Parameter(torch.zeros(1))
        layers: list[nn.Module] = []
        width = (n_values + n_cat_fields) * d
        for h in config.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(config.dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def embed(self, values: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-field first-order terms ``(B, Fld)`` and field vectors ``(B, Fld, D)``."""
        lin = torch.cat([values * self.value_w, self.code_w(codes).squeeze(-1)], dim=1)
        vec = torch.cat([values.unsqueeze(-1) * self.value_emb, self.code_emb(codes)], dim=1)
        return lin, vec

    def head(self, lin: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
        """Scores ``(B,)`` from the field terms of :meth:`embed`."""
        total = vec.sum(dim=1)  # (B, D)
        pairwise = 0.5 * (total * total - (vec * vec).sum(dim=1)).sum(dim=1)  # (B,)
        deep = self.mlp(vec.flatten(1)).squeeze(-1)  # (B,)
        out: torch.Tensor = self.bias + lin.sum(dim=1) + pairwise + deep
        return out

    def forward(self, values: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Scores ``(B,)`` for ``(B, M)`` values and ``(B, Fc)`` table indices."""
        lin, vec = self.embed(values, codes)
        return self.head(lin, vec)


@dataclass(frozen=True)
class FoldedNet:
    """A :class:`DeepFMNet` in eval mode, folded for fast scoring in numpy (the request path).

    The first MLP layer, the FM sums and the first-order terms are linear in each numeric
    value, its square and each looked-up embedding, so one matrix over ``[values, values²]``
    plus one row per category code gives them all at once; the rest of the MLP follows.
    Equal to the net's forward pass up to float rounding.

    Attributes:
        numeric: ``(2M, K)``: rows for the values, then for their squares. The ``K`` columns
            are the first layer's ``H`` pre-activations, the FM sum vector (``D``), the
            first-order term and the sum of squared field vectors.
        codes: ``(V, K)``: the same columns for each row of the category table.
        first_bias: ``(H,)`` bias of the first layer.
        layers: The remaining linear layers as ``(weight (in, out), bias)``, each after a ReLU.
        bias: The net's global bias.
    """

    numeric: npt.NDArray[np.float32]
    codes: npt.NDArray[np.float32]
    first_bias: npt.NDArray[np.float32]
    layers: tuple[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], ...]
    bias: np.float32

    @classmethod
    def of(cls, net: DeepFMNet, encoding: FieldEncoding) -> FoldedNet:
        """Fold ``net``, whose inputs come from ``encoding``."""
        state = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
        linears = [i for i, m in enumerate(net.mlp) if isinstance(m, nn.Linear)]
        w1 = state[f"mlp.{linears[0]}.weight"]
        emb, code_emb = state["value_emb"], state["code_emb.weight"]
        m, d = emb.shape
        h = w1.shape[0]
        w1 = w1.reshape(h, -1, d)  # (H, fields, D)
        numeric = np.zeros((2 * m, h + d + 2))
        numeric[:m, :h] = np.einsum("hmd,md->mh", w1[:, :m], emb)
        numeric[:m, h : h + d] = emb
        numeric[:m, h + d] = state["value_w"]
        numeric[m:, h + d + 1] = (emb * emb).sum(axis=1)
        codes = np.zeros((len(code_emb), h + d + 2))
        for f, (start, size) in enumerate(zip(encoding.offsets, encoding.vocab + 1, strict=True)):
            rows = slice(int(start), int(start + size))
            codes[rows, :h] = code_emb[rows] @ w1[:, m + f].T
        codes[:, h : h + d] = code_emb
        codes[:, h + d] = state["code_w.weight"][:, 0]
        codes[:, h + d + 1] = (code_emb * code_emb).sum(axis=1)
        layers = tuple(
            (
                state[f"mlp.{i}.weight"].T.astype(np.float32),
                state[f"mlp.{i}.bias"].astype(np.float32),
            )
            for i in linears[1:]
        )
        return cls(
            numeric=numeric.astype(np.float32),
            codes=codes.astype(np.float32),
            first_bias=state[f"mlp.{linears[0]}.bias"].astype(np.float32),
            layers=layers,
            bias=np.float32(state["bias"][0]),
        )

    def __call__(
        self, values: npt.NDArray[np.float32], codes: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float32]:
        """Scores ``(C,)`` for ``(C, M)`` values and ``(C, Fc)`` table indices."""
        h = len(self.first_bias)
        d = self.numeric.shape[1] - h - 2
        z = np.concatenate([values, values * values], axis=1) @ self.numeric  # (C, K)
        if codes.shape[1]:
            z += self.codes[codes].sum(axis=1)
        hidden = z[:, :h] + self.first_bias  # (C, H)
        for weight, bias in self.layers:
            hidden = np.maximum(hidden, 0) @ weight + bias
        total = z[:, h : h + d]  # (C, D)
        pairwise = 0.5 * ((total * total).sum(axis=1) - z[:, h + d + 1])
        out: npt.NDArray[np.float32] = self.bias + z[:, h + d] + pairwise + hidden[:, 0]
        return out


# -- metrics -----------------------------------------------------------------------------------
def _padded(
    groups: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """``(G, Cmax)`` row index of each group's slots and the mask of real slots."""
    starts = np.cumsum(groups) - groups
    slots = np.arange(int(groups.max()) if len(groups) else 0)
    mask = slots[None, :] < groups[:, None]
    return np.where(mask, starts[:, None] + slots[None, :], 0), mask


def ndcg_at(
    scores: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    groups: npt.NDArray[np.int64],
    k: int = 10,
) -> float:
    """Mean NDCG@k over the groups with a relevant row (gain ``2^y - 1``; ties by row order)."""
    groups = groups[groups > 0]
    if not len(groups):
        return 0.0
    index, mask = _padded(groups)
    s = np.where(mask, scores[index], -np.inf)
    gain = np.where(mask, np.exp2(y[index].astype(np.float64)) - 1.0, 0.0)
    k = min(k, index.shape[1])
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    dcg = (np.take_along_axis(gain, top, axis=1) * discount).sum(axis=1)
    ideal = (-np.sort(-gain, axis=1)[:, :k] * discount).sum(axis=1)
    has = ideal > 0
    return float((dcg[has] / ideal[has]).mean()) if has.any() else 0.0


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch threads (0: leave as is), restoring the previous count."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- the learner -------------------------------------------------------------------------------
class DeepFMLearner:
    """DeepFM ranking each request's candidates, trained with a listwise softmax loss."""

    config_cls: ClassVar[type[DeepFMConfig]] = DeepFMConfig

    def __init__(self, config: DeepFMConfig | None = None) -> None:
        self.config = config or DeepFMConfig()
        self.feature_names: tuple[str, ...] = ()
        self.categorical: tuple[int, ...] = ()
        self.best_epoch = 0
        self.history: list[float] = []
        self._importance: npt.NDArray[np.float64] = np.zeros(0)
        self._encoding: FieldEncoding | None = None
        self._net: DeepFMNet | None = None
        self._folded: FoldedNet | None = None
        self._to_feature: torch.Tensor | None = None  # (Fld, F) one-hot field -> feature

    # -- training ----------------------------------------------------------------------------
    def _build(self, encoding: FieldEncoding, n_features: int) -> DeepFMNet:
        self._encoding = encoding
        fields = encoding.field_features
        to_feature = torch.zeros(len(fields), n_features)
        to_feature[torch.arange(len(fields)), torch.from_numpy(fields)] = 1.0
        self._to_feature = to_feature
        n_codes = int((encoding.vocab + 1).sum())
        return DeepFMNet(encoding.n_values, n_codes, len(encoding.categorical), self.config)

    def fit(self, train: RankingData, valid: RankingData | None, seed: int = 0) -> None:
        """Train on ``train``; keep the epoch with the best NDCG@10 on ``valid`` when given.

        Without ``valid`` (or when it has no relevant row) all ``max_epochs`` are trained.

        Raises:
            DataError: When ``valid`` has other features than ``train``, or no training group
                has a relevant row.
        """
        if valid is not None and (
            valid.feature_names != train.feature_names or valid.categorical != train.categorical
        ):
            raise DataError("DeepFM: validation data has other features than training data")
        if valid is not None and not (valid.y > 0).any():
            valid = None  # nothing to measure NDCG on
        with _threads(self.config.n_threads):
            self._fit(train, valid, seed)

    def _fit(self, train: RankingData, valid: RankingData | None, seed: int) -> None:
        c = self.config
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        self.feature_names = train.feature_names
        self.categorical = train.categorical
        x = np.asarray(train.x, dtype=np.float32)
        net = self._build(FieldEncoding.learn(x, train.categorical), x.shape[1])
        values_np, codes_np = self._require_encoding().encode(x)
        values, codes = torch.from_numpy(values_np), torch.from_numpy(codes_np)
        labels = torch.from_numpy(np.asarray(train.y, dtype=np.float32))
        sizes = torch.from_numpy(train.groups.astype(np.int64))
        starts = torch.cumsum(sizes, 0) - sizes
        owner = np.repeat(np.arange(len(train.groups)), train.groups)
        relevant = np.bincount(owner, weights=train.y, minlength=len(train.groups)) > 0
        usable = np.flatnonzero(relevant & (train.groups > 0))
        if not len(usable):
            raise DataError("DeepFM: no training group has a relevant row")
        opt = torch.optim.Adam(net.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        best_state: dict[str, torch.Tensor] | None = None
        best, stale = -np.inf, 0
        self.history = []
        for epoch in range(1, c.max_epochs + 1):
            net.train()
            for batch in np.array_split(rng.permutation(usable), -(-len(usable) // c.batch_groups)):
                sel = torch.from_numpy(batch)
                n = sizes[sel]
                slots = torch.arange(int(n.max()))
                mask = slots[None, :] < n[:, None]  # (B, Cmax)
                rows = (starts[sel][:, None] + slots[None, :])[mask]
                scores = net(values[rows], codes[rows])
                logits = scores.new_full(mask.shape, -1e9)
                logits[mask] = scores
                target = torch.zeros(mask.shape)
                target[mask] = labels[rows]
                target = target / target.sum(dim=1, keepdim=True)
                loss = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            if valid is None:
                self.best_epoch = epoch
                continue
            self._net = net.eval()
            self._folded = FoldedNet.of(net, self._require_encoding())
            metric = ndcg_at(self.predict(valid.x), valid.y, valid.groups, 10)
            self.history.append(metric)
            if metric > best + 1e-6:
                best, stale, self.best_epoch = metric, 0, epoch
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
                if stale >= c.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self._net = net.eval()
        self._folded = FoldedNet.of(net, self._require_encoding())
        source = valid.x if valid is not None and len(valid.x) else x
        if len(source) > IMPORTANCE_ROWS:
            source = source[np.sort(rng.choice(len(source), IMPORTANCE_ROWS, replace=False))]
        mean_abs = np.abs(self.contributions(source)).astype(np.float64).mean(axis=0)
        total = mean_abs.sum()
        self._importance = mean_abs / total if total > 0 else np.zeros_like(mean_abs)

    # -- scoring -----------------------------------------------------------------------------
    def _require_net(self) -> DeepFMNet:
        if self._net is None:
            raise NotFittedError("DeepFM learner is not fitted; call fit() or load()")
        return self._net

    def _require_encoding(self) -> FieldEncoding:
        if self._encoding is None:
            raise NotFittedError("DeepFM learner is not fitted; call fit() or load()")
        return self._encoding

    def _encode(self, x: Matrix) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        encoding = self._require_encoding()
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            n = len(self.feature_names)
            raise DataError(f"DeepFM: features have shape {x.shape}, expected (C, {n})")
        return encoding.encode(np.asarray(x, dtype=np.float32))

    def predict(self, x: Matrix) -> Matrix:
        """``(C,)`` scores for ``(C, F)`` feature rows (higher ranks first).

        Scored by the :class:`FoldedNet` in numpy: no torch call on the request path.
        """
        if self._folded is None:
            raise NotFittedError("DeepFM learner is not fitted; call fit() or load()")
        if len(x) > CHUNK_ROWS:
            return np.concatenate(
                [self.predict(x[i : i + CHUNK_ROWS]) for i in range(0, len(x), CHUNK_ROWS)]
            )
        return self._folded(*self._encode(x))

    def contributions(self, x: Matrix) -> Matrix:
        """``(C, F)`` gradient x input per feature (see the module docstring)."""
        net = self._require_net()
        if len(x) > CHUNK_ROWS:
            return np.concatenate(
                [self.contributions(x[i : i + CHUNK_ROWS]) for i in range(0, len(x), CHUNK_ROWS)]
            )
        values_np, codes_np = self._encode(x)
        values, codes = torch.from_numpy(values_np), torch.from_numpy(codes_np)
        assert self._to_feature is not None
        with torch.no_grad():
            lin, vec = net.embed(values, codes)
        with torch.enable_grad():
            lin.requires_grad_(True)
            vec.requires_grad_(True)
            d_lin, d_vec = torch.autograd.grad(net.head(lin, vec).sum(), [lin, vec])
        with torch.no_grad():
            per_field = lin * d_lin + (vec * d_vec).sum(dim=-1)  # (C, Fld)
            out: Matrix = (per_field @ self._to_feature).numpy()
        return out

    def importance(self) -> npt.NDArray[np.float64]:
        """``(F,)`` mean absolute contribution per feature (validation rows), summing to 1."""
        if self._net is None:
            return np.zeros(len(self.feature_names))
        return self._importance.copy()

    # -- artifacts ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write ``weights.safetensors`` and ``learner.json`` into the directory ``path``."""
        net = self._require_net()
        path.mkdir(parents=True, exist_ok=True)
        arrays = {k: np.ascontiguousarray(v.numpy()) for k, v in net.state_dict().items()}
        save_file(arrays, str(path / WEIGHTS_FILE))
        write_learner_meta(
            path,
            KIND,
            SCHEMA_VERSION,
            self,
            encoding=self._require_encoding().to_json(),
            importance=self._importance.tolist(),
            best_epoch=self.best_epoch,
            history=self.history,
        )

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a learner written by :meth:`save`.

        Raises:
            ArtifactError: When the directory is not a complete, compatible DeepFM artifact.
        """
        meta = read_learner_meta(path, KIND, SCHEMA_VERSION)
        try:
            config = cls.config_cls.model_validate(meta["config"])
            encoding = FieldEncoding.from_json(meta["encoding"])
            arrays = load_file(str(path / WEIGHTS_FILE))
        except (PydanticValidationError, KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{path / META_FILE}: invalid learner state: {exc}") from exc
        except (OSError, SafetensorError) as exc:
            raise ArtifactError(f"{path / WEIGHTS_FILE}: cannot be read: {exc}") from exc
        learner = cls(config)
        learner.feature_names = tuple(meta["feature_names"])
        learner.categorical = tuple(int(i) for i in meta["categorical"])
        net = learner._build(encoding, len(learner.feature_names))
        try:
            net.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
        except RuntimeError as exc:
            raise ArtifactError(f"{path}: weights do not match learner.json: {exc}") from exc
        learner._net = net.eval()
        learner._folded = FoldedNet.of(net, encoding)
        learner._importance = np.asarray(meta.get("importance", []), dtype=np.float64)
        learner.best_epoch = int(meta.get("best_epoch", 0))
        learner.history = [float(h) for h in meta.get("history", [])]
        return learner
