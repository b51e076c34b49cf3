"""``shoprec benchmark`` as a log file sees it: progress lines, a table whole at 80 columns."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import shoprec.cli.benchmark as cli_benchmark
from shoprec.cli import app
from shoprec.cli.app import parse_model_params
from shoprec.cli.benchmark import comparison_table
from shoprec.errors import ConfigError

MODELS = ("popularity", "covisit", "ease", "sasrec", "als")


def _rows() -> list[dict[str, Any]]:
    """Five models' results with distinct numbers, as ``run_benchmark`` returns them."""
    return [
        {
            "model": model,
            "HR@10": 0.0123 + k / 10,
            "NDCG@10": 0.0456 + k / 10,
            "HR@20": 0.0789 + k / 10,
            "NDCG@20": 0.0135 + k / 10,
            "MRR@20": 0.0246 + k / 10,
            "coverage@10": 0.357 + k / 10,
            "train_seconds": 1234.5 + k,
            "eval_seconds": 6.7 + k,
            "params": {"hidden": 64, "max_epochs": 30} if model == "sasrec" else {},
            "epochs": 17 if model == "sasrec" else None,
        }
        for k, model in enumerate(MODELS)
    ]


def _render(width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width)
    console.print(comparison_table(_rows(), "shop: leave-one-out, full catalogue", width))
    return out.getvalue()


def test_comparison_table_keeps_every_number_whole_at_80_columns() -> None:
    """#18: `make demo` logged the table squeezed to ``0.00…`` cells at 80 columns."""
    text = _render(80)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for k in range(len(MODELS)):
        for value in (0.0123, 0.0456, 0.0789, 0.0135, 0.0246):
            assert f"{value + k / 10:.4f}" in text
        assert f"{0.357 + k / 10:.3f}" in text and f"{1234.5 + k:.1f}" in text
    assert all(model in text for model in MODELS)
    assert "epochs=17" in text


def test_comparison_table_is_one_row_per_model_when_wide_enough() -> None:
    text = _render(200)
    (sasrec,) = [line for line in text.splitlines() if "sasrec" in line]
    assert "0.3123" in sasrec and "0.3456" in sasrec and "epochs=17" in sasrec


def test_benchmark_prints_progress_lines_off_a_terminal(tmp_path: Path) -> None:
    """#18: logged to a file, `shoprec benchmark` printed nothing for its whole run."""
    runner = CliRunner()
    shop = tmp_path / "shop"
    generated = runner.invoke(app, ["data", "generate", "--output", str(shop), "--preset", "small"])
    assert generated.exit_code == 0, generated.output
    args = ["benchmark", "--data", str(shop), "--models", "popularity,covisit"]
    result = runner.invoke(app, [*args, "--output", str(tmp_path / "bench")])
    assert result.exit_code == 0, result.output
    steps = re.findall(r"^\[(\d)/7\] \d\d:\d\d:\d\d (.+)$", result.output, flags=re.MULTILINE)
    # popularity has one setting, covisit a grid of four; then each one's test fit.
    assert steps == [
        ("0", "popularity: tuning 1/1"),
        ("1", "popularity: test fit, seed 0"),
        *((str(2 + i), f"covisit: tuning {1 + i}/4") for i in range(4)),
        ("6", "covisit: test fit, seed 0"),
        ("7", "done"),
    ]


def test_model_params_are_per_model_or_for_every_model() -> None:
    keys = ["sasrec", "ease", "covisit"]
    pairs = ["sasrec.hidden=128", "sasrec.item_repr=id", "ease.l2=500.5", "max_epochs=3"]
    assert parse_model_params(pairs, keys) == {
        "sasrec": {"hidden": 128, "item_repr": "id", "max_epochs": 3},
        "ease": {"l2": 500.5, "max_epochs": 3},
        "covisit": {"max_epochs": 3},
    }
    assert parse_model_params(["ease.l2=1"], keys) == {"ease": {"l2": 1}}
    assert parse_model_params(None, keys) == {}
    with pytest.raises(ConfigError, match="'als' is not one of the models"):
        parse_model_params(["als.factors=64"], keys)
    for bad in ("sasrec.hidden", "sasrec.=1", "=1"):
        with pytest.raises(ConfigError, match="expected MODEL.NAME=VALUE"):
            parse_model_params([bad], keys)


def test_benchmark_fixes_parameters_or_skips_every_search(tmp_path: Path) -> None:
    runner = CliRunner()
    shop = tmp_path / "shop"
    generated = runner.invoke(app, ["data", "generate", "--output", str(shop), "--preset", "small"])
    assert generated.exit_code == 0, generated.output
    base = ["benchmark", "--data", str(shop), "--models", "popularity,covisit"]

    def steps(*extra: str) -> tuple[list[str], list[dict[str, Any]]]:
        out = tmp_path / "-".join(extra)
        result = runner.invoke(app, [*base, *extra, "--output", str(out)])
        assert result.exit_code == 0, result.output
        lines = re.findall(r"^\[\d/\d\] \d\d:\d\d:\d\d (.+)$", result.output, flags=re.MULTILINE)
        return lines, json.loads((out / "results.json").read_text())

    # covisit's grid of four becomes two fits: position_decay searched, normalization fixed.
    lines, rows = steps("-p", "covisit.normalization=cosine")
    assert [line for line in lines if "tuning" in line] == [
        "popularity: tuning 1/1",
        "covisit: tuning 1/2",
        "covisit: tuning 2/2",
    ]
    assert [t["params"] for t in rows[1]["trials"]] == [
        {"position_decay": d, "normalization": "cosine"} for d in (0.5, 0.8)
    ]
    assert rows[1]["params"]["normalization"] == "cosine"
    lines, rows = steps("--no-tune")
    assert "covisit: tuning 1/1" in lines and rows[1]["params"] == {}

    bad = runner.invoke(app, [*base, "-p", "covisit.nope=1", "--output", str(tmp_path / "x")])
    assert isinstance(bad.exception, ConfigError) and "covisit: invalid parameters" in str(
        bad.exception
    )
    assert not (tmp_path / "x").exists()  # refused before any fit


def test_optimize_keeps_plain_params_for_every_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def compress(data: object, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        seen[key] = kwargs["params"]
        return []

    monkeypatch.setattr(cli_benchmark, "load_dataset", lambda path: None)
    monkeypatch.setattr(cli_benchmark, "run_compression_benchmark", compress)
    monkeypatch.setattr(cli_benchmark, "summary_rows", lambda rows: (["model", "x"], []))
    args = ["benchmark", "--data", str(tmp_path), "--optimize", "--models", "sasrec,sasrec-id"]
    result = CliRunner().invoke(
        app, [*args, "-p", "hidden=32", "-p", "sasrec-id.max_len=20", "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert seen == {"sasrec": {"hidden": 32}, "sasrec-id": {"hidden": 32, "max_len": 20}}
    refused = CliRunner().invoke(app, [*args, "--no-tune"])
    assert isinstance(refused.exception, ConfigError)
