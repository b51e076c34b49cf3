"""Compressed SASRec variants (issue #7): round trips, ONNX parity, pruning, distillation, int8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from shoprec.data import Interactions, UserSequences, leave_one_out
from shoprec.errors import ArtifactError, ConfigError
from shoprec.evaluation import evaluate
from shoprec.models import BaseRecommender, FitOptions, Popularity, load_model
from shoprec.models.sasrec import (
    SASRec,
    SASRecDistilled,
    SASRecHalf,
    SASRecInt8,
    SASRecOnnx,
    SASRecPruned,
)
from shoprec.models.sasrec.catalogue import Int8Catalogue, PQCatalogue
from shoprec.models.sasrec.derived import init_student, pruned_sparsity
from shoprec.models.sasrec.net import SASRecNet
from shoprec.types import Query

from .planted import TINY, chain_shop

FIT = FitOptions(seed=0, device="cpu")


@pytest.fixture(scope="module")
def shop() -> Interactions:
    return chain_shop(np.random.default_rng(0))


@pytest.fixture(scope="module")
def teacher(shop: Interactions) -> SASRec:
    torch.use_deterministic_algorithms(True)
    model = SASRec(TINY.model_copy(update={"max_epochs": 12}))
    model.fit(shop, FIT)
    return model


def _mixed_lengths(n_items: int) -> UserSequences:
    """Histories of 1..12 events in one batch (so most rows carry left padding)."""
    rng = np.random.default_rng(1)
    return UserSequences.from_lists([rng.integers(0, n_items, k).tolist() for k in range(1, 13)])


def _chain_top1(model: object, k: int) -> str:
    return model.recommend(Query.from_items([f"a{k}", f"b{k}"]), k=1).item_ids[0]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cls", "settings", "tolerance"),
    [
        (SASRecInt8, {}, 0.5),
        (SASRecHalf, {"dtype": "float16"}, 0.05),
        (SASRecHalf, {"dtype": "bfloat16"}, 0.5),
    ],
)
def test_quantized_artifacts_load_and_serve(
    teacher: SASRec, shop: Interactions, tmp_path: Path, cls: type, settings: dict, tolerance: float
) -> None:
    variant = cls.derive(teacher, **settings)
    variant.save(tmp_path / "v")
    loaded = load_model(tmp_path / "v")
    assert type(loaded) is cls
    assert loaded.config == variant.config
    seqs = shop.sequences
    np.testing.assert_array_equal(loaded.score_batch(seqs), variant.score_batch(seqs))
    # Close to the fp32 network, and the planted chain still comes first: a, b -> c.
    assert np.nanmax(np.abs(loaded.score_batch(seqs) - teacher.score_batch(seqs))) < tolerance
    for k in range(6):
        assert _chain_top1(loaded, k) == _chain_top1(teacher, k) == f"c{k}"


def test_int8_top_of_the_ranking_is_rescored_exactly(teacher: SASRec, shop: Interactions) -> None:
    variant = SASRecInt8.derive(teacher, shortlist=3)
    seqs = shop.sequences.take(np.arange(20))
    exact = teacher.score_batch(seqs)
    approx = variant.score_batch(seqs)
    top = np.argsort(-approx, axis=1)[:, :3]
    # The short list carries fp32 scores of the (int8-encoded) history: near-exact, not int8.
    rows = np.arange(len(top))[:, None]
    assert np.abs(approx[rows, top] - exact[rows, top]).max() < 0.3
    # The int8 encoder moves each history's vector slightly: a near-tie at the border of the top
    # 3 may swap, but the ranking must be the fp32 one for nearly every history.
    same = np.all(np.sort(top, axis=1) == np.sort(np.argsort(-exact, axis=1)[:, :3], axis=1), 1)
    assert same.mean() >= 0.9


def test_int8_artifact_is_smaller_than_fp32(teacher: SASRec, tmp_path: Path) -> None:
    teacher.save(tmp_path / "fp32")
    SASRecInt8.derive(teacher).save(tmp_path / "int8")
    size = {p: (tmp_path / p / "weights.safetensors").stat().st_size for p in ("fp32", "int8")}
    assert size["int8"] < 0.5 * size["fp32"]


def test_onnx_scores_match_pytorch_within_1e_4(
    teacher: SASRec, shop: Interactions, tmp_path: Path
) -> None:
    variant = SASRecOnnx.derive(teacher)
    assert variant.source_state["parity_max_abs_diff"] <= 1e-4
    variant.save(tmp_path / "onnx")
    loaded = load_model(tmp_path / "onnx")
    assert isinstance(loaded, SASRecOnnx)
    for seqs in (shop.sequences, _mixed_lengths(len(shop.item_vocab))):
        np.testing.assert_allclose(loaded.score_batch(seqs), teacher.score_batch(seqs), atol=1e-4)
    assert loaded.onnx_graph()[:2] == variant.onnx_graph()[:2]
    assert _chain_top1(loaded, 2) == "c2"


def test_onnx_parity_failure_is_an_error(teacher: SASRec) -> None:
    from shoprec.errors import ModelError

    with pytest.raises(ModelError, match="parity_tolerance"):
        SASRecOnnx.derive(teacher, parity_tolerance=1e-30)


def test_onnx_int8_is_smaller_keeps_the_ranking_and_round_trips(
    teacher: SASRec, shop: Interactions, tmp_path: Path
) -> None:
    onnx = pytest.importorskip("onnx")
    int8 = SASRecOnnx.derive(teacher, int8=True)
    ops = {node.op_type for node in onnx.load_from_string(int8.onnx_graph()).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops, ops
    assert int8.source_state["top10_overlap"] >= 0.9
    assert int8.source_state["parity_max_abs_diff"] > 1e-6  # it did quantize
    int8.save(tmp_path / "q")
    loaded = load_model(tmp_path / "q")
    assert isinstance(loaded, SASRecOnnx) and loaded.config.int8
    seqs = shop.sequences
    np.testing.assert_array_equal(loaded.score_batch(seqs), int8.score_batch(seqs))
    assert _chain_top1(loaded, 2) == "c2"


def test_onnx_int8_ranking_check_failure_is_an_error(teacher: SASRec) -> None:
    from shoprec.errors import ModelError

    with pytest.raises(ModelError, match="min_top10_overlap"):
        SASRecOnnx.derive(teacher, int8=True, min_top10_overlap=1.0, parity_tolerance=1.0)


@pytest.mark.parametrize("amount", [0.3, 0.7])
def test_pruning_reaches_the_configured_sparsity_and_keeps_the_chain(
    teacher: SASRec, shop: Interactions, tmp_path: Path, amount: float
) -> None:
    before = pruned_sparsity(teacher.net)  # type: ignore[arg-type]
    assert max(before.values()) < 0.05
    pruned = SASRecPruned.derive(teacher, shop, FIT, prune_amount=amount, prune_epochs=2)
    assert len(pruned.history) == 2  # fine-tuned
    pruned.save(tmp_path / "p")
    loaded = load_model(tmp_path / "p")
    assert isinstance(loaded, SASRecPruned)
    for name, share in loaded.sparsity().items():
        n = dict(loaded.net.named_modules())[name].weight.numel()  # type: ignore[union-attr]
        assert share == pytest.approx(round(amount * n) / n), name
    assert loaded.nonzero_parameter_count() < loaded.parameter_count()
    for k in range(6):
        assert _chain_top1(loaded, k) == f"c{k}"


def test_training_variants_need_the_data(teacher: SASRec) -> None:
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
    t_net = teacher.net
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
    t_net = teacher.net
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
    assert student.net.items.hidden == 16  # type: ignore[union-attr]
    student.save(tmp_path / "d")
    loaded = load_model(tmp_path / "d")
    assert isinstance(loaded, SASRecDistilled)
    np.testing.assert_array_equal(
        loaded.score_batch(shop.sequences), student.score_batch(shop.sequences)
    )
    assert loaded.parameter_count() < teacher.parameter_count() / 2
    assert _chain_top1(loaded, 4) == "c4"


def test_student_with_head_vectors_on_the_most_frequent_items_round_trips(
    teacher: SASRec, shop: Interactions, tmp_path: Path
) -> None:
    student = SASRecDistilled.derive(
        teacher, shop, FIT, student_id_dim=2, student_head_share=0.25, student_head_dim=8,
        student_epochs=2,
    )  # fmt: skip
    n = len(student.item_vocab)
    rows = student.net.items.head_rows.numpy()  # type: ignore[union-attr]
    assert len(rows) == round(0.25 * n)
    counts = np.bincount(shop.sequences.items, minlength=n)
    assert counts[rows].min() >= np.sort(counts)[::-1][len(rows) - 1]
    student.save(tmp_path / "d")
    loaded = load_model(tmp_path / "d")
    np.testing.assert_array_equal(
        loaded.score_batch(shop.sequences), student.score_batch(shop.sequences)
    )
    assert student.parameter_count() < teacher.parameter_count()


def test_variants_need_a_sasrec_source(shop: Interactions) -> None:
    from shoprec.optimize import derive_variant

    pop = Popularity()
    pop.fit(shop)
    with pytest.raises(ConfigError, match="SASRec-family"):
        derive_variant(pop, "int8")
    with pytest.raises(ConfigError, match="unknown method"):
        derive_variant(pop, "zip")


# 4-bit codes trained on an 18-item catalogue rank nothing reliably: the pq4 short list covers
# it all (the codes' ranking is tested on a clustered catalogue below), the plumbing is tested.
@pytest.mark.parametrize(("codes", "shortlist"), [("int8", 8), ("pq4", 18)])
def test_int8_top_k_ranks_like_the_full_score_rows(
    teacher: SASRec, codes: str, shortlist: int
) -> None:
    variant = SASRecInt8.derive(teacher, shortlist=shortlist, catalogue=codes)
    for k in range(6):
        query = Query.from_items([f"a{k}", f"b{k}"])
        for exclude in ((), (f"c{k}", "a0", "unknown")):
            fast = variant.top_k(query, 4, exclude)
            full = BaseRecommender.top_k(variant, query, 4, exclude)  # via whole score rows
            assert fast.item_ids == full.item_ids
            np.testing.assert_allclose(fast.scores, full.scores, rtol=1e-5)
    assert variant.top_k(Query(), 3).item_ids == ()


def _clustered_catalogue() -> tuple[torch.Tensor, torch.Tensor]:
    """2,000 item vectors around 50 centres, and 8 states near the first 8 centres."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(50, 32, generator=gen)
    table = centres.repeat_interleave(40, dim=0) + 0.3 * torch.randn(2000, 32, generator=gen)
    return table, centres[:8] + 0.1 * torch.randn(8, 32, generator=gen)


