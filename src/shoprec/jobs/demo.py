"""The main job end to end: a shop's data -> event store -> compare models -> train -> recommend.

Used by ``shoprec demo`` (and so ``make demo``): it generates the built-in synthetic shop unless
given a dataset folder, imports it into a fresh embedded store, measures a few models on the
leave-one-out split with their default settings, trains the chosen model on the whole log and
publishes it, then asks it for recommendations — for known shoppers (their stored history) and
for an anonymous session that has just bought a main product (the planted accessories should
come first).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shoprec.data import Interactions
from shoprec.data.loaders import load_dataset
from shoprec.data.synthetic import PlantedTruth, generate_shop, preset, read_truth, write_shop
from shoprec.evaluation import run_benchmark
from shoprec.events import SQLiteCatalog, SQLiteEventStore, stored_query
from shoprec.models import FitOptions, ModelVersions
from shoprec.types import Candidates, Columns, EventType, HistoryEvent, Query

from .training import TrainResult, train_and_publish

#: Test metrics of the comparison recorded with the published model.
_SHOWN = ("HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR@20", "coverage@10")

#: ``step(message)``: called when a stage starts.
StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class Showcase:
    """One recommendation shown by the demo."""

    title: str
    history: tuple[str, ...]
    ranked: Candidates


@dataclass
class DemoResult:
    """Everything the demo produced (printed by the CLI)."""

    data_dir: Path
    home: Path
    data: Interactions
    comparison: list[dict[str, Any]]
    trained: TrainResult
    showcases: list[Showcase] = field(default_factory=list)


def fresh_store(home: Path, data: Interactions) -> None:
    """Import ``data`` into a new embedded store under ``home`` (replacing an older one)."""
    home.mkdir(parents=True, exist_ok=True)
    for old in home.glob("shoprec.db*"):
        old.unlink()
    store_path = home / "shoprec.db"
    with SQLiteCatalog(store_path) as catalog:
        catalog.upsert(data.items)
    with SQLiteEventStore(store_path) as store:
        store.append(data.events)


def _showcases(
    result: TrainResult, store_path: Path, truth: PlantedTruth | None, k: int
) -> list[Showcase]:
    """Recommendations for three stored shoppers and one fresh session after a main purchase."""
    model = result.model
    shown: list[Showcase] = []
    with SQLiteEventStore(store_path) as store:
        for user in store.users()[:3]:
            query = stored_query(store, user)
            shown.append(
                Showcase(f"shopper {user}", query.history_items[-3:], model.recommend(query, k))
            )
    if truth is not None and truth.complements:
        main = next(iter(truth.complements))
        query = Query(history=(HistoryEvent(main, EventType.PURCHASE.value),))
        shown.append(
            Showcase(
                "anonymous session that just bought a main product "
                f"(planted accessories: {', '.join(truth.complements[main])})",
                (main,),
                model.recommend(query, k),
            )
        )
    return shown


def run_demo(
    output: Path,
    data_dir: Path | None = None,
    models: Sequence[str] = ("popularity", "covisit", "ease", "sasrec"),
    main_model: str = "sasrec",
    max_epochs: int | None = 30,
    step: StepCallback | None = None,
    k: int = 5,
    shop_preset: str = "demo",
) -> DemoResult:
    """Run the main job into ``output`` (``shop/``, ``home/``, ``evaluation/``).

    Args:
        output: Folder for everything the demo writes.
        data_dir: A dataset folder to use instead of generating the synthetic shop.
        models: Models compared on the leave-one-out split (default settings each).
        main_model: The model trained on the whole log and published.
        max_epochs: Epoch cap for iterative models, to keep the demo to minutes.
        step: Progress callback.
        k: Recommendations shown per showcase.
        shop_preset: Size preset of the synthetic shop (``small``, ``demo``, ``large``).
    """

    def say(message: str) -> None:
        if step is not None:
            step(message)

    truth: PlantedTruth | None = None
    if data_dir is None:
        data_dir = output / "shop"
        say("generating the synthetic shop")
        if data_dir.exists():
            shutil.rmtree(data_dir)
        write_shop(generate_shop(preset(shop_preset)), data_dir)
    if (data_dir / "truth.json").is_file():
        truth = read_truth(data_dir)
    data = load_dataset(data_dir)
    home = output / "home"
    say(f"importing {data.n_events:,} events and {data.items.height:,} items into the store")
    fresh_store(home, data)
    say("comparing models on each shopper's last event (leave-one-out)")
    comparison = run_benchmark(
        data,
        list(models),
        "loo",
        1,
        output / "evaluation",
        lambda message, done, total: say(f"  [{min(done + 1, total)}/{total}] {message}"),
        dataset=data_dir.name,
        params={k: {"max_epochs": max_epochs} if k.startswith("sasrec") else {} for k in models},
    )
    measured = next((row for row in comparison if row["model"] == main_model), None)
    say(f"training {main_model} on the whole log")
    trained = train_and_publish(
        data,
        main_model,
        dict(measured["params"]) if measured else {},
        ModelVersions(home / "models"),
        FitOptions(max_epochs=(measured or {}).get("epochs") or max_epochs, progress=True),
        cache_dir=home / "cache",
        # Measured just above on the same split: no second validation fit.
        validate=measured is None,
        metrics={k: v for k, v in (measured or {}).items() if k in _SHOWN},
    )
    result = DemoResult(data_dir, home, data, comparison, trained)
    result.showcases = _showcases(trained, home / "shoprec.db", truth, k)
    return result


def item_titles(data: Interactions) -> dict[str, str]:
    """Item id -> title (empty when the catalogue has none), for showing results."""
    frame = data.items.select(Columns.ITEM, Columns.TITLE)
    return {i: t or "" for i, t in frame.iter_rows()}
