"""The main job end to end: a shop's data -> event store -> compare models -> train -> recommend.

Used by ``shoprec demo`` (and so ``make demo``): it generates the built-in synthetic shop unless
given a dataset folder, imports it into a fresh embedded store, measures a few models on the
leave-one-out split with their default settings and publishes the chosen model's measured fit
(the one its test figures belong to: fit on all but each shopper's last event, which reaches it
through the query at request time), then asks it for recommendations — for known shoppers
(their stored history) and for an anonymous session that has just bought a main product (the
planted accessories should come first).
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
from shoprec.models import BaseRecommender, FitOptions, ModelVersions, Progress
from shoprec.types import Candidates, Columns, EventType, HistoryEvent, Query

from .training import TrainResult, publish_model, train_and_publish, training_record

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
    progress: Progress | None = None,
) -> DemoResult:
    """Run the main job into ``output`` (``shop/``, ``home/``, ``evaluation/``).

    Args:
        output: Folder for everything the demo writes.
        data_dir: A dataset folder to use instead of generating the synthetic shop.
        models: Models compared on the leave-one-out split (default settings each).
        main_model: The model published: its fit measured by the comparison, or, when it is
            not among ``models``, one trained and measured on its own.
        max_epochs: Epoch cap for iterative models, to keep the demo to minutes.
        step: Progress callback.
        k: Recommendations shown per showcase.
        shop_preset: Size preset of the synthetic shop (``small``, ``demo``, ``large``).
        progress: Shows the published model's training, when it is trained here.
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
    fits: dict[str, tuple[BaseRecommender, Interactions]] = {}

    def keep(key: str, seed: int, model: BaseRecommender, train: Interactions) -> None:
        if key == main_model and seed == 0:
            fits[key] = (model, train)

    comparison = run_benchmark(
        data,
        list(models),
        "loo",
        1,
        output / "evaluation",
        lambda message, done, total: say(f"  [{min(done + 1, total)}/{total}] {message}"),
        dataset=data_dir.name,
        params={k: {"max_epochs": max_epochs} for k in models if k.startswith("sasrec")},
        search=False,
        on_final_fit=keep,
    )
    measured = next((row for row in comparison if row["model"] == main_model), None)
    versions = ModelVersions(home / "models")
    if measured is not None and main_model in fits:
        say(f"publishing the {main_model} fit that the comparison measured")
        model, train = fits[main_model]
        trained = _publish_measured(model, main_model, measured, train, versions)
    else:
        say(f"training {main_model} on the whole log (measured on held-out events first)")
        trained = train_and_publish(
            data,
            main_model,
            {},
            versions,
            FitOptions(max_epochs=max_epochs, progress=progress),
            cache_dir=home / "cache",
        )
    result = DemoResult(data_dir, home, data, comparison, trained)
    result.showcases = _showcases(trained, home / "shoprec.db", truth, k)
    return result


def _publish_measured(
    model: BaseRecommender,
    key: str,
    row: dict[str, Any],
    train: Interactions,
    versions: ModelVersions,
) -> TrainResult:
    """Publish the comparison's test fit of ``key`` with the figures measured on it (#18)."""
    validation = {"NDCG@10": row["validation_NDCG@10"]}
    test = {k: row[k] for k in _SHOWN if k in row}
    seconds = float(row["train_seconds"])
    record = training_record(
        key,
        row["params"],
        train,
        epochs=row["epochs"],
        validation=validation,
        test=test,
        train_seconds=seconds,
        fit_on="all but each shopper's last event (the test target)",
    )
    version_dir = publish_model(model, key, versions, record)
    return TrainResult(model, version_dir, validation, test, seconds)


def item_titles(data: Interactions) -> dict[str, str]:
    """Item id -> title (empty when the catalogue has none), for showing results."""
    frame = data.items.select(Columns.ITEM, Columns.TITLE)
    return {i: t or "" for i, t in frame.iter_rows()}
