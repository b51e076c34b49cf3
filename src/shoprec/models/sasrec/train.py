"""The training loop: next-item cross-entropy, validation NDCG@10, early stopping, checkpoints.

:class:`Trainer` owns one network and its optimiser. ``train_epoch()`` runs one pass over the
training rows; ``evaluate()`` ranks the whole catalogue for the validation cases (seen items
excluded) and returns NDCG@10 and HR@10; ``run()`` alternates them, keeps the best weights and
stops when validation stops improving. A checkpoint directory makes a run resumable: after every
epoch it holds the network, the optimiser, the random states and the early-stopping state
(safetensors + JSON, no pickle).

The same loop trains data-parallel (``world_size > 1``, in an initialised ``torch.distributed``
process group): every rank draws the same seeded global batches and computes its interleaved
share of each, ``DistributedDataParallel`` sums the gradients, and rank 0 alone validates,
keeps the best and averaged weights, writes checkpoints and decides when all ranks stop.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.distributed as dist
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from shoprec.errors import ArtifactError

from .config import SASRecConfig
from .data import PAD, SeqBatch, shuffled_batches
from .net import SASRecNet

logger = logging.getLogger(__name__)

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_STATE = "checkpoint.json"
EVAL_BATCH = 512

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def resolve_device(spec: str) -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; anything else is passed to torch."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


def autocast(device: torch.device) -> torch.autocast:
    """Mixed precision (bfloat16) on CUDA; a disabled context on CPU, where float32 is exact."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def softmax_ce(h: torch.Tensor, table: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean full-softmax cross-entropy of states ``h`` ``(M, D)`` over ``table`` ``(K, D)``."""
    return F.cross_entropy((h @ table.T).float(), y)  # (M, K) logits


@functools.cache
def compiled_softmax_ce(device: str) -> LossFn:
    """:func:`softmax_ce` compiled by ``torch.compile``, or itself where compiling fails.

    The (M, K) logits dominate an epoch; compiled, their log-sum-exp and gradient are fused
    kernels instead of several passes over memory (about 1.7x faster on CPU, measured in
    docs/benchmarks.md). Compiling needs a C++ compiler (CPU) or Triton (CUDA): a probe on
    tiny inputs finds out once per process and ``device`` type, and a machine without them
    trains eagerly.
    """
    fn = torch.compile(softmax_ce, dynamic=True)
    try:
        h = torch.zeros(3, 4, device=device, requires_grad=True)
        table, y = torch.zeros(5, 4, device=device), torch.zeros(3, dtype=torch.long, device=device)
        fn(h, table, y).backward()  # type: ignore[no-untyped-call]
    except Exception as exc:  # noqa: BLE001 - any failure means: no compiler here
        logger.warning("torch.compile unavailable (%s); training with the eager loss", exc)
        return softmax_ce
    return fn  # type: ignore[no-any-return]


