"""Derived SASRec networks (issues #7, #20): magnitude pruning and distillation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from shoprec.data import Interactions, leave_one_out
from shoprec.errors import ConfigError
from shoprec.evaluation import evaluate
from shoprec.models import FitOptions, load_model
from shoprec.models.sasrec import SASRec, SASRecDistilled, SASRecPruned
from shoprec.models.sasrec.derived import init_student, pruned_sparsity
from shoprec.models.sasrec.net import SASRecNet

from .planted import FIT, TINY, chain_shop, chain_top1


@pytest.mark.parametrize("amount", [0.3, 0.7])
def test_pruning_reaches_the_configured_sparsity_and_keeps_the_chain(
    teacher: SASRec, shop: Interactions, tmp_path: Path, amount: float
) -> None:
    before = pruned_sparsity(teacher.network)  # type: ignore[arg-type]
    assert max(before.values()) < 0.05
    pruned = SASRecPruned.derive(teacher, shop, FIT, prune_amount=amount, prune_epochs=2)
    assert len(pruned.history) == 2  # fine-tuned
    pruned.save(tmp_path / "p")
    loaded = load_model(tmp_path / "p")
    assert isinstance(loaded, SASRecPruned)
    for name, share in loaded.sparsity().items():
        n = dict(loaded.network.named_modules())[name].weight.numel()  # type: ignore[union-attr]
        assert share == pytest.approx(round(amount * n) / n), name
    assert loaded.nonzero_parameter_count() < loaded.parameter_count()
    for k in range(6):
        assert chain_top1(loaded, k) == f"c{k}"


def test_training_methods_need_the_data(teacher: SASRec) -> None:
    with pytest.raises(ConfigError, match="training data"):
        SASRecPruned.derive(teacher, None, FIT, prune_epochs=1)
    with pytest.raises(ConfigError, match="training data"):
        SASRecDistilled.derive(teacher, None, FIT)


def test_distillation_data_must_be_the_models_catalogue(teacher: SASRec) -> None:
    other = chain_shop(np.random.default_rng(0), n_chains=7)
    with pytest.raises(ConfigError, match="catalogue"):
        SASRecDistilled.derive(teacher, other, FIT)


def cluster_shop(n_clusters: int = 12, size: int = 6, n_users: int = 150) -> Interactions:
    """Each shopper views 4 distinct items of one cluster in random order: any unseen item of
    the cluster is equally likely next. One-hot labels show one of them per row; a teacher's
    softened scores show them all."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(n_users):
        g = u % n_clusters
        for t, j in enumerate(rng.choice(size, size=4, replace=False)):
            rows.append((f"u{u}", f"g{g}i{j}", float(t)))
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    events = events.with_columns(pl.lit("view").alias("event_type"))
    ids = [f"g{g}i{j}" for g in range(n_clusters) for j in range(size)]
    titles = [f"item {i}" for i in range(len(ids))]
    return Interactions(events, pl.DataFrame({"item_id": ids, "title": titles}))


def test_distillation_beats_the_student_trained_alone() -> None:
    split = leave_one_out(cluster_shop())
    teacher = SASRec(TINY.model_copy(update={"item_repr": "id", "max_epochs": 30}))
    teacher.fit(split.test_train, FIT)
    assert evaluate(teacher, split.test, ks=(5,))["HR@5"] > 0.7
    student = {"student_hidden": 8, "student_layers": 1, "student_epochs": 4, "temperature": 3.0}
    hr: dict[float, list[float]] = {0.0: [], 0.9: []}
    for weight, scores in hr.items():
        for seed in (0, 1):
            model = SASRecDistilled.derive(
                teacher, split.test_train, FitOptions(seed=seed, device="cpu"),
                distill_weight=weight, **student,
            )  # fmt: skip
            scores.append(evaluate(model, split.test, ks=(5,))["HR@5"])
    # Same student, same data, same epochs: only the teacher's soft scores differ.
    assert np.mean(hr[0.9]) > np.mean(hr[0.0]) + 0.02, hr
    assert model.parameter_count() < 0.25 * teacher.parameter_count()


