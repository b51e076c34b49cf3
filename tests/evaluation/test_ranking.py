"""Full-catalogue ranking: exclusions, ties, batching, and evaluate() on planted data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shoprec.data import EvalSet, UserSequences, leave_one_out
from shoprec.errors import ModelError
from shoprec.evaluation import evaluate, evaluate_report, rank_cases, ranking

from .conftest import FixedScores, Transition, TransitionConfig, chain_log

NAN = float("nan")

# Rows are users 0..2 over a 5-item catalogue.
TABLE = [
    [0.9, 0.8, 0.7, 0.6, 0.5],
    [0.1, NAN, 0.5, 0.5, 0.5],
    [0.3, 0.3, 0.3, 0.3, 0.3],
]


def _cases(histories: list[list[int]], targets: list[int]) -> EvalSet:
    users = [str(u) for u in range(len(histories))]
    return EvalSet(UserSequences.from_lists(histories, users), np.asarray(targets))


def test_ranks_exclude_history_break_ties_by_index_and_miss_unscorable() -> None:
    model = FixedScores(table=TABLE)
    cases = _cases([[0], [], [1]], [2, 3, 4])
    ranked = rank_cases(model, cases, k=3)
    # user 0: item 0 (0.9) is in the history, items 1 (0.8) beat the target 2 -> rank 1.
    # user 1: item 2 ties the target 3 with a lower index -> rank 1; NaN item 1 is unranked.
    # user 2: all tied; items 0, 2, 3 come before 4 (item 1 excluded) -> rank 3.
    np.testing.assert_array_equal(ranked.ranks, [1, 1, 3])
    np.testing.assert_array_equal(ranked.top, [[1, 2, 3], [2, 3, 4], [0, 2, 3]])
    np.testing.assert_array_equal(ranked.history_lengths, [1, 0, 1])
    assert ranked.n_items == 5
    # the model's table was not written into
    assert model.table[0, 0] == pytest.approx(0.9)


def test_target_in_history_or_unscorable_is_a_miss() -> None:
    model = FixedScores(table=TABLE)
    ranked = rank_cases(model, _cases([[2], [0]], [2, 1]), k=2)
    np.testing.assert_array_equal(ranked.ranks, [5, 5])
    assert evaluate(model, _cases([[2], [0]], [2, 1]), ks=(5,))["HR@5"] == 0.0


def test_short_lists_are_padded_when_everything_is_excluded() -> None:
    model = FixedScores(table=[[1.0, 2.0, NAN]])
    ranked = rank_cases(model, _cases([[1]], [0]), k=4)
    np.testing.assert_array_equal(ranked.top, [[0, -1, -1, -1]])
    np.testing.assert_array_equal(ranked.ranks, [0])


def test_seen_items_can_be_kept() -> None:
    model = FixedScores(table=TABLE)
    ranked = rank_cases(model, _cases([[0]], [1]), k=2, exclude_seen=False)
    np.testing.assert_array_equal(ranked.ranks, [1])
    np.testing.assert_array_equal(ranked.top, [[0, 1]])


def test_targets_outside_the_model_vocabulary_are_refused() -> None:
    with pytest.raises(ModelError, match="beyond the model's 5 items"):
        rank_cases(FixedScores(table=TABLE), _cases([[0]], [7]))


def _oracle(scores: np.ndarray, history: list[int], target: int, k: int) -> tuple[int, list[int]]:
    """Rank and top-k by a full stable sort (score descending, then index)."""
    s = np.where(np.isnan(scores), -np.inf, scores.astype(np.float64))
    s[history] = -np.inf
    order = [i for i in np.lexsort((np.arange(len(s)), -s)) if np.isfinite(s[i])]
    rank = order.index(target) if target in order else len(s)
    top = order[:k]
    return rank, top + [-1] * (k - len(top))


@settings(max_examples=60, deadline=None)
@given(
    table=hnp.arrays(np.float32, (7, 9), elements=st.sampled_from([NAN, -1.0, 0.0, 0.5, 1.0, 2.0])),
    data=st.data(),
)
def test_rank_cases_matches_a_full_sort(table: np.ndarray, data: st.DataObject) -> None:
    histories = [
        data.draw(st.lists(st.integers(0, 8), max_size=4), label=f"h{u}") for u in range(7)
    ]
    targets = data.draw(st.lists(st.integers(0, 8), min_size=7, max_size=7))
    k = data.draw(st.integers(1, 12))
    ranked = rank_cases(FixedScores(table=table.tolist()), _cases(histories, targets), k=k)
    for u in range(7):
        rank, top = _oracle(table[u], histories[u], targets[u], k)
        assert ranked.ranks[u] == rank
        assert ranked.top[u].tolist() == top


def test_batches_give_the_same_result(
    monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    table = rng.random((9, 6)).round(1).tolist()
    cases = _cases([[int(rng.integers(6))] for _ in range(9)], rng.integers(0, 6, 9).tolist())
    whole = rank_cases(FixedScores(table=table), cases, k=3)
    monkeypatch.setattr(ranking, "SCORE_BUDGET", 12)  # two rows per batch
    batched = rank_cases(FixedScores(table=table), cases, k=3)
    np.testing.assert_array_equal(whole.ranks, batched.ranks)
    np.testing.assert_array_equal(whole.top, batched.top)


def test_evaluate_on_planted_chain_finds_every_target() -> None:
    data = chain_log()
    split = leave_one_out(data)
    model = Transition(TransitionConfig(use_transitions=True))
    model.fit(split.test_train)
    report = evaluate_report(model, split.test, ks=(1, 10), train=split.test_train)
    assert report.metrics["HR@1"] == 1.0
    assert report.metrics["NDCG@10"] == 1.0
    assert report.metrics["MRR@10"] == 1.0
    # all 30 histories have 5 items -> a single bucket
    assert report.by_activity == {
        "1-5": {"cases": 30.0, "HR@1": 1.0, "NDCG@1": 1.0, "MRR@1": 1.0}
        | {"HR@10": 1.0, "NDCG@10": 1.0, "MRR@10": 1.0}
    }
    # each user's top-1 is their own next item: 12 distinct items over a 12-item catalogue
    assert report.metrics["coverage@1"] == 1.0
    assert 0.0 < report.metrics["novelty@10"] < math.log2(30)


def test_evaluate_reports_only_metrics_whose_inputs_are_given() -> None:
    data = chain_log()
    split = leave_one_out(data)
    model = Transition(TransitionConfig(use_transitions=False))
    model.fit(split.test_train)
    bare = evaluate(model, split.test, ks=(10,))
    assert set(bare) == {"HR@10", "NDCG@10", "MRR@10", "coverage@10"}
    cats = np.array([i % 2 for i in range(data.n_items)])
    emb = np.eye(data.n_items)
    full = evaluate(model, split.test, ks=(10,), item_categories=cats, item_embeddings=emb)
    # one-hot embeddings: every pair is orthogonal
    assert full["ILD_embedding@10"] == pytest.approx(1.0)
    assert 0.0 < full["ILD_category@10"] < 1.0
