"""The main job end to end on the small synthetic shop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.data import leave_one_out
from shoprec.data.synthetic import read_truth
from shoprec.evaluation import evaluate
from shoprec.events import SQLiteEventStore
from shoprec.jobs import METRICS_FILE
from shoprec.jobs.demo import run_demo
from shoprec.models import ModelVersions, load_model


def test_demo_stores_compares_publishes_and_recommends(tmp_path: Path) -> None:
    steps: list[str] = []
    result = run_demo(
        tmp_path,
        models=["popularity", "covisit"],
        main_model="covisit",
        step=steps.append,
        shop_preset="small",
    )
    assert (tmp_path / "shop" / "truth.json").is_file()
    assert (tmp_path / "home" / "shoprec.db").is_file()
    assert [row["model"] for row in result.comparison] == ["popularity", "covisit"]
    results = json.loads((tmp_path / "evaluation" / "results.json").read_text())
    assert len(results) == 2
    assert ModelVersions(tmp_path / "home" / "models").current() == result.trained.version_dir
    covisit = result.comparison[1]
    assert result.trained.test["NDCG@10"] == covisit["NDCG@10"]
    # Three stored shoppers plus the anonymous session after a main purchase.
    assert len(result.showcases) == 4
    after_main = result.showcases[-1]
    assert all(item not in after_main.history for item in after_main.ranked.item_ids)
    assert any("comparing models" in s for s in steps)


def test_demo_figures_belong_to_the_model_it_serves(tmp_path: Path) -> None:
    """#18: the demo copied the comparison's figures onto a different, later fit.

    Scoring the published model itself on the test targets must give the figures it was
    published with (a fit that had seen those targets would score higher).
    """
    result = run_demo(
        tmp_path, models=["popularity", "covisit"], main_model="covisit", shop_preset="small"
    )
    served = load_model(ModelVersions(tmp_path / "home" / "models").current())
    measured = evaluate(served, leave_one_out(result.data).test, ks=(10, 20))
    record = json.loads((result.trained.version_dir / METRICS_FILE).read_text())
    for name in ("HR@10", "NDCG@10", "HR@20", "NDCG@20"):
        assert measured[name] == pytest.approx(record["test"][name])
        assert record["test"][name] == result.trained.test[name]
    # It was fit on every event but each shopper's last (the test target).
    cases = next(row["cases"] for row in result.comparison if row["model"] == "covisit")
    assert record["n_events"] == result.data.n_events - cases


def test_demo_rerun_replaces_its_store(tmp_path: Path) -> None:
    for _ in range(2):
        result = run_demo(
            tmp_path, models=["popularity"], main_model="popularity", shop_preset="small"
        )
    with_one_import = result.data.n_events
    with SQLiteEventStore(tmp_path / "home" / "shoprec.db") as store:
        assert store.count() == with_one_import


def test_demo_command_prints_the_comparison(tmp_path: Path) -> None:
    args = ["demo", "--output", str(tmp_path), "--models", "popularity", "--model", "popularity"]
    result = CliRunner().invoke(app, [*args, "--preset", "small", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "popularity" in result.output and "published as" in result.output
    assert "the served fit's test figures" in result.output


def test_demo_ends_by_serving_the_shop_it_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[dict[str, Any]] = []

    def run(application: Any, **kwargs: Any) -> None:
        served.append({"app": application, **kwargs})

    monkeypatch.setattr("uvicorn.run", run)
    args = ["demo", "--output", str(tmp_path), "--models", "covisit", "--model", "covisit"]
    result = CliRunner().invoke(app, [*args, "--preset", "small", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8765/shop" in result.output
    assert "http://127.0.0.1:8765/dashboard" in result.output
    (call,) = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 8765)
    # The app handed to uvicorn serves the demo's own store and freshly trained model.
    with TestClient(call["app"]) as client:
        assert client.get("/health/ready").json()["model_version"].endswith("-covisit")
        items = client.get("/v1/items", params={"limit": 1}).json()
        assert items["total"] > 0
        assert client.get("/shop").status_code == 200
        truth = read_truth(tmp_path / "shop")
        main, accessories = next(iter(truth.complements.items()))
        client.post("/v1/events", json={"user_id": "t", "item_id": main, "event_type": "view"})
        recs = client.get("/v1/users/t/recommendations", params={"n": 10}).json()["items"]
        assert {r["item_id"] for r in recs} & set(accessories)
