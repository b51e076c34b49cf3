"""Private training: DP-SGD through Opacus, each shopper's training row the protected unit.

A shopper contributes exactly one training row (their latest ``max_len`` events, see
:func:`~shoprec.models.sasrec.data.training_windows`), so clipping each row's gradient bounds
what any one shopper can move the model: shopper-level differential privacy. The recipe is
Opacus' (``PrivacyEngine.make_private_with_epsilon``), assembled from its parts:

- **Poisson sampling**: every step each row joins the batch independently with probability
  ``q = 1 / steps_per_epoch`` (``batch_size`` rows on average), the sampling the accountant's
  amplification assumes; no length bucketing, which would make a batch depend on the others.
- **Noise calibration**: ``opacus.accountants.utils.get_noise_multiplier`` finds the noise
  multiplier that spends exactly (``dp_epsilon``, ``dp_delta``) in the run's epoch cap;
  early stopping only spends less. The accountant (PRV, Opacus' default) steps with every
  optimiser step and :meth:`PrivateTrainer.privacy` reports what was spent.
- **Clipping and noise**: ``opacus.optimizers.DPOptimizer`` around the usual AdamW clips each
  row's gradient to ``max_grad_norm``, adds Gaussian noise of ``noise_multiplier *
  max_grad_norm`` and averages over the expected batch size.

Why the per-sample gradients are not Opacus' ``GradSampleModule``: its hooks assume every layer
sees the batch in its first dimension, but the item table (the text projection, the ID
vectors) is computed over the whole catalogue ``(N, X)`` and shared by every row's softmax and
input. Here they come from ``torch.func`` (``vmap`` over ``grad``) of one row's loss, written
so no ``(N, D)`` table gradient is formed per row: the step's table is computed once, and
the text projection's per-row gradient is ``h.T @ (g @ text)`` (:class:`_TextScores`), which
costs ``T * N * X`` per row instead of ``N * D * X``. Rows are grouped by length (each
group's positions are all real, so one causal mask serves the group) and handed to
``DPOptimizer`` as ``p.grad_sample``. Items' frozen text vectors are public; a text-only model
(``item_repr="text"``) has no private per-item table at all, which is why it is the first
choice under DP (docs/benchmarks.md).

Supported: ``item_repr`` ``text`` (linear text projection), ``id`` and ``fused``; full softmax;
one process. ``text_hidden``, ``id_head_items``, ``loss="sampled"`` and data-parallel training
are refused with a :class:`~shoprec.errors.ConfigError`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch.func import functional_call, grad_and_value, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from shoprec.errors import ConfigError

from .data import PAD
from .train import Trainer, autocast

#: Opacus accountant used for calibration and reporting (its ``PrivacyEngine`` default).
ACCOUNTANT = "prv"

#: Per-sample gradient scalars computed in one ``vmap`` call (bounds its memory: 256 MiB).
GRAD_BUDGET = 1 << 26


@contextmanager
def _quiet_accountant() -> Iterator[None]:
    # The PRV accountant sizes its numerical domain with an RDP bound, which warns when its
    # grid of orders is too coarse to be tight; only the domain is looser, not the epsilon.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        # Its discretised privacy-loss distribution takes log(0) = -inf on purpose.
        warnings.filterwarnings("ignore", "divide by zero encountered in log", RuntimeWarning)
        yield


def _require_opacus() -> None:
    try:
        import opacus  # noqa: F401 - probe only
    except ImportError as exc:
        raise ConfigError(
            "DP-SGD training (dp_epsilon) needs Opacus: pip install 'shoprec[torch]'"
        ) from exc


def check_private(cfg: Any, world_size: int = 1) -> None:
    """Refuse configurations DP-SGD does not support here (see the module docstring).

    Raises:
        ConfigError: Naming the option to change.
    """
    refused = {
        "text_hidden": cfg.uses_text and cfg.text_hidden is not None,
        "id_head_items": cfg.uses_id and cfg.id_head_items > 0,
        "loss='sampled'": cfg.loss != "softmax",
    }
    for option, bad in refused.items():
        if bad:
            raise ConfigError(f"DP-SGD (dp_epsilon) does not support {option}; leave it unset")
    if world_size > 1:
        raise ConfigError("DP-SGD (dp_epsilon) trains in one process: use --nproc 1")
    _require_opacus()


@dataclass(frozen=True)
class _StepItems:
    """One step's catalogue inputs, shared (unbatched) by every row of the step.

    Attributes:
        keep: ``(N,)`` ID-row mask (known items, minus this step's ID dropout).
        text: ``(N, X)`` text vectors after this step's text dropout.
        text_known: ``(K, X)`` those of the items in the training softmax.
        text_table: ``(K, D)`` their text projection with this step's weights (no gradient).
    """

    keep: torch.Tensor
    text: torch.Tensor
    text_known: torch.Tensor
    text_table: torch.Tensor


class _TextScores(torch.autograd.Function):
    """``h @ (text @ weight.T + bias).T`` with the table computed once per step, not per row.

    Forward reads the step's table ``(K, D)``; backward routes the row's gradient to ``h``
    (``g @ table``), ``weight`` (``h.T @ (g @ text)``) and ``bias`` (``h.T @ g.sum(1)``),
    never forming a ``(K, D)`` gradient per row: ``T * K * (2D + X)`` per row instead of the
    ``2 * T * K * X`` of autograd through ``(h @ weight) @ text.T``. ``vmap`` batches it from
    these torch ops (``generate_vmap_rule``).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(  # type: ignore[override]
        h: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor,
        text: torch.Tensor,
        table: torch.Tensor,
    ) -> torch.Tensor:
        return h.float() @ table.T  # (T, K)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        h, weight, bias, text, table = inputs
        ctx.save_for_backward(h, weight, text, table)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, g: torch.Tensor
    ) -> tuple[torch.Tensor | None, ...]:
        h, weight, text, table = ctx.saved_tensors
        hf = h.float()
        grad_h = (g @ table).to(h.dtype)  # (T, D)
        grad_w = (hf.T @ (g @ text)).to(weight.dtype)  # (D, X)
        grad_b = (hf.T @ g.sum(1)).to(weight.dtype)  # (D,)
        return grad_h, grad_w, grad_b, None, None


