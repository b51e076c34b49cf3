"""DP-SGD training (issue #20): per-shopper gradients, clipping, accounting, DP off = plain."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from shoprec.errors import ConfigError
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec, SASRecConfig
from shoprec.models.sasrec.config import DP_DEFAULTS
from shoprec.models.sasrec.data import training_windows
from shoprec.models.sasrec.net import SASRecNet
from shoprec.models.sasrec.privacy import PrivateTrainer
from shoprec.models.sasrec.train import Trainer

from .planted import TINY, chain_shop

pytest.importorskip("opacus")

PRIVATE = TINY.model_copy(
    update={"dp_epsilon": 4.0, "max_epochs": 3, "patience": 3, "batch_size": 64, "ema_decay": 0.0}
)


def _trainer(cfg: SASRecConfig, seed: int = 0) -> PrivateTrainer:
    data = chain_shop(np.random.default_rng(seed), n_users=60)
    rows = training_windows(data.sequences, cfg.max_len, cfg.time_gap_buckets)
    text_dim = 16 if cfg.uses_text else 0
    torch.manual_seed(seed)
    net = SASRecNet(len(data.item_vocab), text_dim, cfg)
    with torch.no_grad():
        net.items.text.copy_(torch.randn(net.items.n_items, text_dim))
    return PrivateTrainer(net, cfg, rows, torch.device("cpu"), seed=seed)


@pytest.mark.parametrize("item_repr", ["text", "id", "fused"])
def test_per_shopper_gradients_sum_to_the_batch_gradient(item_repr: str) -> None:
    """The factorised per-row loss (no table per row) is the trainer's loss, row by row."""
    cfg = PRIVATE.model_copy(update={"item_repr": item_repr, "id_dropout": 0.0, "id_dim": 16})
    trainer = _trainer(cfg)
    trainer.net.train()
    chosen = np.arange(len(trainer.rows))
    grads, loss, positions = trainer.per_sample_grads(chosen)
    assert all(len(g) == len(chosen) for g in grads)

    batch = trainer.rows.take(chosen).to_torch(torch.device("cpu"))
    table, h = trainer.forward(batch)
    sel = batch["targets"] >= 0
    plain = trainer._loss(table, h[sel], batch["targets"][sel]) * int(sel.sum())
    plain.backward()  # type: ignore[no-untyped-call]
    assert loss == pytest.approx(float(plain.detach()), rel=1e-5)
    assert positions == int(sel.sum())
    for p, g in zip(trainer.params, grads, strict=True):
        assert p.grad is not None
        torch.testing.assert_close(g.sum(0), p.grad, rtol=1e-3, atol=1e-4)


def _clipped_sum(trainer: PrivateTrainer, chosen: np.ndarray) -> list[torch.Tensor]:
    """What DPOptimizer accumulates for ``chosen`` (clipped, summed, before noise)."""
    grads, _, _ = trainer.per_sample_grads(chosen)
    for p, g in zip(trainer.params, grads, strict=True):
        p.grad_sample = g  # type: ignore[attr-defined]
    trainer.dp_optimizer.clip_and_accumulate()
    out = [p.summed_grad.clone() for p in trainer.params]  # type: ignore[attr-defined]
    trainer.dp_optimizer.zero_grad(set_to_none=True)
    return out


def _norm(tensors: list[torch.Tensor]) -> float:
    return float(torch.sqrt(torch.stack([(t.double() ** 2).sum() for t in tensors]).sum()))


def test_clipping_bounds_every_shoppers_gradient_even_a_planted_huge_one() -> None:
    cfg = PRIVATE.model_copy(update={"item_repr": "text", "max_grad_norm": 0.5})
    trainer = _trainer(cfg)
    trainer.net.train()
    # Plant: one item's text vector 10^4 times larger; the shopper who saw it first has a
    # gradient (through the text projection) thousands of times larger than the bound.
    planted_item = int(trainer.rows.items[0, -1])
    with torch.no_grad():
        trainer.net.items.text[planted_item] *= 1e4
    has_it = (trainer.rows.items == planted_item).any(axis=1)
    planted = int(np.flatnonzero(has_it)[0])
    others = np.flatnonzero(~has_it)[:20]
    grads, _, _ = trainer.per_sample_grads(np.asarray([planted]))
    assert _norm([g[0] for g in grads]) > 1000 * cfg.max_grad_norm

    alone = _clipped_sum(trainer, np.asarray([planted]))
    assert _norm(alone) <= cfg.max_grad_norm * (1 + 1e-5)
    # Each of the others is clipped too, so k rows move the sum by at most k bounds ...
    without = _clipped_sum(trainer, others)
    assert _norm(without) <= len(others) * cfg.max_grad_norm * (1 + 1e-5)
    # ... and adding the planted shopper moves it by at most one (the sensitivity DP needs).
    with_it = _clipped_sum(trainer, np.sort(np.append(others, planted)))
    diff = [a - b for a, b in zip(with_it, without, strict=True)]
    assert _norm(diff) <= cfg.max_grad_norm * (1 + 1e-4)
    assert _norm(diff) > 0.9 * cfg.max_grad_norm  # it was clipped to the bound, not dropped