class TrainingForward(nn.Module):
    """One training batch's item table ``(N, D)`` and hidden states ``(B, T, D)`` in one call.

    ``DistributedDataParallel`` sums the gradients of the module call it wraps; the item table
    is recomputed from the ID embeddings and the text projection every step, so it belongs in
    that call as much as the Transformer does.
    """

    def __init__(self, net: SASRecNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(table, states)`` of ``batch`` (the tensors of :meth:`SeqBatch.to_torch`)."""
        table = self.net.items()  # (N, D)
        return table, self.net(table, batch)  # (B, T, D)


@dataclass
class ValidationCases:
    """Validation inputs prepared once: padded histories, targets and every case's seen items.

    Attributes:
        windows: Padded input histories.
        targets: ``(V,)`` target item per case.
        seen_offsets: ``(V + 1,)`` CSR offsets into ``seen_items``.
        seen_items: Items of each case's whole history (excluded from its ranking).
    """

    windows: SeqBatch
    targets: npt.NDArray[np.int64]
    seen_offsets: npt.NDArray[np.int64]
    seen_items: npt.NDArray[np.int64]


def rank_metrics(
    scores: torch.Tensor, targets: torch.Tensor, k: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-case NDCG@k and HR@k of one target each, ``(B,)`` each.

    ``scores`` ``(B, N)`` must already hold ``-inf`` for excluded items. The rank counts items
    scored strictly higher than the target, so ties favour the target (as most libraries do);
    an excluded target is a miss.
    """
    target_scores = scores.gather(1, targets[:, None])  # (B, 1)
    rank = (scores > target_scores).sum(dim=1)  # (B,)
    hit = (rank < k) & torch.isfinite(target_scores[:, 0])
    ndcg = torch.where(hit, 1.0 / torch.log2(rank.float() + 2.0), torch.zeros_like(rank.float()))
    return ndcg, hit.float()


@dataclass
class TrainState:
    """Early-stopping state (JSON-serialisable apart from the weights)."""

    epoch: int = 0
    best_epoch: int = 0
    best_ndcg: float = -1.0
    bad_epochs: int = 0
    steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


class Trainer:
    """Trains a :class:`SASRecNet` on padded next-item rows.

    Args:
        net: The network (already on ``device``).
        cfg: Hyperparameters.
        rows: Training rows from :func:`~shoprec.models.sasrec.data.training_windows`.
        device: Where to train.
        seed: Seeds shuffling, dropout and negative sampling.
        validation: Cases for early stopping; without them every epoch up to the cap runs and
            the last weights are kept.
        decay_epochs: Cosine-decay the learning rate from ``cfg.lr`` to 0 over this many
            epochs (a fine-tune of known length); ``None``: constant.
        rank: This process's rank in data-parallel training (0 validates and checkpoints).
        world_size: Data-parallel processes (> 1 needs an initialised process group); each
            step computes ``1 / world_size`` of a global batch of ``cfg.batch_size`` rows, so
            the optimisation is the one-process run's.
    """

    def __init__(
        self,
        net: SASRecNet,
        cfg: SASRecConfig,
        rows: SeqBatch,
        device: torch.device,
        seed: int,
        validation: ValidationCases | None = None,
        decay_epochs: int | None = None,
        *,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.net = net
        self.cfg = cfg
        self.rows = rows
        self.device = device
        self.validation = validation if rank == 0 else None
        self.decay_epochs = decay_epochs
        self.rank = rank
        self.world_size = world_size
        # The batch order must be the same on every rank (each takes its share of the same
        # global batch); dropout must not be: identical masks on every rank's rows would be
        # one correlated draw instead of world_size independent ones.
        self.rng = np.random.default_rng(seed)
        torch.manual_seed(seed + rank)
        self.state = TrainState()
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.params: list[torch.Tensor] = [p for p in net.parameters() if p.requires_grad]
        # The moving average of the weights (ema_decay > 0), one tensor per trainable parameter;
        # kept by rank 0 alone, which validates and keeps the weights (the ranks' weights are
        # equal after every step, so one average is everyone's).
        self.ema = (
            [p.detach().clone() for p in self.params] if cfg.ema_decay > 0 and rank == 0 else None
        )
        self.forward: nn.Module = TrainingForward(net)
        if world_size > 1:
            # The buffers (frozen text vectors, known-item mask) are equal on every rank and
            # never change: syncing them before each forward would only cost time (they and
            # the parameters are still synced from rank 0 once, here).
            self.forward = DistributedDataParallel(
                self.forward,
                device_ids=[device] if device.type == "cuda" else None,
                forward_sync_buffers=False,
            )
        self.optimizer = torch.optim.AdamW(
            self._param_groups(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay
        )
        known = net.items.known.bool().to(device)
        # Items never seen in training take no part in the training softmax: as eternal
        # negatives their (text) vectors would only learn to be unlikely, which cold start
        # must avoid. The softmax runs over the known items' columns (no mask to add).
        self.logit_mask = torch.where(known, 0.0, -math.inf)  # (N,)
        self.known_cols = known.nonzero()[:, 0]  # (K,)
        self.col_of = torch.cumsum(known.long(), 0) - 1  # (N,) item -> its column among known
        self.all_known = bool(known.all())
        # Data-parallel, the compiled loss runs on the DDP module's outputs, outside it: its
        # graph holds no collective, so it needs none of DDP's graph splitting.
        self.softmax_ce = compiled_softmax_ce(device.type) if cfg.compile_loss else softmax_ce
        # At evaluation they compete like at serving time, unless the model cannot score them.
        self.score_mask = (
            self.logit_mask if not cfg.uses_text else torch.zeros_like(self.logit_mask)
        )
        counts = np.bincount(rows.targets[rows.targets >= 0], minlength=net.items.n_items)
        q = torch.as_tensor(counts, dtype=torch.float32, device=device) + known.float()
        self.sample_probs = q / q.sum()  # (N,) popularity-proportional, for sampled softmax

    def _param_groups(self) -> list[dict[str, Any]]:
        decay: list[torch.nn.Parameter] = []
        no_decay: list[torch.nn.Parameter] = []
        for name, p in self.net.named_parameters():
            # Matrices of linear layers decay; embeddings, norms and biases do not (nanoGPT).
            is_matrix = p.dim() == 2 and "emb" not in name
            (decay if is_matrix else no_decay).append(p)
        return [
            {"params": decay, "weight_decay": self.cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def _loss(self, table: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Next-item loss of states ``h`` ``(M, D)`` for targets ``y`` ``(M,)``."""
        if self.cfg.loss == "softmax":
            if self.all_known:
                return self.softmax_ce(h, table, y)
            return self.softmax_ce(h, table[self.known_cols], self.col_of[y])
        # Sampled softmax with log-Q correction: subtracting log(S q_j) makes the sampled
        # partition function an unbiased stand-in for the full one (Bengio & Senecal 2008).
        s = self.cfg.n_negatives
        negs = torch.multinomial(self.sample_probs, s, replacement=True)  # (S,)
        log_q = torch.log(self.sample_probs * s)  # (N,)
        pos = (h * table[y]).sum(-1) - log_q[y]  # (M,)
        neg = h @ table[negs].T - log_q[negs]  # (M, S)
        neg = neg.masked_fill(negs[None, :] == y[:, None], -math.inf)  # accidental hits
        logits = torch.cat([pos[:, None], neg], dim=1).float()  # (M, 1 + S)
        return F.cross_entropy(logits, torch.zeros_like(y))

    def batch_loss(
        self,
        batch: dict[str, torch.Tensor],
        sel: torch.Tensor,
        table: torch.Tensor,
        h: torch.Tensor,
    ) -> torch.Tensor:
        """Mean loss of one batch's target positions ``sel``, states ``h`` ``(M, D)``.

        The next-item loss here; subclasses add terms (e.g. distillation).
        """
        return self._loss(table, h, batch["targets"][sel])

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training rows; returns ``{"loss", "seconds", "lr"}``.

        Data-parallel, this rank computes rows ``rank, rank + world_size, ...`` of every global
        batch (interleaved: length-bucketed batches are sorted by length, so every rank gets
        as long a share as the others and none waits for a slower one); the loss reported is
        the mean over all ranks' target positions.
        """
        self.forward.train()
        start = time.perf_counter()
        total, count = 0.0, 0
        lengths = (self.rows.items != PAD).sum(axis=1) if self.cfg.length_batches else None
        batches = shuffled_batches(len(self.rows), self.cfg.batch_size, self.rng, lengths)
        per_batch = max(float((self.rows.targets >= 0).sum()) / max(len(batches), 1), 1.0)
        for i, rows in enumerate(batches):
            if self.decay_epochs is not None:
                self._set_lr((self.state.epoch + i / len(batches)) / self.decay_epochs)
            share = rows[self.rank :: self.world_size]
            # Every rank takes part in every step (the gradient all-reduce waits for all): a
            # rank with no share of a short last batch runs its first row at weight 0.
            batch = self.rows.take(share if len(share) else rows[:1]).to_torch(self.device)
            sel = batch["targets"] >= 0
            n = int(sel.sum()) if len(share) else 0
            with autocast(self.device):
                table, h = self.forward(batch)  # (N, D), (B, T, D)
                loss = self.batch_loss(batch, sel, table, h[sel])
            self.optimizer.zero_grad(set_to_none=True)
            # Every target position weighs the same, however many a batch holds: with
            # length-bucketed batches a mean per batch would let short histories dominate.
            # DDP averages the ranks' gradients; the factor world_size turns that into their
            # sum, the gradient of the whole global batch, as one process computes it.
            (loss * (n * self.world_size / per_batch)).backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            if self.ema is not None:
                self._update_ema()
            total += float(loss.detach()) * n
            count += n
        if self.world_size > 1:
            sums = torch.tensor([total, count], dtype=torch.float64, device=self.device)
            dist.all_reduce(sums)
            total = float(sums[0])
            count = int(sums[1])
        self.state.epoch += 1
        return {
            "loss": total / max(count, 1),
            "seconds": time.perf_counter() - start,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
        }

    def privacy(self) -> dict[str, Any] | None:
        """The privacy the fit spent (``None``: not a private fit; see ``privacy.py``)."""
        return None

    def _update_ema(self) -> None:
        # The decay warms up with the step count (as TensorFlow's ExponentialMovingAverage
        # with num_updates): a short run on little data is not averaged back to its start.
        self.state.steps += 1
        t = self.state.steps
        decay = min(self.cfg.ema_decay, (1.0 + t) / (10.0 + t))
        assert self.ema is not None
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, self.params, 1.0 - decay)

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """Within the block the network holds the averaged weights (the raw ones without EMA)."""
        if self.ema is None:
            yield
            return
        raw = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            torch._foreach_copy_(self.params, self.ema)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(self.params, raw)

    def _set_lr(self, progress: float) -> None:
        # A pure function of the position in the run, so a resumed run continues the curve.
        lr = self.cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @torch.inference_mode()
    def evaluate(self) -> dict[str, float]:
        """NDCG@10 and HR@10 over the validation cases (whole catalogue, seen items excluded)."""
        if self.validation is None:
            return {}
        val = self.validation
        self.net.eval()
        with autocast(self.device):
            table = self.net.items()
        table = table.float()
        ndcg_sum, hit_sum = 0.0, 0.0
        # Cases of similar length share a batch, which is then only as wide as its longest.
        order = np.argsort((val.windows.items != PAD).sum(axis=1), kind="stable")
        for start in range(0, len(val.targets), EVAL_BATCH):
            rows = order[start : start + EVAL_BATCH]
            batch = val.windows.take(rows).to_torch(self.device)
            with autocast(self.device):
                h = self.net.encode(table, batch)  # (B, D)
            scores = h.float() @ table.T + self.score_mask  # (B, N)
            counts = val.seen_offsets[rows + 1] - val.seen_offsets[rows]  # (B,)
            seen_rows = np.repeat(np.arange(len(rows)), counts)
            within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            seen = (
                torch.as_tensor(seen_rows, device=self.device),
                torch.as_tensor(
                    val.seen_items[val.seen_offsets[rows][seen_rows] + within], device=self.device
                ),
            )
            scores[seen] = -math.inf
            targets = torch.as_tensor(val.targets[rows], device=self.device)
            ndcg, hit = rank_metrics(scores, targets)
            ndcg_sum += float(ndcg.sum())
            hit_sum += float(hit.sum())
        n = max(len(val.targets), 1)
        return {"ndcg@10": ndcg_sum / n, "hr@10": hit_sum / n}

    def run(
        self,
        max_epochs: int,
        checkpoint_dir: Path | None = None,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
    ) -> TrainState:
        """Train until ``max_epochs`` or ``patience`` epochs without a better validation NDCG@10.

        Resumes from ``checkpoint_dir`` when it holds a checkpoint, and writes one there after
        every epoch. On return the network holds the best weights (the last ones without
        validation).

        Data-parallel, every rank resumes from the checkpoint (so ``checkpoint_dir`` must be
        readable by all of them) and only rank 0 validates, writes checkpoints, logs and calls
        ``on_epoch``; the other ranks return the last weights and rank 0's early-stopping
        state (its ``best_epoch``) without the history.
        """
        self.prepare(max_epochs)
        if checkpoint_dir is not None and (checkpoint_dir / CHECKPOINT_STATE).is_file():
            self.load_checkpoint(checkpoint_dir)
        start = time.perf_counter() - (
            self.state.history[-1]["elapsed"] if self.state.history else 0.0
        )
        while self.state.epoch < max_epochs and self.state.bad_epochs < self.cfg.patience:
            record = {"epoch": float(self.state.epoch + 1), **self.train_epoch()}
            if self.rank == 0:
                self._validate(record, start)
                if checkpoint_dir is not None:
                    self.save_checkpoint(checkpoint_dir)
                logger.info("epoch %s", " ".join(f"{k}={v:.4g}" for k, v in record.items()))
                if on_epoch is not None:
                    on_epoch(record)
            if self.world_size > 1:
                self._follow_rank0()
        if self.best_weights is not None:
            self.net.load_state_dict(self.best_weights)
        return self.state

    def prepare(self, max_epochs: int) -> None:
        """Get ready for a run of ``max_epochs`` (called first by :meth:`run`; a no-op here).

        The private trainer calibrates its noise to the cap.
        """

    def _validate(self, record: dict[str, float], start: float) -> None:
        """Add the averaged weights' validation scores to ``record``; keep them if the best."""
        with self.averaged():
            record |= self.evaluate()
            record["elapsed"] = time.perf_counter() - start
            self.state.history.append(record)
            ndcg = record.get("ndcg@10")
            if ndcg is None or ndcg > self.state.best_ndcg:
                self.state.best_ndcg = ndcg if ndcg is not None else -1.0
                self.state.best_epoch = self.state.epoch
                self.state.bad_epochs = 0
                self.best_weights = {
                    k: v.detach().clone() for k, v in self.net.state_dict().items()
                }
            else:
                self.state.bad_epochs += 1

    def _follow_rank0(self) -> None:
        # Rank 0 alone validates, so its early-stopping state decides for all: every rank
        # leaves the loop after the same epoch (a rank stopping alone would leave the others
        # waiting in an all-reduce) and knows the best epoch, which a refit trains for.
        decision = torch.tensor(
            [self.state.bad_epochs, self.state.best_epoch], dtype=torch.int64, device=self.device
        )
        dist.broadcast(decision, src=0)
        self.state.bad_epochs, self.state.best_epoch = (int(v) for v in decision.tolist())

    # -- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, directory: Path) -> None:
        """Write the resumable state to ``directory`` (weights first, the JSON marks completion)."""
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {f"net.{k}": v.contiguous() for k, v in self.net.state_dict().items()}
        if self.best_weights is not None:
            tensors |= {f"best.{k}": v.contiguous() for k, v in self.best_weights.items()}
        opt = self.optimizer.state_dict()
        for pid, slots in opt["state"].items():
            for slot, value in slots.items():
                tensors[f"opt.{pid}.{slot}"] = torch.as_tensor(value).reshape(-1).contiguous()
        for i, avg in enumerate(self.ema or []):
            tensors[f"ema.{i}"] = avg
        tensors["rng.torch"] = torch.get_rng_state()
        tmp = directory / f".{CHECKPOINT_WEIGHTS}.tmp"
        save_file({k: v.detach().cpu() for k, v in tensors.items()}, str(tmp))
        os.replace(tmp, directory / CHECKPOINT_WEIGHTS)
        meta = {
            "state": self.state.__dict__,
            "param_groups": opt["param_groups"],
            "opt_shapes": {
                f"{pid}.{slot}": list(torch.as_tensor(v).shape)
                for pid, slots in opt["state"].items()
                for slot, v in slots.items()
            },
            "rng_numpy": self.rng.bit_generator.state,
        }
        tmp_json = directory / f".{CHECKPOINT_STATE}.tmp"
        tmp_json.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp_json, directory / CHECKPOINT_STATE)

    def load_checkpoint(self, directory: Path) -> None:
        """Restore what :meth:`save_checkpoint` wrote.

        Raises:
            ArtifactError: When the checkpoint is unreadable or belongs to another model shape.
        """
        try:
            meta = json.loads((directory / CHECKPOINT_STATE).read_text(encoding="utf-8"))
            tensors = load_file(str(directory / CHECKPOINT_WEIGHTS))
            net = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
            self.net.load_state_dict(net)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ArtifactError(f"{directory}: cannot resume from checkpoint ({exc})") from exc
        best = {k[5:]: v.to(self.device) for k, v in tensors.items() if k.startswith("best.")}
        self.best_weights = best or None
        if self.ema is not None:
            if "ema.0" not in tensors:
                raise ArtifactError(f"{directory}: the checkpoint holds no averaged weights")
            self.ema = [tensors[f"ema.{i}"].to(self.device) for i in range(len(self.ema))]
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, shape in meta["opt_shapes"].items():
            pid, slot = key.split(".", 1)
            value = tensors[f"opt.{key}"].reshape(shape)
            opt_state.setdefault(int(pid), {})[slot] = value.to(
                self.device if slot != "step" else "cpu"
            )
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
        if self.rank == 0:
            # Rank 0's dropout stream; the other ranks keep their own (seeded with their rank).
            torch.set_rng_state(tensors["rng.torch"])
        self.rng.bit_generator.state = meta["rng_numpy"]
        self.state = TrainState(**meta["state"])
