"""Training job: choose epochs on validation, measure on the untouched test target, publish."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import pytest

from shoprec.data import EvalSet, Interactions
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import load_store_data, train_and_publish
from shoprec.jobs.training import METRICS_FILE
from shoprec.models import FitOptions, ModelVersions, Popularity, load_model, registry
from shoprec.types import Query

N_CHAIN = 12


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


def _predictable_then_new(n_users: int = 30) -> Interactions:
    """Four steps of the cyclic chain i0 -> i1 -> ... -> i11, then an item nobody else saw.

    Planted truth: each shopper's second-to-last event (validation target) follows the chain,
    whose every step is seen in training, so co-visitation finds it; the last event (test
    target) is the shopper's own ``z<u>``, seen by no one before, so nothing can find it.
    """
    rows = [
        (f"u{u}", f"i{(u + step) % N_CHAIN}", "view", float(100 * u + step))
        for u in range(n_users)
        for step in range(4)
    ]
    rows += [(f"u{u}", f"z{u}", "view", float(100 * u + 4)) for u in range(n_users)]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    ids = [f"i{i}" for i in range(N_CHAIN)] + [f"z{u}" for u in range(n_users)]
    return Interactions(events, pl.DataFrame({"item_id": ids, "title": ids}))


def test_train_and_publish_measures_and_publishes(tmp_path: Path) -> None:
    versions = ModelVersions(tmp_path / "models")
    result = train_and_publish(_chain_log(), "covisit", {}, versions, FitOptions(seed=0))
    assert versions.current() == result.version_dir
    record = json.loads((result.version_dir / METRICS_FILE).read_text())
    assert record["model"] == "covisit"
    assert record["test"] == result.test and record["validation"] == result.validation
    loaded = load_model(result.version_dir)
    assert loaded.recommend(Query.from_items(["a", "b"]), k=1).item_ids == ("c",)


def test_validation_and_test_figures_come_from_their_own_targets(tmp_path: Path) -> None:
    """#18: the second-to-last event validates and the last one tests, under their own names.

    Measuring "validation" on the last event (the test target) gives 0 here, not 1.
    """
    versions = ModelVersions(tmp_path / "models")
    result = train_and_publish(_predictable_then_new(), "covisit", {}, versions, FitOptions(seed=0))
    assert result.validation["HR@10"] == 1.0
    assert result.test["HR@10"] == 0.0
    record = json.loads((result.version_dir / METRICS_FILE).read_text())
    assert record["validation"]["HR@10"] == 1.0 and record["test"]["HR@10"] == 0.0


@dataclass(frozen=True)
class _Fit:
    events: set[tuple[str, str]]
    validation: EvalSet | None
    max_epochs: int | None


class _Spy(Popularity):
    """An "iterative" model that stops at epoch 3 when validated and records every fit."""

    key: ClassVar[str] = "test-spy"
    fits: ClassVar[list[_Fit]] = []

    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        pairs = set(data.events.select("user_id", "item_id").iter_rows())
        validation = opts.validation if isinstance(opts.validation, EvalSet) else None
        type(self).fits.append(_Fit(pairs, validation, opts.max_epochs))
        super().fit(data, opts)
        self.best_epoch = 3 if validation is not None else 0


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[_Spy]:
    monkeypatch.setitem(registry._REGISTRY, _Spy.key, _Spy)
    _Spy.fits.clear()
    return _Spy


def test_epochs_are_chosen_without_ever_seeing_the_test_target(
    tmp_path: Path, spy: type[_Spy]
) -> None:
    """#18: early stopping used to run on each shopper's last event, the test target itself."""
    data = _predictable_then_new()
    last = {(f"u{u}", f"z{u}") for u in range(30)}
    second_to_last = {(f"u{u}", f"i{(u + 3) % N_CHAIN}") for u in range(30)}
    versions = ModelVersions(tmp_path / "models")
    result = train_and_publish(data, spy.key, {}, versions, FitOptions(max_epochs=50))
    tuned, measured, final = spy.fits
    # The only fit that early-stops sees neither held-out event, and validates on the
    # second-to-last: its targets are chain items, never a shopper's own last item.
    assert tuned.validation is not None and tuned.max_epochs == 50
    assert not tuned.events & (last | second_to_last)
    vocab = data.item_vocab.ids
    assert {vocab[t] for t in tuned.validation.targets} <= {f"i{i}" for i in range(N_CHAIN)}
    assert np.array_equal(
        np.sort(tuned.validation.targets), np.sort([vocab.index(i) for _, i in second_to_last])
    )
    # The test fit runs the chosen epochs on everything but the test target, unvalidated.
    assert (measured.validation, measured.max_epochs) == (None, 3)
    assert second_to_last <= measured.events and not measured.events & last
    # The published fit knows every event.
    assert (final.validation, final.max_epochs) == (None, 3) and last <= final.events
    assert json.loads((result.version_dir / METRICS_FILE).read_text())["epochs"] == 3


def test_without_validation_one_fit_and_no_figures(tmp_path: Path, spy: type[_Spy]) -> None:
    versions = ModelVersions(tmp_path / "models")
    result = train_and_publish(_chain_log(), spy.key, {}, versions, FitOptions(), validate=False)
    assert len(spy.fits) == 1 and (result.validation, result.test) == ({}, {})


def test_store_data_round_trip(tmp_path: Path) -> None:
    data = _chain_log(5)
    path = tmp_path / "shoprec.db"
    with SQLiteCatalog(path) as catalog:
        catalog.upsert(data.items)
    with SQLiteEventStore(path) as store:
        store.append(data.events)
    loaded = load_store_data(None, path)
    assert loaded.n_events == 15
    assert loaded.items["title"].to_list()[:4] == ["A", "B", "C", "D"]
