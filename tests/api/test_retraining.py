"""Retraining: skipped without new events, warm-started from the current version otherwise."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.events import SQLiteEventStore
from shoprec.jobs import RetrainPolicy, new_events, retrain_loop, retrain_once
from shoprec.models import ModelVersions, load_model
from shoprec.settings import ModelSettings, Settings
from shoprec.types import Query

from .conftest import make_home


def _settings(home: Path) -> Settings:
    return Settings(home=home, model=ModelSettings(key="covisit"))


def _append_x_after_a(home: Path, n: int) -> None:
    now = time.time()
    rows = [(f"n{u}", i, "view", now + u + t) for u in range(n) for t, i in enumerate("ax")]
    frame = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    with SQLiteEventStore(home / "shoprec.db") as store:
        store.append(frame)


def test_retrain_waits_for_new_events_then_learns_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    versions = make_home(home)
    first = versions.current()
    settings = _settings(home)
    assert new_events(settings)[0] > 0  # the first version recorded no store position
    assert retrain_once(settings) is not None
    assert retrain_once(settings) is None  # nothing new since
    _append_x_after_a(home, 40)  # a new item x, always right after a
    assert new_events(settings)[0] == 80
    assert retrain_once(settings, min_new_events=100) is None
    result = retrain_once(settings, min_new_events=80)
    assert result is not None and versions.current() == result.version_dir != first
    record = json.loads((result.version_dir / "metrics.json").read_text())
    assert record["store_seq"] == new_events(settings)[1]
    assert record["warm_start"] is not None  # the previous covisit version
    top = load_model(result.version_dir).recommend(Query.from_items(["a"]), k=1)
    assert top.item_ids == ("x",)


def test_retrain_loop_runs_on_schedule_until_stopped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home)
    stop = threading.Event()
    results = []

    def report(result: object) -> None:
        results.append(result)
        if len(results) == 2:
            stop.set()

    retrain_loop(_settings(home), RetrainPolicy(every_s=0.01), stop, report)
    assert results[0] is not None and results[1] is None  # trained, then nothing new


def test_retrain_command_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home)
    config = tmp_path / "shoprec.json"
    config.write_text(json.dumps({"home": str(home), "model": {"key": "covisit"}}))
    before = len(ModelVersions(home / "models").versions())
    result = CliRunner().invoke(app, ["retrain", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    assert len(ModelVersions(home / "models").versions()) == before + 1
