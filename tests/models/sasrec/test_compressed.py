"""Compressed SASRec models (issues #7, #20): int8, half-precision and ONNX backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.data import Interactions, UserSequences
from shoprec.errors import ConfigError
from shoprec.features.quantized_index import PQCatalogue
from shoprec.models import BaseRecommender, Popularity, load_model
from shoprec.models.sasrec import SASRec, SASRecHalf, SASRecInt8, SASRecOnnx
from shoprec.types import Query

from .planted import chain_top1


def _mixed_lengths(n_items: int) -> UserSequences:
    """Histories of 1..12 events in one batch (so most rows carry left padding)."""
    rng = np.random.default_rng(1)
    return UserSequences.from_lists([rng.integers(0, n_items, k).tolist() for k in range(1, 13)])


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
    compressed = cls.derive(teacher, **settings)
    compressed.save(tmp_path / "v")
    loaded = load_model(tmp_path / "v")
    assert type(loaded) is cls
    assert loaded.config == compressed.config
    seqs = shop.sequences
    np.testing.assert_array_equal(loaded.score_batch(seqs), compressed.score_batch(seqs))
    # Close to the fp32 network, and the planted chain still comes first: a, b -> c.
    assert np.nanmax(np.abs(loaded.score_batch(seqs) - teacher.score_batch(seqs))) < tolerance
    for k in range(6):
        assert chain_top1(loaded, k) == chain_top1(teacher, k) == f"c{k}"


def test_int8_top_of_the_ranking_is_rescored_exactly(teacher: SASRec, shop: Interactions) -> None:
    int8 = SASRecInt8.derive(teacher, shortlist=3)
    seqs = shop.sequences.take(np.arange(20))
    exact = teacher.score_batch(seqs)
    approx = int8.score_batch(seqs)
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
    onnx = SASRecOnnx.derive(teacher)
    assert onnx.source_state["parity_max_abs_diff"] <= 1e-4
    onnx.save(tmp_path / "onnx")
    loaded = load_model(tmp_path / "onnx")
    assert isinstance(loaded, SASRecOnnx)
    for seqs in (shop.sequences, _mixed_lengths(len(shop.item_vocab))):
        np.testing.assert_allclose(loaded.score_batch(seqs), teacher.score_batch(seqs), atol=1e-4)
    assert loaded.onnx_graph()[:2] == onnx.onnx_graph()[:2]
    assert chain_top1(loaded, 2) == "c2"


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
    assert chain_top1(loaded, 2) == "c2"


def test_onnx_int8_ranking_check_failure_is_an_error(teacher: SASRec) -> None:
    from shoprec.errors import ModelError

    with pytest.raises(ModelError, match="min_top10_overlap"):
        SASRecOnnx.derive(teacher, int8=True, min_top10_overlap=1.0, parity_tolerance=1.0)


def test_compressed_models_need_a_sasrec_source(shop: Interactions) -> None:
    from shoprec.optimize import derive_model

    pop = Popularity()
    pop.fit(shop)
    with pytest.raises(ConfigError, match="SASRec-family"):
        derive_model(pop, "int8")
    with pytest.raises(ConfigError, match="unknown method"):
        derive_model(pop, "zip")


# 4-bit codes trained on an 18-item catalogue rank nothing reliably: the pq4 short list covers
# it all (the codes' ranking is tested on a clustered catalogue below), the plumbing is tested.
@pytest.mark.parametrize(("codes", "shortlist"), [("int8", 8), ("pq4", 18)])
def test_int8_top_k_ranks_like_the_full_score_rows(
    teacher: SASRec, codes: str, shortlist: int
) -> None:
    int8 = SASRecInt8.derive(teacher, shortlist=shortlist, catalogue=codes)
    for k in range(6):
        query = Query.from_items([f"a{k}", f"b{k}"])
        for exclude in ((), (f"c{k}", "a0", "unknown")):
            fast = int8.top_k(query, 4, exclude)
            full = BaseRecommender.top_k(int8, query, 4, exclude)  # via whole score rows
            assert fast.item_ids == full.item_ids
            np.testing.assert_allclose(fast.scores, full.scores, rtol=1e-5)
    assert int8.top_k(Query(), 3).item_ids == ()


def test_pq_int8_model_round_trips(teacher: SASRec, tmp_path: Path) -> None:
    pq = SASRecInt8.derive(teacher, catalogue="pq4", shortlist=20)
    pq.save(tmp_path / "pq")
    loaded = load_model(tmp_path / "pq")
    assert isinstance(loaded, SASRecInt8) and isinstance(loaded.catalogue, PQCatalogue)
    seqs = _mixed_lengths(len(teacher.item_vocab))
    np.testing.assert_array_equal(loaded.score_batch(seqs), pq.score_batch(seqs))
    assert chain_top1(loaded, 3) == "c3"
