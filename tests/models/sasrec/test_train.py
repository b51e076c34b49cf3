"""Training loop: rank metrics oracle, resumable checkpoints, sampled softmax, warm start."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from shoprec.data import Interactions, leave_one_out
from shoprec.errors import ArtifactError
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec
from shoprec.models.sasrec.data import training_windows
from shoprec.models.sasrec.net import SASRecNet
from shoprec.models.sasrec.train import (
    CHECKPOINT_STATE,
    Trainer,
    compiled_softmax_ce,
    rank_metrics,
    resolve_device,
    softmax_ce,
)
from shoprec.types import Query

from .planted import TINY, chain_shop


def test_rank_metrics_match_hand_computed_values() -> None:
    scores = torch.tensor(
        [
            [0.9, 0.5, 0.1, 0.0],  # target 0 ranked first
            [0.9, 0.5, 0.1, 0.0],  # target 2 ranked third: ndcg = 1 / log2(4)
            [0.9, -math.inf, 0.1, 0.0],  # target excluded: a miss
        ]
    )
    ndcg, hit = rank_metrics(scores, torch.tensor([0, 2, 1]), k=3)
    torch.testing.assert_close(ndcg, torch.tensor([1.0, 0.5, 0.0]))
    torch.testing.assert_close(hit, torch.tensor([1.0, 1.0, 0.0]))
    ndcg, hit = rank_metrics(scores, torch.tensor([0, 2, 1]), k=2)
    torch.testing.assert_close(hit, torch.tensor([1.0, 0.0, 0.0]))


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_the_compiled_loss_matches_the_eager_one_in_value_and_gradient() -> None:
    gen = torch.Generator().manual_seed(0)
    compiled = compiled_softmax_ce("cpu")
    for m, n in ((37, 101), (5, 7)):  # two shapes: one compiled graph with dynamic sizes
        h = torch.randn(m, 16, generator=gen, requires_grad=True)
        table = torch.randn(n, 16, generator=gen, requires_grad=True)
        y = torch.randint(0, n, (m,), generator=gen)
        grads = []
        for fn in (softmax_ce, compiled):
            loss = fn(h, table, y)
            loss.backward()  # type: ignore[no-untyped-call]
            grads.append((float(loss.detach()), h.grad.clone(), table.grad.clone()))  # type: ignore[union-attr]
            h.grad = table.grad = None
        (eager_loss, eager_h, eager_t), (comp_loss, comp_h, comp_t) = grads
        assert comp_loss == pytest.approx(eager_loss, rel=1e-5)
        torch.testing.assert_close(comp_h, eager_h, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(comp_t, eager_t, rtol=1e-4, atol=1e-6)


def test_items_unseen_in_training_take_no_part_in_the_training_softmax() -> None:
    data = chain_shop(np.random.default_rng(0), n_users=40)
    rows = training_windows(data.sequences, TINY.max_len, TINY.time_gap_buckets)
    cfg = TINY.model_copy(update={"item_repr": "id"})
    net = SASRecNet(len(data.item_vocab), 0, cfg)
    net.items.known[::3] = 0.0  # every third item unseen
    trainer = Trainer(net, cfg, rows, torch.device("cpu"), seed=0)
    gen = torch.Generator().manual_seed(1)
    table = torch.randn(net.items.n_items, cfg.hidden, generator=gen)
    h = torch.randn(9, cfg.hidden, generator=gen)
    y = trainer.known_cols[torch.randint(0, len(trainer.known_cols), (9,), generator=gen)]
    masked = torch.nn.functional.cross_entropy(h @ table.T + trainer.logit_mask, y)
    assert float(trainer._loss(table, h, y)) == pytest.approx(float(masked), rel=1e-5)


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(
    tmp_path: Path, ema_decay: float
) -> None:
    split = leave_one_out(chain_shop(np.random.default_rng(0), n_users=60, chains_per_user=3))
    cfg = TINY.model_copy(
        update={"dropout": 0.1, "emb_dropout": 0.1, "patience": 50, "ema_decay": ema_decay}
    )

    straight = SASRec(cfg)
    straight.fit(split.train, FitOptions(seed=7, max_epochs=4, validation=split.validation))

    interrupted = SASRec(cfg)
    interrupted.fit(
        split.train,
        FitOptions(seed=7, max_epochs=2, validation=split.validation),
        checkpoint_dir=tmp_path,
    )
    assert (tmp_path / CHECKPOINT_STATE).is_file()
    resumed = SASRec(cfg)
    resumed.fit(
        split.train,
        FitOptions(seed=7, max_epochs=4, validation=split.validation),
        checkpoint_dir=tmp_path,
    )

    assert [r["ndcg@10"] for r in resumed.history] == [r["ndcg@10"] for r in straight.history]
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in straight.history]
    hist = split.validation.histories
    np.testing.assert_array_equal(resumed.score_batch(hist), straight.score_batch(hist))


def test_a_corrupt_checkpoint_is_reported(tmp_path: Path) -> None:
    data = chain_shop(np.random.default_rng(0), n_users=20)
    (tmp_path / CHECKPOINT_STATE).write_text("{}", encoding="utf-8")
    with pytest.raises(ArtifactError, match="cannot resume"):
        SASRec(TINY).fit(data, FitOptions(max_epochs=1), checkpoint_dir=tmp_path)


def test_sampled_softmax_learns_the_planted_chains() -> None:
    model = SASRec(TINY.model_copy(update={"loss": "sampled", "n_negatives": 8}))
    model.fit(chain_shop(np.random.default_rng(0)), FitOptions(seed=0))
    hits = [
        model.recommend(Query.from_items([f"a{k}", f"b{k}"]), k=1).item_ids[0] == f"c{k}"
        for k in range(6)
    ]
    assert all(hits)


def test_warm_start_keeps_known_items_and_starts_new_ones_from_text() -> None:
    old_data = chain_shop(np.random.default_rng(0), n_chains=6)
    old = SASRec(TINY)
    old.fit(old_data, FitOptions(seed=0))
    grown = chain_shop(np.random.default_rng(1), n_chains=8)  # two new chains: a6..c7
    # A learning rate too small to learn anything in one epoch: what the model knows after
    # it comes from the warm start.
    frozen = TINY.model_copy(update={"lr": 1e-7})
    new = SASRec(frozen)
    new.fit(grown, FitOptions(seed=0, max_epochs=1), warm_start=old)
    assert new.item_vocab.ids[: len(old.item_vocab)] == old.item_vocab.ids
    cold = SASRec(frozen)
    cold.fit(grown, FitOptions(seed=0, max_epochs=1))
    queries = [Query.from_items([f"a{k}", f"b{k}"]) for k in range(6)]
    warm_hits = sum(new.recommend(q, k=1).item_ids[0] == f"c{k}" for k, q in enumerate(queries))
    cold_hits = sum(cold.recommend(q, k=1).item_ids[0] == f"c{k}" for k, q in enumerate(queries))
    assert warm_hits == 6 and cold_hits <= 1
    # New items start from their text alone (zero ID rows), like never-seen items.
    assert new.network.items.id_emb is not None
    assert new.network.items.id_emb[len(old.item_vocab) :].abs().max() < 1e-4


def test_training_without_text_or_event_types_and_with_time_gaps() -> None:
    data = chain_shop(np.random.default_rng(0))
    cfg = TINY.model_copy(
        update={"item_repr": "id", "use_event_type": False, "time_gap_buckets": 8}
    )
    model = SASRec(cfg)
    model.fit(data, FitOptions(seed=0))
    net = model.network
    assert net.gap_emb is not None and net.type_emb is None
    assert model.recommend(Query.from_items(["a1", "b1"]), k=1).item_ids == ("c1",)


def test_interactions_without_titles_still_train_the_text_model() -> None:
    data = chain_shop(np.random.default_rng(0))
    bare = Interactions(data.events)  # no catalogue: empty texts, zero text vectors
    model = SASRec(TINY.model_copy(update={"item_repr": "fused"}))
    model.fit(bare, FitOptions(seed=0, max_epochs=2))
    assert model.is_fitted()


def test_cosine_decay_lowers_the_learning_rate_to_zero_over_the_run() -> None:
    data = chain_shop(np.random.default_rng(0), n_users=40)
    rows = training_windows(data.sequences, TINY.max_len, TINY.time_gap_buckets)
    net = SASRecNet(len(data.item_vocab), 0, TINY.model_copy(update={"item_repr": "id"}))
    trainer = Trainer(net, TINY, rows, torch.device("cpu"), seed=0, decay_epochs=3)
    seen: list[float] = []
    step = trainer.optimizer.step

    def recording_step(*args: object, **kwargs: object) -> None:
        seen.append(trainer.optimizer.param_groups[0]["lr"])
        step(*args, **kwargs)

    trainer.optimizer.step = recording_step  # type: ignore[method-assign]
    for _ in range(3):
        trainer.train_epoch()
    steps = len(seen)
    expected = [TINY.lr * 0.5 * (1 + math.cos(math.pi * i / steps)) for i in range(steps)]
    assert seen == pytest.approx(expected)  # from lr down towards 0, one step at a time
    assert steps >= 6


def test_with_ema_the_trained_network_holds_the_moving_average_of_its_steps() -> None:
    data = chain_shop(np.random.default_rng(0), n_users=40)
    rows = training_windows(data.sequences, TINY.max_len, TINY.time_gap_buckets)
    cfg = TINY.model_copy(update={"item_repr": "id", "ema_decay": 0.8})
    net = SASRecNet(len(data.item_vocab), 0, cfg)
    trainer = Trainer(net, cfg, rows, torch.device("cpu"), seed=0)
    expected = [p.detach().clone() for p in trainer.params]
    last_raw: list[torch.Tensor] = []
    step = trainer.optimizer.step

    def averaging_step(*args: object, **kwargs: object) -> None:
        step(*args, **kwargs)
        last_raw[:] = [p.detach().clone() for p in trainer.params]
        t = trainer.state.steps + 1
        decay = min(0.8, (1 + t) / (10 + t))  # warm-up: 0.18, 0.25, ... then 0.8
        for avg, p in zip(expected, last_raw, strict=True):
            avg.mul_(decay).add_(p, alpha=1 - decay)

    trainer.optimizer.step = averaging_step  # type: ignore[method-assign]
    trainer.run(max_epochs=2)  # no validation: the last average is kept
    for p, avg in zip(net.parameters(), expected, strict=True):
        torch.testing.assert_close(p.detach(), avg)
    assert not torch.equal(net.items.id_emb.detach(), last_raw[0])  # not the raw weights


def test_the_validation_score_is_the_served_models_ndcg_with_history_items_excluded() -> None:
    shop = chain_shop(np.random.default_rng(3), n_users=80, chains_per_user=4)
    # Drop a third of the events so that histories differ in length.
    events = shop.events.filter(np.random.default_rng(4).random(len(shop.events)) > 0.33)
    split = leave_one_out(Interactions(events, shop.items))
    assert len(np.unique(np.diff(split.validation.histories.offsets))) > 3
    model = SASRec(TINY.model_copy(update={"item_repr": "id"}))
    model.fit(split.train, FitOptions(seed=0, max_epochs=3, validation=split.validation))

    hist = split.validation.histories
    scores = torch.from_numpy(model.score_batch(hist)).nan_to_num(nan=-math.inf)
    for row in range(len(hist.offsets) - 1):
        scores[row, hist.items[hist.offsets[row] : hist.offsets[row + 1]]] = -math.inf
    ndcg, hit = rank_metrics(scores, torch.from_numpy(split.validation.targets))
    best = max(model.history, key=lambda r: r["ndcg@10"])
    assert float(ndcg.mean()) == pytest.approx(best["ndcg@10"], rel=1e-5)
    assert float(hit.mean()) == pytest.approx(best["hr@10"], rel=1e-5)
    assert 0.0 < best["ndcg@10"] < 1.0  # not every target is ranked first
