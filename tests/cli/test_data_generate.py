"""``shoprec data generate``: writes a loadable shop folder and reports what it planted."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import shoprec.cli.data_generate  # noqa: F401  (registers the command)
from shoprec.cli.app import app
from shoprec.data import Interactions
from shoprec.errors import ConfigError

runner = CliRunner()


def test_generate_writes_the_shop_folder(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    args = ["data", "generate", "--output", str(out), "--preset", "small"]
    result = runner.invoke(app, [*args, "--users", "40", "--items", "60", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["events.csv.gz", "items.csv.gz", "truth.json"]
    data = Interactions(pl.read_csv(out / "events.csv.gz"), pl.read_csv(out / "items.csv.gz"))
    assert data.items.height == 60
    assert data.events["user_id"].n_unique() == 40
    truth = json.loads((out / "truth.json").read_text())
    assert (truth["config"]["n_users"], truth["config"]["n_days"]) == (40, 30)
    assert truth["end_timestamp"] - truth["start_timestamp"] == 30 * 86_400
    assert f"{data.n_events:,}" in result.stdout
    assert "Coffee Beans 14d" in result.stdout
    assert "Generating shop" in result.output


def test_seed_option_changes_the_shop(tmp_path: Path) -> None:
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        args = ["--output", str(tmp_path / name), "--preset", "small", "--users", "20"]
        assert runner.invoke(app, ["data", "generate", *args, "--seed", seed]).exit_code == 0
    events = {n: (tmp_path / n / "events.csv.gz").read_bytes() for n in "abc"}
    assert events["a"] == events["b"] != events["c"]


def test_unknown_preset_is_a_config_error(tmp_path: Path) -> None:
    args = ["data", "generate", "--output", str(tmp_path), "--preset", "huge"]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "unknown preset 'huge'; expected one of small, demo, large"


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    target.write_text("x")
    result = runner.invoke(app, ["data", "generate", "--output", str(target), "--preset", "small"])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == f"--output {target}: is a file, expected a folder"
    assert target.read_text() == "x"


@pytest.mark.parametrize("option", ["--users", "--items", "--days"])
def test_non_positive_sizes_are_config_errors(tmp_path: Path, option: str) -> None:
    result = runner.invoke(app, ["data", "generate", "-o", str(tmp_path), option, "0"])
    assert isinstance(result.exception, ConfigError)
    field = {"--users": "n_users", "--items": "n_items", "--days": "n_days"}[option]
    assert str(result.exception) == (
        f"invalid synthetic shop config: {field} = 0: Input should be greater than or equal to 1"
    )
