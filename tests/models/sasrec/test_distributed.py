"""Data-parallel SASRec training (issue #17): 2 gloo ranks against one process, planted shops.

The ranks are spawned processes (``launch``); each runs :func:`_fit_rank`, which reports what
its process did to a JSON file per rank, and rank 0 saves the model for the test to load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist

from shoprec.data import EvalSet, Interactions, leave_one_out
from shoprec.errors import ConfigError, ModelError
from shoprec.models import FitOptions
from shoprec.models.sasrec import RankSpec, SASRec, SASRecConfig, launch, process_group
from shoprec.models.sasrec.data import SeqBatch, training_windows
from shoprec.models.sasrec.net import SASRecNet
from shoprec.models.sasrec.train import Trainer
from shoprec.types import Query

from .planted import TINY, chain_shop


def _epoch_gradients(
    spec: RankSpec | None, rows: SeqBatch, cfg: SASRecConfig, n_items: int, out: Path
) -> None:
    """One epoch on ``rows`` (one process without ``spec``): each step's gradients and rows."""
    torch.manual_seed(0)
    net = SASRecNet(n_items, 0, cfg)
    rank, world_size = (spec.rank, spec.world_size) if spec else (0, 1)
    grads: list[np.ndarray] = []
    shares: list[int] = []

    def run() -> None:
        trainer = Trainer(net, cfg, rows, torch.device("cpu"), 0, rank=rank, world_size=world_size)
        step, batch_loss = trainer.optimizer.step, trainer.batch_loss

        def recording_step(*args: object, **kwargs: object) -> None:
            flat = [p.grad.flatten() for p in trainer.params if p.grad is not None]
            assert len(flat) == len(trainer.params)  # every parameter has a gradient
            grads.append(torch.cat(flat).numpy().copy())
            step(*args, **kwargs)

        def recording_loss(batch: dict[str, torch.Tensor], *args: Any) -> torch.Tensor:
            shares.append(len(batch["items"]))
            return batch_loss(batch, *args)

        trainer.optimizer.step = recording_step  # type: ignore[method-assign]
        trainer.batch_loss = recording_loss  # type: ignore[method-assign,assignment]
        trainer.train_epoch()

    if spec is None:
        run()
    else:
        with process_group(spec, "cpu"):
            run()
    np.savez(out / f"rank{rank}-of-{world_size}.npz", grads=np.stack(grads), shares=shares)


