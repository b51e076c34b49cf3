"""The benchmark runner on a planted chain log with the test-only models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from shoprec.data import Interactions, UserSequences
from shoprec.errors import ConfigError, UnknownModelError
from shoprec.evaluation import Trial, best_trial, grid, run_benchmark
from shoprec.evaluation.benchmark import Step, coordinate, search_steps
from shoprec.models import BaseConfig, FitOptions, Scores, model_class, registry

from .conftest import DEFAULT_FIT, Epochs, Transition, TransitionConfig, chain_log

pytestmark = pytest.mark.usefixtures("registered")


def test_grid_expands_in_declaration_order() -> None:
    assert grid(None) == [{}]
    assert grid({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]


def test_best_trial_prefers_the_first_of_equals_and_ignores_nan() -> None:
    trials = [Trial({"a": 1}, float("nan"), None, 0.0), Trial({"a": 2}, 0.5, None, 0.0)]
    trials.append(Trial({"a": 3}, 0.5, None, 0.0))
    assert best_trial(trials).params == {"a": 2}


def test_runner_chooses_parameters_on_validation_and_writes_reports(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    rows = run_benchmark(
        chain_log(),
        ["test-transition"],
        output=tmp_path,
        progress=lambda msg, done, total: calls.append((msg, done, total)),
        dataset="chain",
    )
    (row,) = rows
    assert row["params"] == {"use_transitions": True}
    assert row["validation_NDCG@10"] == 1.0
    popularity_trial = row["trials"][0]
    assert popularity_trial["params"] == {"use_transitions": False}
    assert popularity_trial["validation_NDCG@10"] < 1.0
    assert row["HR@10"] == row["NDCG@10"] == row["MRR@20"] == 1.0
    assert row["cases"] == 30
    assert row["epochs"] is None
    assert row["train_seconds"] >= 0.0 and row["eval_seconds"] >= 0.0
    assert "NDCG@10_std" not in row and "by_seed" not in row
    # two tuning fits + one test fit, then "done"
    assert [c[1:] for c in calls] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert calls[-1][0] == "done"

    saved = json.loads((tmp_path / "results.json").read_text())
    required = {"model", "params", "HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR@20"}
    assert required | {"coverage@10", "train_seconds", "eval_seconds"} <= set(saved[0])
    assert saved[0]["HR@10"] == 1.0
    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# chain: 30 users, 12 items, 180 events; protocol loo")
    assert "| test-transition | 1.0000 | 1.0000 |" in md
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_iterative_models_refit_for_the_epochs_chosen_on_validation() -> None:
    (row,) = run_benchmark(chain_log(), ["test-epochs"], seeds=2)
    assert row["epochs"] == 3
    tuning, *final = Epochs.fits
    assert tuning.validation is not None and tuning.max_epochs is None
    assert [(o.seed, o.max_epochs, o.validation) for o in final] == [(0, 3, None), (1, 3, None)]
    assert row["seeds"] == 2
    assert row["NDCG@10"] == 1.0
    assert row["NDCG@10_std"] == 0.0
    # The chosen fit's learning curve comes with the row (issue #20); the trials stay lean.
    assert [r["loss"] for r in row["learning_curve"]] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert "history" not in row["trials"][0]


def test_cold_user_protocol_evaluates_held_out_users() -> None:
    (row,) = run_benchmark(chain_log(), ["test-transition"], protocol="cold-user", seeds=2)
    # 10% of 30 users; the transition model needs no training on a user to follow the chain
    assert row["cases"] == 3
    assert row["HR@10"] == 1.0
    assert row["cases_std"] == 0.0


def test_unknown_models_and_bad_seeds_fail_before_training() -> None:
    calls: list[str] = []
    with pytest.raises(UnknownModelError, match="no-such-model"):
        run_benchmark(
            chain_log(), ["test-epochs", "no-such-model"], progress=lambda m, d, t: calls.append(m)
        )
    assert calls == []
    assert Epochs.fits == []
    with pytest.raises(ConfigError, match="seeds"):
        run_benchmark(chain_log(), ["test-transition"], seeds=0)
    with pytest.raises(ConfigError, match="unknown protocol"):
        run_benchmark(chain_log(), ["test-transition"], protocol="random")


def test_a_model_that_refuses_the_data_is_reported_not_run(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    rows = run_benchmark(
        chain_log(),
        ["ease", "test-transition"],
        output=tmp_path,
        progress=lambda msg, done, total: calls.append((msg, done, total)),
        params={"ease": {"max_items": 1}},
    )
    assert rows[0]["model"] == "ease" and "max_items=1" in rows[0]["skipped"]
    assert rows[1]["HR@10"] == 1.0  # the comparison went on
    assert calls[-1][1] == calls[-1][2]  # progress still reaches its total
    assert "not run: EASE inverts" in (tmp_path / "results.md").read_text()


# -- searches --------------------------------------------------------------------------------
class KnobsConfig(TransitionConfig):
    a: int = 0
    b: int = 0
    c: int = 0
    d: int = 0


#: Validation quality of each (a, b, c): "high" follows the chain (NDCG@10 1.0), "mid" ranks
#: by popularity, "low" ranks each target last.
QUALITY = {
    (0, 0, 0): "mid",
    (1, 0, 0): "high",
    (1, 1, 0): "low",
    (1, 2, 0): "high",
    (1, 0, 1): "high",
}


class Knobs(Transition):
    """A cheap model whose validation score is planted per parameter point."""

    key: ClassVar[str] = "test-knobs"
    config_cls: ClassVar[type[BaseConfig]] = KnobsConfig
    config: KnobsConfig
    search: ClassVar[str] = "coordinate"
    search_space: ClassVar[dict[str, list[object]]] = {
        "a": [0, 1],
        "b": [0, 1, 2],
        "c": [0, {"c": 1, "d": 1}],
    }

    def score_batch(self, histories: UserSequences) -> Scores:
        cfg = self.config
        quality = QUALITY.get((cfg.a, cfg.b, cfg.c), "low")
        scores = np.tile(self.popularity / (1.0 + self.popularity.max()), (len(histories), 1))
        if quality != "mid":
            sign = 1.0 if quality == "high" else -1.0
            for row in range(len(histories)):
                items = histories.items_of(row)
                scores[row] += sign * self.next[items[-1]]
        return scores


class Ranker(Transition):
    """A cheap model that reports feature importance and candidate recall, varying by seed."""

    key: ClassVar[str] = "test-ranker"
    search_space: ClassVar[dict[str, list[object]]] = {}
    IMPORTANCE: ClassVar[list[dict[str, float]]] = [
        {"same_brand": 0.6, "pop_all": 0.4},
        {"same_brand": 0.2, "pop_all": 0.5, "age_days": 0.3},
    ]

    def fit(self, data: Interactions, opts: FitOptions = DEFAULT_FIT) -> None:
        super().fit(data, opts)
        self.seed = opts.seed
        self.candidate_recall = 0.5 + 0.25 * opts.seed

    def feature_importance(self) -> dict[str, float]:
        return self.IMPORTANCE[self.seed]


@pytest.fixture
def knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (Knobs, Ranker):
        monkeypatch.setitem(registry._REGISTRY, cls.key, cls)


def test_coordinate_search_starts_from_the_first_values_then_moves_one_parameter() -> None:
    space = {"a": [0, 1, 2], "d": [{"d": 0.2, "e": 0.2}, {"d": 0.5, "e": 0.5}], "f": ["x"]}
    steps = coordinate(space)
    assert steps == [
        Step({"a": 0, "d": 0.2, "e": 0.2, "f": "x"}),
        Step({"a": 1}, relative=True),
        Step({"a": 2}, relative=True),
        Step({"d": 0.5, "e": 0.5}, relative=True),
    ]
    assert len(steps) == 1 + sum(len(v) - 1 for v in space.values()) < len(grid(space))
    assert coordinate({}) == [Step({})]
    assert grid({"d": space["d"], "f": ["x"]}) == [
        {"d": 0.2, "e": 0.2, "f": "x"},
        {"d": 0.5, "e": 0.5, "f": "x"},
    ]
    with pytest.raises(ConfigError, match="'b' offers no value"):
        coordinate({"b": []})


@pytest.mark.usefixtures("knobs")
def test_coordinate_search_keeps_a_value_only_when_it_beats_the_best_so_far() -> None:
    calls: list[tuple[str, int, int]] = []
    (row,) = run_benchmark(
        chain_log(),
        ["test-knobs"],
        progress=lambda msg, done, total: calls.append((msg, done, total)),
    )
    tried = [(t["params"], t["validation_NDCG@10"]) for t in row["trials"]]
    # a=1 beats the start, so b's values are tried over a=1 (not over the start: adaptive);
    # b=1 is worse and b=2 only ties, so c's value is tried over a=1, b=0 (the best so far,
    # not the latest; ties keep the earlier) and only ties too. A full grid fits 12 points.
    assert [p for p, _ in tried] == [
        {"a": 0, "b": 0, "c": 0},
        {"a": 1, "b": 0, "c": 0},
        {"a": 1, "b": 1, "c": 0},
        {"a": 1, "b": 2, "c": 0},
        {"a": 1, "b": 0, "c": 1, "d": 1},
    ]
    low, mid, high = sorted({s for _, s in tried})
    assert [s for _, s in tried] == [mid, high, low, high, high] and high == 1.0
    assert row["params"] == {"a": 1, "b": 0, "c": 0}
    assert row["validation_NDCG@10"] == 1.0 and row["NDCG@10"] == 1.0
    assert [c[0] for c in calls[:5]] == [f"test-knobs: tuning {i}/5" for i in range(1, 6)]
    assert calls[-1][1:] == (6, 6)


@pytest.mark.usefixtures("knobs")
def test_fixed_parameters_hold_in_every_fit_and_are_checked_before_training() -> None:
    (row,) = run_benchmark(chain_log(), ["test-knobs"], params={"test-knobs": {"b": 1}})
    # b leaves the search; a and c are still tuned (a=1 does not win with b=1), each with b=1.
    assert [t["params"] for t in row["trials"]] == [
        {"a": 0, "c": 0, "b": 1},
        {"a": 1, "c": 0, "b": 1},
        {"a": 0, "c": 1, "d": 1, "b": 1},
    ]
    (row,) = run_benchmark(
        chain_log(), ["test-knobs"], params={"test-knobs": {"b": 1}}, search=False
    )
    assert [t["params"] for t in row["trials"]] == [{"b": 1}]
    assert row["params"] == {"b": 1}
    calls: list[str] = []
    with pytest.raises(ConfigError, match="test-knobs: invalid parameters"):
        run_benchmark(
            chain_log(),
            ["test-transition", "test-knobs"],
            progress=lambda m, d, t: calls.append(m),
            params={"test-knobs": {"nope": 1}},
        )
    assert calls == []


def test_sasrec_searches_its_main_parameters_from_its_defaults() -> None:
    cls = model_class("sasrec")
    defaults = cls.config_cls()
    assert getattr(cls, "search", None) == "coordinate"
    steps = search_steps("sasrec")
    assert len(steps) == 5
    start = steps[0].params
    assert set(start) >= {"hidden", "dropout", "emb_dropout", "id_dropout", "max_len"}
    assert all(getattr(defaults, name) == value for name, value in start.items())
    assert steps[2] == Step({"dropout": 0.5, "emb_dropout": 0.5}, relative=True)
    for step in steps[1:]:  # every point is a valid config
        cls.config_cls(**{**start, **step.params})


@pytest.mark.usefixtures("knobs")
def test_feature_importance_is_averaged_over_seeds_and_reported(tmp_path: Path) -> None:
    rows = run_benchmark(
        chain_log(), ["test-ranker", "test-transition"], seeds=2, output=tmp_path, dataset="c"
    )
    ranker, plain = rows
    assert list(ranker["feature_importance"].items()) == [
        ("pop_all", pytest.approx(0.45)),
        ("same_brand", pytest.approx(0.4)),
        ("age_days", pytest.approx(0.15)),
    ]
    assert ranker["candidate_recall"] == 0.625 and ranker["candidate_recall_std"] > 0
    by_seed = [seed["candidate_recall"] for seed in ranker["by_seed"]]
    assert len(by_seed) == 2 and by_seed[0] != by_seed[1]
    assert np.mean(by_seed) == pytest.approx(0.625)
    assert "feature_importance" not in plain and "candidate_recall" not in plain
    saved = json.loads((tmp_path / "feature_importance.json").read_text())
    assert saved == {"test-ranker": ranker["feature_importance"]}
    assert list(saved["test-ranker"]) == ["pop_all", "same_brand", "age_days"]
    assert (
        json.loads((tmp_path / "results.json").read_text())[0]["feature_importance"]
        == saved["test-ranker"]
    )
    md = (tmp_path / "results.md").read_text()
    assert "| rank | test-ranker |" in md and "| 1 | pop_all (0.450) |" in md
    assert "Candidate recall (share of targets among the candidates): test-ranker 0.625" in md
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Feature importance</h2>" in page and "<figure id='importance-test-ranker'>" in page
    assert "importance-test-transition" not in page