@pytest.mark.parametrize("target", [1.0, 8.0])
def test_the_accountant_spends_the_configured_epsilon_in_the_epoch_cap(target: float) -> None:
    cfg = PRIVATE.model_copy(update={"item_repr": "text", "dp_epsilon": target})
    data = chain_shop(np.random.default_rng(0), n_users=60)
    model = SASRec(cfg)
    model.fit(data, FitOptions(seed=0, max_epochs=2))
    privacy = model.privacy
    assert privacy is not None
    n_rows = 60  # one training row per shopper
    assert privacy["delta"] == pytest.approx(1 / n_rows)
    assert privacy["steps"] == 2 * math.ceil(n_rows / cfg.batch_size)
    assert privacy["noise_multiplier"] > 0
    # Calibration searches to within 0.01 below the target; the PRV estimate adds its own.
    assert privacy["epsilon"] == pytest.approx(target, abs=0.05)
    assert privacy["epsilon"] <= target + 0.01
    assert model.history[-1]["epsilon"] == pytest.approx(privacy["epsilon"])


def test_early_stopping_spends_less_than_the_budget() -> None:
    cfg = PRIVATE.model_copy(update={"item_repr": "text", "dp_epsilon": 2.0})
    data = chain_shop(np.random.default_rng(0), n_users=60)
    trainer = PrivateTrainer(
        SASRecNet(len(data.item_vocab), 0, cfg.model_copy(update={"item_repr": "id"})),
        cfg.model_copy(update={"item_repr": "id"}),
        training_windows(data.sequences, cfg.max_len, cfg.time_gap_buckets),
        torch.device("cpu"),
        seed=0,
    )
    trainer.calibrate(epochs=4)
    trainer.train_epoch()
    assert 0 < trainer.epsilon() < 2.0 * 0.9


def test_infinite_epsilon_trains_the_plain_model_bit_for_bit() -> None:
    data = chain_shop(np.random.default_rng(0), n_users=60)
    cfg = TINY.model_copy(update={"max_epochs": 2})
    off_cfg = SASRecConfig.model_validate(cfg.model_dump() | {"dp_epsilon": math.inf})
    plain, off = SASRec(cfg), SASRec(off_cfg)
    assert off.config.dp_epsilon is None and not off.config.private
    for model in (plain, off):
        model.fit(data, FitOptions(seed=3, max_epochs=2))
    assert off.privacy is None
    ours, theirs = off._arrays(), plain._arrays()
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_a_private_fit_starts_from_the_private_recipe_unless_told_otherwise() -> None:
    plain = SASRecConfig()
    private = SASRecConfig(dp_epsilon=8.0)
    for name, value in DP_DEFAULTS.items():
        assert getattr(private, name) == value != getattr(plain, name), name
    # What the caller gives wins; an infinite epsilon is no privacy, so no recipe either.
    assert SASRecConfig(dp_epsilon=8.0, batch_size=64, dropout=0.3).batch_size == 64
    assert SASRecConfig(dp_epsilon=8.0, dropout=0.3).dropout == 0.3
    assert SASRecConfig(dp_epsilon=math.inf) == plain
    # A stored private config loads as it was saved.
    stored = SASRecConfig(dp_epsilon=8.0, lr=0.003)
    assert SASRecConfig.model_validate(stored.model_dump()) == stored


def test_a_private_artifact_keeps_what_it_spent(tmp_path: Path) -> None:
    data = chain_shop(np.random.default_rng(0), n_users=60)
    model = SASRec(PRIVATE.model_copy(update={"item_repr": "text"}))
    model.fit(data, FitOptions(seed=0, max_epochs=1))
    model.save(tmp_path / "m")
    loaded = SASRec.load(tmp_path / "m")
    assert loaded.privacy == model.privacy
    assert loaded.config.dp_epsilon == PRIVATE.dp_epsilon


def test_a_private_fit_resumes_its_accounting_from_a_checkpoint(tmp_path: Path) -> None:
    cfg = PRIVATE.model_copy(update={"item_repr": "text"})
    first = _trainer(cfg)
    first.run(2, tmp_path)
    resumed = _trainer(cfg)
    resumed.calibrate(2)
    resumed.load_checkpoint(tmp_path)
    assert resumed.steps == first.steps
    assert resumed.epsilon() == pytest.approx(first.epsilon())


@pytest.mark.parametrize(
    ("update", "option"),
    [
        ({"item_repr": "text", "text_hidden": 32}, "text_hidden"),
        ({"item_repr": "fused", "id_head_items": 3}, "id_head_items"),
        ({"item_repr": "text", "loss": "sampled"}, "sampled"),
    ],
)
def test_unsupported_private_configurations_are_refused(
    update: dict[str, object], option: str
) -> None:
    with pytest.raises(ConfigError, match=option):
        _trainer(PRIVATE.model_copy(update=update))


def test_a_private_trainer_is_a_trainer() -> None:
    assert issubclass(PrivateTrainer, Trainer)
    assert Trainer.privacy(object.__new__(Trainer)) is None  # type: ignore[arg-type]
