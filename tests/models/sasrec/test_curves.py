"""Training curves (issue #20): TensorBoard scalars per epoch, and the history in the artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.data import leave_one_out
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec
from shoprec.models.sasrec.curves import TAGS, curve_writer

from .planted import TINY, chain_shop

pytest.importorskip("tensorboard")


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar written under ``log_dir``: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_the_writer_writes_one_point_per_epoch_and_tag(tmp_path: Path) -> None:
    with curve_writer(tmp_path) as write:
        write({"epoch": 1.0, "loss": 3.0, "seconds": 2.0, "lr": 0.1, "ndcg@10": 0.2})
        write({"epoch": 2.0, "loss": 2.5, "seconds": 2.5, "lr": 0.05, "ndcg@10": 0.3})
    scalars = _scalars(tmp_path)
    assert scalars["train/loss"] == [(1, 3.0), (2, 2.5)]
    assert [value for _, value in scalars["train/lr"]] == pytest.approx([0.1, 0.05])
    assert scalars["validation/ndcg@10"][1][0] == 2
    assert scalars["validation/ndcg@10"][1][1] == pytest.approx(0.3)
    assert [step for step, _ in scalars["train/epoch_seconds"]] == [1, 2]


def test_no_folder_writes_nothing(tmp_path: Path) -> None:
    with curve_writer(None) as write:
        write({"epoch": 1.0, "loss": 1.0})
    assert not any(tmp_path.iterdir())


def test_a_fit_logs_loss_validation_learning_rate_and_epoch_time(tmp_path: Path) -> None:
    data = chain_shop(np.random.default_rng(0), n_users=60)
    split = leave_one_out(data)
    model = SASRec(TINY.model_copy(update={"max_epochs": 3, "lr_decay_epochs": 3}))
    model.fit(split.train, FitOptions(seed=0, validation=split.validation, log_dir=tmp_path))
    scalars = _scalars(tmp_path)
    wanted = {TAGS[k] for k in ("loss", "lr", "seconds", "ndcg@10", "hr@10")}
    assert wanted <= scalars.keys()
    assert [step for step, _ in scalars["train/loss"]] == [1, 2, 3]
    # The cosine schedule, as the optimiser had it at the end of each epoch.
    lrs = [value for _, value in scalars["train/lr"]]
    assert lrs[0] > lrs[1] > lrs[2] >= 0.0
    # The same records are the model's history (kept in its artifact).
    assert [r["loss"] for r in model.history] == pytest.approx(
        [value for _, value in scalars["train/loss"]]
    )
    assert {"loss", "seconds", "lr", "ndcg@10"} <= model.history[0].keys()