def test_int8_catalogue_keeps_the_exact_top_10_on_clustered_vectors() -> None:
    table, h = _clustered_catalogue()
    catalogue = Int8Catalogue(table)
    idx, scores = catalogue.top_k(h, k=10, shortlist=50)
    exact = (h @ table.T).topk(10, dim=1)
    assert torch.equal(idx, exact.indices)
    torch.testing.assert_close(scores, exact.values)
    approx = catalogue.approximate(h)
    assert (approx - h @ table.T).abs().max() < 0.05 * (h @ table.T).abs().max()
    # Per-item scales (an older artifact format) cannot feed the int8 scan: a clear error.
    with pytest.raises(ArtifactError, match="one scale expected"):
        Int8Catalogue(table, catalogue.codes, torch.ones(len(table)))


def test_pq_catalogue_keeps_the_exact_top_10_on_clustered_vectors_and_round_trips() -> None:
    table, h = _clustered_catalogue()
    catalogue = PQCatalogue(table)
    assert catalogue.serialize().nbytes < table.numel()  # 4 bits a pair of dims + codebooks
    exact = (h @ table.T).topk(10, dim=1)
    idx, scores = catalogue.top_k(h, k=10, shortlist=200)
    assert torch.equal(idx, exact.indices)
    torch.testing.assert_close(scores, exact.values)
    # A 10-item short list of 4-bit codes alone misses part of the exact top 10.
    coarse, _ = catalogue.top_k(h, k=10, shortlist=10)
    assert not torch.equal(coarse.sort(1).values, exact.indices.sort(1).values)
    full = catalogue.scores(h, shortlist=200)
    assert torch.equal(full.topk(10, dim=1).indices, exact.indices)
    loaded = PQCatalogue(table, catalogue.serialize())
    torch.testing.assert_close(loaded.approximate(h), catalogue.approximate(h))


def test_pq_int8_variant_round_trips(teacher: SASRec, tmp_path: Path) -> None:
    variant = SASRecInt8.derive(teacher, catalogue="pq4", shortlist=20)
    variant.save(tmp_path / "pq")
    loaded = load_model(tmp_path / "pq")
    assert isinstance(loaded, SASRecInt8) and isinstance(loaded.catalogue, PQCatalogue)
    seqs = _mixed_lengths(len(teacher.item_vocab))
    np.testing.assert_array_equal(loaded.score_batch(seqs), variant.score_batch(seqs))
    assert _chain_top1(loaded, 3) == "c3"
