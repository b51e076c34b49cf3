"""CLI smoke test of the main path: generate -> import -> train -> recommend -> evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoprec.cli import app, main

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPREC_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_generate_import_train_recommend(home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _ok(["data", "generate", "--output", str(shop), "--preset", "small"])
    _ok(["data", "import", str(shop)])
    out = _ok(["train", "--model", "covisit"])
    assert "HR@10" in out
    assert (home / "models" / "CURRENT").is_file()
    user = "u000001"
    out = _ok(["recommend", "--user", user, "--n", "5"])
    assert f"shopper {user}" in out
    assert out.count("│ i0") == 5  # five item rows
    out = _ok(["recommend", "--items", "i000001,i000002", "--n", "3"])
    assert "anonymous session of 2 items" in out


def test_evaluate_and_benchmark_write_results(home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _ok(["data", "generate", "--output", str(shop), "--preset", "small"])
    page = tmp_path / "report.html"
    args = ["evaluate", "--data", str(shop), "--model", "ease", "--param", "l2=50"]
    out = _ok([*args, "--html", str(page)])
    assert "NDCG@10" in out and "by shopper activity" in out
    html = page.read_text()
    assert "<h1>ease on shop (loo, test target)</h1>" in html
    assert html.count("data:image/png;base64,") == 3
    bench = tmp_path / "bench"
    _ok(
        ["benchmark", "--data", str(shop), "--models", "popularity,covisit", "--output", str(bench)]
    )
    names = {p.name for p in bench.iterdir()}
    assert names >= {"results.json", "results.md", "results.png", "report.html"}
    assert "<td>covisit</td>" in (bench / "report.html").read_text()


def _fails(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """Run the console script's entry point; return its one-line error."""
    monkeypatch.setattr("sys.argv", ["shoprec", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    return err


def test_user_mistakes_are_one_line_errors(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "run `shoprec train` first" in _fails(["recommend", "--user", "u1"], capsys, monkeypatch)
    assert "unknown model" in _fails(
        ["train", "--model", "nope", "--data", "."], capsys, monkeypatch
    )
    err = _fails(["evaluate", "--data", ".", "--param", "novalue"], capsys, monkeypatch)
    assert "expected NAME=VALUE" in err
    err = _fails(["recommend", "--user", "u1", "--items", "a"], capsys, monkeypatch)
    assert "exactly one of --user or --items" in err


@pytest.mark.torch
def test_sasrec_trains_resumably_and_warm_starts(home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _ok(["data", "generate", "--output", str(shop), "--preset", "small"])
    _ok(["data", "import", str(shop)])
    tiny = ["--param", "hidden=16", "--param", "text_encoder=hashing-32", "--max-epochs", "2"]
    checkpoints = tmp_path / "ckpt"
    out = _ok(["train", "--model", "sasrec", *tiny, "--checkpoint-dir", str(checkpoints)])
    assert "NDCG@10" in out
    assert (checkpoints / "validation" / "checkpoint.json").is_file()
    assert (checkpoints / "final" / "checkpoint.json").is_file()
    first = (home / "models" / "CURRENT").read_text().strip()
    _ok(["train", "--model", "sasrec", *tiny, "--warm-start", str(home / "models" / first)])
    second = (home / "models" / "CURRENT").read_text().strip()
    assert second != first
    record = (home / "models" / second / "metrics.json").read_text()
    assert first in record  # the warm start is recorded with the new version


@pytest.mark.torch
def test_sasrec_trains_with_two_processes_and_rank_0_alone_publishes(
    home: Path, tmp_path: Path
) -> None:
    shop = tmp_path / "shop"
    _ok(["data", "generate", "--output", str(shop), "--preset", "small"])
    tiny = ["--param", "hidden=16", "--param", "text_encoder=hashing-32", "--max-epochs", "2"]
    # The eager loss: each rank would compile its own (tests/models/sasrec covers that).
    tiny += ["--param", "compile_loss=false"]
    out = _ok(["train", "--model", "sasrec", "--data", str(shop), *tiny, "--nproc", "2"])
    assert "NDCG@10" in out
    versions = [p for p in (home / "models").iterdir() if p.is_dir()]
    assert len(versions) == 1  # a second rank publishing would have made a second version
    record = json.loads((versions[0] / "metrics.json").read_text())
    assert record["processes"] == 2 and record["validation"]["NDCG@10"] > 0


def test_data_parallel_training_is_refused_where_it_cannot_run(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    err = _fails(["train", "--model", "ease", "--data", ".", "--nproc", "2"], capsys, monkeypatch)
    assert "2 training processes for 'ease': only sasrec trains data-parallel" in err
    # Under torchrun (which sets WORLD_SIZE and RANK for each process it starts).
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "1")
    err = _fails(["train", "--model", "covisit", "--data", "."], capsys, monkeypatch)
    assert "3 training processes for 'covisit'" in err
    err = _fails(["train", "--model", "sasrec", "--data", ".", "--nproc", "2"], capsys, monkeypatch)
    assert "torchrun already started 3 ranks" in err


@pytest.mark.torch
def test_private_training_with_curves_is_recorded_and_listed(home: Path, tmp_path: Path) -> None:
    """Issue #20: --dp-epsilon and --tensorboard on `shoprec train`; `shoprec models` lists ε."""
    pytest.importorskip("opacus")
    pytest.importorskip("tensorboard")
    shop = tmp_path / "shop"
    _ok(["data", "generate", "--output", str(shop), "--preset", "small"])
    tiny = ["--param", "hidden=16", "--param", "text_encoder=hashing-32", "--max-epochs", "2"]
    tiny += ["--param", "compile_loss=false", "--param", "batch_size=256"]
    curves = tmp_path / "curves"
    args = ["train", "--model", "sasrec-text", "--data", str(shop), *tiny]
    out = _ok([*args, "--dp-epsilon", "8", "--tensorboard", str(curves)])
    assert "differentially private: epsilon" in out
    current = (home / "models" / "CURRENT").read_text().strip()
    record = json.loads((home / "models" / current / "metrics.json").read_text())
    privacy = record["privacy"]
    assert privacy["epsilon"] == pytest.approx(8.0, abs=0.05)
    assert privacy["delta"] < 1e-2 and privacy["noise_multiplier"] > 0
    config = json.loads((home / "models" / current / "config.json").read_text())
    assert config["state"]["privacy"] == privacy
    for fit in ("validation", "test", "final"):
        assert any((curves / fit).glob("events.out.tfevents.*")), fit
    listing = _ok(["models"])
    assert "ε = 7.99 (δ" in listing or "ε = 8 (δ" in listing


def test_dp_epsilon_is_refused_for_a_model_without_private_training(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["train", "--model", "ease", "--data", ".", "--dp-epsilon", "4"]
    err = _fails(args, capsys, monkeypatch)
    assert "'ease' has no private training" in err
