"""Training job: fit on all but each shopper's last event, measure on it, publish a version."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from shoprec.data import Interactions
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import load_store_data, train_and_publish
from shoprec.jobs.training import METRICS_FILE
from shoprec.models import FitOptions, ModelVersions, load_model
from shoprec.types import Query


def _chain_log(n_users: int = 30) -> Interactions:
    """Every shopper views a -> b -> c in order: after b, c is the answer."""
    rows = [
        (f"u{u}", item, "view", float(100 * u + t))
        for u in range(n_users)
        for t, item in enumerate(("a", "b", "c"))
    ]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    items = pl.DataFrame({"item_id": ["a", "b", "c", "d"], "title": ["A", "B", "C", "D"]})
    return Interactions(events, items)


def test_train_and_publish_measures_and_publishes(tmp_path: Path) -> None:
    versions = ModelVersions(tmp_path / "models")
    result = train_and_publish(_chain_log(), "covisit", {}, versions, FitOptions(seed=0))
    assert versions.current() == result.version_dir
    # The held-out last event (c after a, b) is found first by co-visitation.
    assert result.metrics["HR@10"] == 1.0
    record = json.loads((result.version_dir / METRICS_FILE).read_text())
    assert record["model"] == "covisit"
    assert record["validation"]["HR@10"] == 1.0
    loaded = load_model(result.version_dir)
    assert loaded.recommend(Query.from_items(["a", "b"]), k=1).item_ids == ("c",)


def test_store_data_round_trip(tmp_path: Path) -> None:
    data = _chain_log(5)
    path = tmp_path / "shoprec.db"
    with SQLiteCatalog(path) as catalog:
        catalog.upsert(data.items)
    with SQLiteEventStore(path) as store:
        store.append(data.events)
    loaded = load_store_data(path)
    assert loaded.n_events == 15
    assert loaded.items["title"].to_list()[:4] == ["A", "B", "C", "D"]