def test_a_data_parallel_step_has_the_gradient_of_the_whole_global_batch(tmp_path: Path) -> None:
    data = chain_shop(np.random.default_rng(0), n_users=41)
    rows = training_windows(data.sequences, TINY.max_len, TINY.time_gap_buckets)
    # Batches of 32: 32 rows, then 9. The eager loss: the compiled one is tested below.
    cfg = TINY.model_copy(update={"item_repr": "id", "compile_loss": False})
    _epoch_gradients(None, rows, cfg, data.n_items, tmp_path)
    launch(_epoch_gradients, 2, rows, cfg, data.n_items, tmp_path)

    single, rank0, rank1 = (
        np.load(tmp_path / name) for name in ("rank0-of-1.npz", "rank0-of-2.npz", "rank1-of-2.npz")
    )
    assert list(single["shares"]) == [32, 9]
    assert sorted(rank0["shares"]) == [5, 16] and sorted(rank1["shares"]) == [4, 16]
    np.testing.assert_allclose(rank0["grads"], single["grads"], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(rank1["grads"], rank0["grads"])


def _fit_rank(
    spec: RankSpec,
    data: Interactions,
    validation: EvalSet,
    cfg: SASRecConfig,
    epochs: int,
    out: Path,
) -> list[dict[str, float]]:
    """One rank: fit, count this process's text encodings, report, save the model on rank 0."""
    encoded: list[int] = []
    encode = SASRec._encode

    def counting_encode(self: SASRec, texts: Any, progress: Any) -> Any:
        encoded.append(len(texts))
        return encode(self, texts, progress)

    SASRec._encode = counting_encode  # type: ignore[method-assign] # this rank's process only
    with process_group(spec, "cpu") as device:
        model = SASRec(cfg)
        opts = FitOptions(
            seed=5,
            device=str(device),
            max_epochs=epochs,
            validation=validation,
            rank=spec.rank,
            world_size=spec.world_size,
        )
        model.fit(data, opts)
    report = {
        "encoded": encoded,
        "history": len(model.history),
        "best_epoch": model.best_epoch,
        "text": model.network.items.text.tolist(),
    }
    (out / f"rank{spec.rank}.json").write_text(json.dumps(report), encoding="utf-8")
    if spec.rank == 0:
        model.save(out / "model")
    return model.history


def _rank_reports(out: Path) -> list[dict[str, Any]]:
    return [json.loads((out / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(2)]


def test_two_ranks_with_a_global_batch_train_the_same_model_as_one_process(
    tmp_path: Path,
) -> None:
    # 97 histories in batches of 32: the last global batch has one row, so rank 1 has no
    # share of it and must still take part in the step (at weight 0).
    split = leave_one_out(chain_shop(np.random.default_rng(1), n_users=97, chains_per_user=3))
    # No dropout anywhere (the ranks draw their own masks), the compiled loss and the weight
    # average on: what data-parallel training changes is then only the order of float sums.
    cfg = TINY.model_copy(update={"item_repr": "id", "patience": 2, "ema_decay": 0.9})
    single = SASRec(cfg)
    single.fit(split.train, FitOptions(seed=5, max_epochs=6, validation=split.validation))

    history = launch(_fit_rank, 2, split.train, split.validation, cfg, 6, tmp_path)
    ranked = SASRec.load(tmp_path / "model")

    hist = split.validation.histories
    np.testing.assert_allclose(
        ranked.score_batch(hist), single.score_batch(hist), rtol=1e-4, atol=1e-4
    )
    # The loss is the mean over both ranks' target positions, as one process sums it.
    assert [r["loss"] for r in history] == pytest.approx(
        [r["loss"] for r in single.history], rel=1e-5
    )
    assert [r["ndcg@10"] for r in history] == pytest.approx(
        [r["ndcg@10"] for r in single.history], abs=1e-6
    )
    rank0, rank1 = _rank_reports(tmp_path)
    assert rank0["history"] == len(single.history) and rank1["history"] == 0  # rank 0 validates
    assert rank0["best_epoch"] == rank1["best_epoch"] == single.best_epoch
    assert rank0["encoded"] == rank1["encoded"] == []  # an ID model has no text to encode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "rank0.json", "rank1.json"]


def test_two_ranks_encode_the_titles_once_and_learn_the_planted_chains(tmp_path: Path) -> None:
    data = chain_shop(np.random.default_rng(0))
    split = leave_one_out(data)
    cfg = TINY.model_copy(update={"dropout": 0.1, "emb_dropout": 0.1, "max_epochs": 20})

    launch(_fit_rank, 2, data, split.validation, cfg, 20, tmp_path)
    model = SASRec.load(tmp_path / "model")

    hits = [
        model.recommend(Query.from_items([f"a{k}", f"b{k}"]), k=1).item_ids[0] == f"c{k}"
        for k in range(6)
    ]
    assert all(hits)
    rank0, rank1 = _rank_reports(tmp_path)
    assert rank0["encoded"] == [data.n_items] and rank1["encoded"] == []
    assert rank1["text"] == rank0["text"] and np.abs(rank0["text"]).sum() > 0


def _fail_on_rank_1(spec: RankSpec) -> None:
    with process_group(spec, "cpu"):
        if spec.rank == 1:
            raise ValueError("planted failure")
        dist.barrier()  # rank 0 waits for rank 1, which is gone


def test_a_failing_rank_is_reported_by_its_own_error() -> None:
    with pytest.raises(ModelError, match="failed on rank 1: ValueError: planted failure"):
        launch(_fail_on_rank_1, 2)


def test_fit_options_for_several_ranks_need_a_process_group() -> None:
    data = chain_shop(np.random.default_rng(0), n_users=20)
    with pytest.raises(ModelError, match="process group"):
        SASRec(TINY).fit(data, FitOptions(rank=1, world_size=2, max_epochs=1))
    with pytest.raises(ConfigError, match="rank 2 is outside a world of 2"):
        FitOptions(rank=2, world_size=2)
