"""Derived SASRec networks: magnitude pruning, and distillation into a smaller student.

:func:`prune` and :func:`distill` turn a fitted :class:`SASRec` (the teacher) into an ordinary
SASRec network, registered as ``sasrec-pruned`` / ``sasrec-distilled`` with the teacher's config
plus the recipe's (:class:`PrunedConfig`, :class:`DistilledConfig`). It scores, explains and
learns new items as any SASRec; its ``fit`` fits the teacher first (registry, contract tests).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from pydantic import Field
from torch import Tensor, nn
from torch.nn.utils import prune as torch_prune

from shoprec.data import IdVocab, Interactions
from shoprec.errors import ConfigError
from shoprec.models.config import FitOptions

from .config import SASRecConfig
from .data import training_windows
from .net import SASRecNet
from .scorer import SASRec, base_config, fit_teacher
from .train import Trainer, autocast, resolve_device


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
    on Beauty's validation target); it starts from the teacher (:func:`init_student`).
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

    student_epochs: int | None = Field(48, ge=1)
    """Student training epochs (``None``: ``FitOptions.max_epochs``, else ``max_epochs``). The
    default student starts from the teacher and fine-tunes; 48 epochs chosen on the Beauty
    validation target over 6, 12 and 24 (docs/benchmarks.md, "Compression")."""

    student_lr_decay: bool = True
    """Cosine-decay the student's learning rate to 0 over its epochs (else constant ``lr``): the
    last epoch is then the best one, so a fixed epoch count needs no validation target."""

    def student(self, n_head: int = 0) -> SASRecConfig:
        """The student's own SASRec config: the teacher's with the student's shape.

        ``n_head``: its number of head ID vectors (``student_head_share`` of the catalogue when
        derived; the stored table's size when loaded).
        """
        shape = {
            "hidden": self.student_hidden,
            "n_layers": self.student_layers,
            "n_heads": self.student_heads,
            "text_hidden": self.student_text_hidden,
        }
        update: dict[str, Any] = {k: v for k, v in shape.items() if v is not None}
        # The student's recipe (a short cosine-decayed fine-tune, measured in
        # docs/benchmarks.md) uses neither the teacher's ID dropout nor its weight average,
        # both chosen for a long run at a constant rate.
        update |= {"id_dim": self.student_id_dim, "id_head_items": n_head, "id_dropout": 0.0}
        update |= {"id_head_dim": self.student_head_dim, "ema_decay": 0.0}
        return SASRecConfig.model_validate(base_config(self).model_dump() | update)


def _training_data(teacher: SASRec, data: Interactions | None, method: str) -> Interactions:
    if data is None:
        raise ConfigError(f"{method} needs the training data (shoprec optimize --data DIR)")
    if data.item_vocab.ids != teacher.item_vocab.ids:
        raise ConfigError(
            f"{method}: the data's catalogue ({data.n_items} items) is not the model's "
            f"({len(teacher.item_vocab)} items, same order): use the data it was trained on"
        )
    return data


class _DerivedSASRec(SASRec):
    """A SASRec network made from a fitted teacher by ``derive``."""

    derive: ClassVar[Callable[..., SASRec]]

    def fit(self, data: Interactions, opts: FitOptions = FitOptions(), **_: Any) -> None:  # noqa: B008
        """Fit the teacher the config describes on ``data``, then derive this model from it."""
        teacher = fit_teacher(self.config, data, opts)
        self.adopt(type(self).derive(teacher, data, opts, **self.config.model_dump()))


# -- pruning ---------------------------------------------------------------------------------
def prune(
    teacher: SASRec,
    data: Interactions | None = None,
    opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
    **settings: Any,
) -> SASRecPruned:
    """``teacher`` with the smallest ``prune_amount`` of each linear layer's weights zeroed.

    ``torch.nn.utils.prune.l1_unstructured`` per layer (attention, feed-forward, text
    projection); the masks stay attached for ``prune_epochs`` of fine-tuning on ``data`` with
    the plain :class:`Trainer`, then are folded into the weights. ``settings``: the
    :class:`PrunedConfig` fields.
    """
    model = SASRecPruned(teacher.derived_config(PrunedConfig, settings))
    cfg = model.config
    net = copy.deepcopy(teacher.network)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    for module in linears:
        torch_prune.l1_unstructured(module, name="weight", amount=cfg.prune_amount)  # type: ignore[no-untyped-call]
    history: list[dict[str, float]] = []
    if cfg.prune_epochs > 0:
        train = _training_data(teacher, data, "prune")
        device = resolve_device(opts.device)
        rows = training_windows(train.sequences, cfg.max_len, cfg.time_gap_buckets)
        validation = teacher.validation_cases(opts.validation)
        trainer = Trainer(net.to(device), cfg, rows, device, opts.seed, validation)
        history = trainer.run(cfg.prune_epochs).history
    for module in linears:
        torch_prune.remove(module, "weight")  # type: ignore[no-untyped-call]
    model.set_network(net, IdVocab(teacher.item_vocab.ids), history, len(history))
    return model


class SASRecPruned(_DerivedSASRec):
    """SASRec with magnitude-pruned linear layers, fine-tuned with the masks held (`prune`)."""

    key: ClassVar[str] = "sasrec-pruned"
    config_cls: ClassVar[type[PrunedConfig]] = PrunedConfig
    config: PrunedConfig
    derive = staticmethod(prune)

    def sparsity(self) -> dict[str, float]:
        """Share of exact zeros in each linear layer's weight, by module name."""
        return pruned_sparsity(self.network)

    def nonzero_parameter_count(self) -> int:
        """Parameters that are not exactly zero."""
        return sum(int((p != 0).sum()) for p in self.network.parameters())


def pruned_sparsity(net: nn.Module) -> dict[str, float]:
    """Share of exact zeros in each linear layer's weight of ``net``, by module name."""
    return {
        name: float((m.weight == 0).float().mean())
        for name, m in net.named_modules()
        if isinstance(m, nn.Linear)
    }


# -- distillation ----------------------------------------------------------------------------
def distill(
    teacher: SASRec,
    data: Interactions | None = None,
    opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
    **settings: Any,
) -> SASRecDistilled:
    """A smaller student trained on ``teacher``'s softened scores and the true next items.

    ``settings``: the :class:`DistilledConfig` fields (the student's shape and the loss).
    """
    model = SASRecDistilled(teacher.derived_config(DistilledConfig, settings))
    cfg = model.config
    train = _training_data(teacher, data, "distill")
    student_cfg = cfg.student(round(cfg.student_head_share * len(teacher.item_vocab)))
    teacher_net = teacher.network
    torch.manual_seed(opts.seed)
    net = SASRecNet(teacher_net.items.n_items, teacher_net.items.text.shape[1], student_cfg)
    net.items.choose_head(np.bincount(train.sequences.items, minlength=net.items.n_items))
    init_student(net, teacher_net)
    device = resolve_device(opts.device)
    epochs = cfg.student_epochs or opts.max_epochs or cfg.max_epochs
    trainer = DistillTrainer(
        net.to(device),
        Distillation(copy.deepcopy(teacher_net), cfg.temperature, cfg.distill_weight),
        student_cfg,
        training_windows(train.sequences, cfg.max_len, cfg.time_gap_buckets),
        device,
        opts.seed,
        teacher.validation_cases(opts.validation),
        decay_epochs=epochs if cfg.student_lr_decay else None,
    )
    state = trainer.run(epochs)
    model.set_network(net, IdVocab(teacher.item_vocab.ids), state.history, state.best_epoch)
    return model


class SASRecDistilled(_DerivedSASRec):
    """A student SASRec distilled from a teacher (:func:`distill`); its network is the student's."""

    key: ClassVar[str] = "sasrec-distilled"
    config_cls: ClassVar[type[DistilledConfig]] = DistilledConfig
    config: DistilledConfig
    derive = staticmethod(distill)

    def _network_config(self, n_head: int) -> SASRecConfig:
        return self.config.student(n_head)  # the stored artifact's shape


def init_student(student: SASRecNet, teacher: SASRecNet, text_steps: int = 2000) -> None:
    """Start ``student`` from whatever of ``teacher`` fits it.

    Tensors of the same name and shape are copied (at the teacher's width: the Transformer,
    positions, types, a linear text projection; the text vectors always). At the teacher's width
    the item table is then fit to the teacher's item vectors: an MLP text projection is
    regressed onto them, a narrower ID table takes the truncated SVD of what the text part
    leaves (the best rank-``r`` approximation, split evenly with its lifting matrix), head ID
    vectors (``head_rows`` chosen beforehand) the same of what is left on their rows.
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
        optimizer = torch.optim.Adam(proj.parameters(), lr=3e-3)
        text, fit_to = s_items.text[known], target[known]
        for _ in range(text_steps):  # squared error of proj(text) to the teacher's vectors
            rows = torch.randint(0, len(text), (min(2048, len(text)),))
            loss = (proj(text[rows]) - fit_to[rows]).pow(2).sum(1).mean()
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
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


@dataclass(frozen=True)
class Distillation:
    """What a student learns from besides the next items: a frozen teacher's softened scores.

    Attributes:
        teacher: The teacher's network.
        temperature: Softening temperature ``T`` of teacher and student scores.
        weight: Weight ``w`` of the distillation term (``1 - w``: the true next items).
    """

    teacher: SASRecNet
    temperature: float = 2.0
    weight: float = 0.25


class DistillTrainer(Trainer):
    """Trains a student on the true next items plus the teacher's softened scores.

    Loss per position: ``(1 - w) * CE(student, target) + w * T^2 * CE(softmax(teacher / T),
    student / T)`` over the items known in training (Hinton et al. 2015). Validation, early
    stopping and checkpoints are the plain :class:`Trainer`'s, whose arguments follow
    ``distillation``.
    """

    def __init__(
        self, net: SASRecNet, distillation: Distillation, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(net, *args, **kwargs)
        self.distillation = distillation
        self.teacher = distillation.teacher.to(self.device).eval()
        with torch.no_grad():
            self.t_table = self.teacher.items()  # (N, Dt): the teacher is frozen

    def batch_loss(self, batch: dict[str, Tensor], sel: Tensor, table: Tensor, h: Tensor) -> Tensor:
        """The next-item loss blended with the teacher's softened scores (see the class)."""
        cols, temp = self.known_cols, self.distillation.temperature
        with torch.no_grad(), autocast(self.device):
            t_h = self.teacher(self.t_table, batch)[sel]  # (M, Dt)
            soft = F.softmax((t_h @ self.t_table[cols].T).float() / temp, dim=1)  # (M, K)
        hard = self._loss(table, h, batch["targets"][sel])
        s_logits = (h @ table[cols].T).float() / temp  # (M, K)
        distill = -(soft * F.log_softmax(s_logits, dim=1)).sum(1).mean() * temp**2
        return (1.0 - self.distillation.weight) * hard + self.distillation.weight * distill