def test_low_rank_student_starts_from_the_teachers_best_rank_r_item_table(teacher: SASRec) -> None:
    t_net = teacher.network
    assert t_net is not None
    rank = 4
    student = SASRecNet(t_net.items.n_items, t_net.items.text.shape[1], teacher.config.model_copy(
        update={"id_dim": rank}
    )).eval()  # fmt: skip
    init_student(student, t_net)
    ids = t_net.items.id_emb.detach()  # type: ignore[union-attr]
    sv = torch.linalg.svdvals(ids)
    with torch.no_grad():
        gap = torch.linalg.norm(student.items() - t_net.items())
        # Only the ID part differs, by exactly the SVD tail (Eckart-Young); the rest is copied.
        torch.testing.assert_close(gap, sv[rank:].square().sum().sqrt(), rtol=1e-4, atol=1e-5)
        qkv = student.blocks[0].attn.qkv.weight
        torch.testing.assert_close(qkv, t_net.blocks[0].attn.qkv.weight)
    n, d = ids.shape
    assert sum(p.numel() for p in student.parameters()) == (
        sum(p.numel() for p in t_net.parameters()) - n * d + n * rank + rank * d
    )
    # Wider than the teacher's rank (more columns than items): the table is reproduced.
    wide = SASRecNet(n, t_net.items.text.shape[1], teacher.config.model_copy(
        update={"id_dim": n + 2}
    )).eval()  # fmt: skip
    init_student(wide, t_net)
    with torch.no_grad():
        torch.testing.assert_close(wide.items(), t_net.items(), rtol=1e-4, atol=1e-4)


def test_mlp_text_student_starts_closer_to_the_teachers_item_table(teacher: SASRec) -> None:
    t_net = teacher.network
    assert t_net is not None

    def gap(**update: int) -> float:
        cfg = teacher.config.model_copy(update=update)
        student = SASRecNet(t_net.items.n_items, t_net.items.text.shape[1], cfg).eval()
        init_student(student, t_net, text_steps=300)
        with torch.no_grad():
            return float(torch.linalg.norm(student.items() - t_net.items()))

    # The MLP is regressed onto the teacher's vectors, the rank-2 ID table takes what is left.
    assert gap(id_dim=2, text_hidden=64) < 0.5 * gap(id_dim=2)
    # Full-width head vectors on every item take all the rank-2 table leaves.
    n = t_net.items.n_items
    assert gap(id_dim=2, id_head_items=n) < 1e-4 < gap(id_dim=2)


def test_distilled_artifact_loads_as_the_student(
    teacher: SASRec, shop: Interactions, tmp_path: Path
) -> None:
    student = SASRecDistilled.derive(
        teacher, shop, FIT, student_hidden=16, student_layers=1, student_epochs=8
    )
    assert student.network.items.hidden == 16  # type: ignore[union-attr]
    student.save(tmp_path / "d")
    loaded = load_model(tmp_path / "d")
    assert isinstance(loaded, SASRecDistilled)
    np.testing.assert_array_equal(
        loaded.score_batch(shop.sequences), student.score_batch(shop.sequences)
    )
    assert loaded.parameter_count() < teacher.parameter_count() / 2
    assert chain_top1(loaded, 4) == "c4"


def test_student_with_head_vectors_on_the_most_frequent_items_round_trips(
    teacher: SASRec, shop: Interactions, tmp_path: Path
) -> None:
    student = SASRecDistilled.derive(
        teacher, shop, FIT, student_id_dim=2, student_head_share=0.25, student_head_dim=8,
        student_epochs=2,
    )  # fmt: skip
    n = len(student.item_vocab)
    rows = student.network.items.head_rows.numpy()  # type: ignore[union-attr]
    assert len(rows) == round(0.25 * n)
    counts = np.bincount(shop.sequences.items, minlength=n)
    assert counts[rows].min() >= np.sort(counts)[::-1][len(rows) - 1]
    student.save(tmp_path / "d")
    loaded = load_model(tmp_path / "d")
    np.testing.assert_array_equal(
        loaded.score_batch(shop.sequences), student.score_batch(shop.sequences)
    )
    assert student.parameter_count() < teacher.parameter_count()
