"""The benchmark runner on a planted chain log with the test-only models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoprec.errors import ConfigError, UnknownModelError
from shoprec.evaluation import Trial, best_trial, grid, run_benchmark

from .conftest import Epochs, chain_log

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
    assert "NDCG@10_std" not in row
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