class PrivateTrainer(Trainer):
    """:class:`~shoprec.models.sasrec.train.Trainer` whose optimiser steps are DP-SGD steps.

    Same arguments as the trainer (``cfg.dp_epsilon`` set). The noise is calibrated when
    :meth:`run` learns the epoch cap; validation, EMA, checkpoints and early stopping are the
    trainer's (the EMA and the best-epoch choice are post-processing of the private iterates,
    but the choice reads the validation targets: see docs/training.md).

    Raises:
        ConfigError: For an unsupported configuration or without Opacus.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_private(self.cfg, self.world_size)
        from opacus.accountants import create_accountant
        from opacus.optimizers import DPOptimizer

        n = len(self.rows)
        self.steps_per_epoch = max(math.ceil(n / self.cfg.batch_size), 1)
        self.sample_rate = 1.0 / self.steps_per_epoch
        self.delta = self.cfg.dp_delta if self.cfg.dp_delta is not None else 1.0 / max(n, 1)
        self.lengths: npt.NDArray[np.int64] = (self.rows.items != PAD).sum(axis=1)
        self.accountant = create_accountant(ACCOUNTANT)
        self.noise_multiplier = 0.0
        self.dp_optimizer = DPOptimizer(
            self.optimizer,
            noise_multiplier=0.0,
            max_grad_norm=self.cfg.max_grad_norm,
            expected_batch_size=max(round(n * self.sample_rate), 1),
            loss_reduction="mean",
        )
        self.dp_optimizer.attach_step_hook(
            self.accountant.get_optimizer_hook_fn(sample_rate=self.sample_rate)
        )
        self.names = [name for name, p in self.net.named_parameters() if p.requires_grad]
        numel = sum(p.numel() for p in self.params)
        self.chunk = max(GRAD_BUDGET // max(numel, 1), 1)

    # -- calibration and accounting --------------------------------------------------------
    def calibrate(self, epochs: int) -> float:
        """Set and return the noise multiplier that spends the budget in ``epochs`` epochs."""
        from opacus.accountants.utils import get_noise_multiplier

        assert self.cfg.dp_epsilon is not None
        with _quiet_accountant():
            self.noise_multiplier = float(
                get_noise_multiplier(
                    target_epsilon=self.cfg.dp_epsilon,
                    target_delta=self.delta,
                    sample_rate=self.sample_rate,
                    steps=epochs * self.steps_per_epoch,
                    accountant=ACCOUNTANT,
                )
            )
        self.dp_optimizer.noise_multiplier = self.noise_multiplier
        return self.noise_multiplier

    @property
    def steps(self) -> int:
        """Noisy optimiser steps taken so far."""
        return sum(int(steps) for _, _, steps in self.accountant.history)

    def epsilon(self) -> float:
        """The epsilon spent so far at ``self.delta``, by the accountant (0 before any step)."""
        if not self.accountant.history:
            return 0.0
        with _quiet_accountant():
            return float(self.accountant.get_epsilon(delta=self.delta))

    def privacy(self) -> dict[str, Any] | None:
        """What the fit spent and with which mechanism (stored in the artifact's metadata)."""
        return {
            "mechanism": "DP-SGD (Opacus), shopper-level",
            "epsilon": self.epsilon(),
            "target_epsilon": self.cfg.dp_epsilon,
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "max_grad_norm": self.cfg.max_grad_norm,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
            "accountant": ACCOUNTANT,
        }

    def prepare(self, max_epochs: int) -> None:
        """Calibrate the noise so that ``max_epochs`` epochs spend the budget."""
        self.calibrate(max_epochs)

    def load_checkpoint(self, directory: Path) -> None:
        """Restore the checkpoint and the accountant's steps up to it."""
        super().load_checkpoint(directory)
        steps = self.state.epoch * self.steps_per_epoch
        self.accountant.history = (
            [(self.noise_multiplier, self.sample_rate, steps)] if steps else []
        )

    # -- the private step ------------------------------------------------------------------
    def train_epoch(self) -> dict[str, float]:
        """One epoch of Poisson-sampled DP-SGD steps; ``{"loss", "seconds", "lr", "epsilon"}``."""
        self.net.train()
        start = time.perf_counter()
        total, count = 0.0, 0
        for i in range(self.steps_per_epoch):
            if self.decay_epochs is not None:
                self._set_lr((self.state.epoch + i / self.steps_per_epoch) / self.decay_epochs)
            # Every row joins independently: the batch size itself is random.
            chosen = np.flatnonzero(self.rng.random(len(self.rows)) < self.sample_rate)
            grads, loss, positions = self.per_sample_grads(chosen)
            for p, g in zip(self.params, grads, strict=True):
                p.grad_sample = g  # type: ignore[attr-defined]
            self.dp_optimizer.step()
            self.dp_optimizer.zero_grad(set_to_none=True)
            if self.ema is not None:
                self._update_ema()
            total += loss
            count += positions
        self.state.epoch += 1
        return {
            "loss": total / max(count, 1),
            "seconds": time.perf_counter() - start,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "epsilon": self.epsilon(),
        }

    def per_sample_grads(
        self, chosen: npt.NDArray[np.int64]
    ) -> tuple[list[torch.Tensor], float, int]:
        """Each chosen row's gradient of its summed next-item loss.

        Returns:
            One ``(B, *p.shape)`` tensor per trainable parameter (rows in length order), the
            rows' summed loss and their number of target positions.
        """
        params = {n: p.detach() for n, p in zip(self.names, self.params, strict=True)}
        step = self._step_items()

        def row_loss(
            p: dict[str, torch.Tensor],
            items: torch.Tensor,
            types: torch.Tensor,
            gaps: torch.Tensor,
            targets: torch.Tensor,
        ) -> torch.Tensor:
            return self._row_loss(p, step, items, types, gaps, targets)

        per_row = vmap(grad_and_value(row_loss), in_dims=(None, 0, 0, 0, 0), randomness="different")
        parts: list[dict[str, torch.Tensor]] = []
        loss, positions = 0.0, 0
        lengths = self.lengths[chosen]
        for length in np.unique(lengths):
            group = chosen[lengths == length]
            for start in range(0, len(group), self.chunk):
                # Rows of one length: cropped to it, every position is real and has a target.
                batch = self.rows.take(group[start : start + self.chunk]).to_torch(self.device)
                # The math kernel of attention has vmap batching rules; the fused CPU kernel
                # would fall back to a slow loop over the rows.
                with sdpa_kernel(SDPBackend.MATH):
                    g, value = per_row(
                        params, batch["items"], batch["types"], batch["gaps"], batch["targets"]
                    )
                parts.append(g)
                loss += float(value.detach().sum())
                positions += int(batch["targets"].numel())
        grads = [
            torch.cat([part[name] for part in parts])
            if parts
            else torch.zeros(0, *p.shape, device=p.device)
            for name, p in zip(self.names, self.params, strict=True)
        ]
        return grads, loss, positions

    def _step_items(self) -> _StepItems:
        """This step's random ID and text dropout, drawn once for every row (as a batch does)."""
        table = self.net.items
        keep = table.known
        if table.id_emb is not None and table.id_dropout > 0:
            keep = keep * (torch.rand_like(keep) >= table.id_dropout)
        text = table.text_drop(table.text) if table.text_proj is not None else table.text
        text_known = text[self.known_cols]
        text_table = text_known[:, :0]
        if table.text_proj is not None:
            with torch.no_grad():
                text_table = table.text_proj(text_known).float()  # (K, D)
        return _StepItems(keep, text, text_known, text_table)

    def _row_loss(
        self,
        params: dict[str, torch.Tensor],
        step: _StepItems,
        items: torch.Tensor,
        types: torch.Tensor,
        gaps: torch.Tensor,
        targets: torch.Tensor,
    ) -> torch.Tensor:
        """Summed next-item loss of one row ``(T,)`` whose positions are all real."""
        t = items.shape[0]
        rows = self._item_rows(params, step, items)  # (T, D): the table's rows for this row
        local = torch.arange(t, device=items.device)[None]  # (1, T), the same for every row
        with autocast(self.device):
            batch = {"items": local, "types": types[None], "gaps": gaps[None]}
            h = functional_call(self.net, params, (rows, batch))[0]  # (T, D)
            logits = self._logits(params, step, h)  # (T, K)
        return F.cross_entropy(logits.float(), self.col_of[targets], reduction="sum")

    def _item_rows(
        self, params: dict[str, torch.Tensor], step: _StepItems, items: torch.Tensor
    ) -> torch.Tensor:
        """The item table's rows of ``items`` ``(T,) -> (T, D)``, as ``ItemTable`` computes them."""
        out = torch.zeros(items.shape[0], self.cfg.hidden, device=items.device)
        if "items.id_emb" in params:
            ids = params["items.id_emb"][items] * step.keep[items, None]  # (T, R)
            up = params.get("items.id_up.weight")
            out = out + (F.linear(ids, up) if up is not None else ids)
        if "items.text_proj.weight" in params:
            weight, bias = params["items.text_proj.weight"], params["items.text_proj.bias"]
            out = out + F.linear(step.text[items], weight, bias)  # (T, X) -> (T, D)
        return out

    def _logits(
        self, params: dict[str, torch.Tensor], step: _StepItems, h: torch.Tensor
    ) -> torch.Tensor:
        """``h`` ``(T, D)`` scored against the known items' table rows, ``(T, K)``."""
        known = self.known_cols
        logits = torch.zeros(h.shape[0], len(known), device=h.device, dtype=h.dtype)
        if "items.id_emb" in params:
            ids = params["items.id_emb"][known] * step.keep[known, None]  # (K, R)
            up = params.get("items.id_up.weight")  # (D, R)
            logits = logits + (h @ up if up is not None else h) @ ids.T
        if "items.text_proj.weight" in params:
            weight, bias = params["items.text_proj.weight"], params["items.text_proj.bias"]
            scores = _TextScores.apply(  # type: ignore[no-untyped-call]
                h, weight, bias, step.text_known, step.text_table
            )
            logits = logits + scores
        return logits
