"""The benchmark runner: tune each model on the validation target, then fit and test it.

For every model, each point of its ``search_space`` grid (just the defaults when it has none)
is fit on ``Split.train`` and scored on ``Split.validation``; the best NDCG@10 wins (the first
on ties). Iterative models early-stop on the same validation cases (``FitOptions.validation``)
and report the epoch they stopped at as ``best_epoch``. The chosen parameters are then fit on
``Split.test_train`` (iterative models for exactly the chosen number of epochs, without
validation) once per seed and evaluated on ``Split.test``. Hyperparameters are chosen once, on
the seed-0 split; further seeds vary the model seed and, for the cold-start protocols, which
items or users are held out.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shoprec.data import Interactions, Split, make_split
from shoprec.errors import ConfigError
from shoprec.models import BaseRecommender, FitOptions, create_model, model_class
from shoprec.types import Columns

from .metrics import category_codes
from .ranking import evaluate, evaluate_report
from .report import write_results

#: ``progress(description, done, total)``: called before each fit and once at the end.
ProgressCallback = Callable[[str, int, int], None]

#: ``on_final_fit(key, seed, model, train)``: each final (test) fit, with the data it was fit on.
FinalFitCallback = Callable[[str, int, BaseRecommender, Interactions], None]

#: Validation metric that chooses hyperparameters and epochs.
SELECTION_METRIC = "NDCG@10"


@dataclass(frozen=True)
class Trial:
    """One grid point fit on ``Split.train`` and scored on the validation cases."""

    params: dict[str, Any]
    score: float
    epochs: int | None
    fit_seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``results.json``."""
        return {
            "params": self.params,
            f"validation_{SELECTION_METRIC}": self.score,
            "epochs": self.epochs,
            "fit_seconds": self.fit_seconds,
        }


def grid(search_space: dict[str, list[Any]] | None) -> list[dict[str, Any]]:
    """Every combination of a search space, in declaration order (``[{}]`` when empty)."""
    if not search_space:
        return [{}]
    names = list(search_space)
    combos = itertools.product(*search_space.values())
    return [dict(zip(names, values, strict=True)) for values in combos]


def _epochs(model: object) -> int | None:
    """The early-stopping epoch an iterative model reports after a validated fit, else ``None``."""
    best = getattr(model, "best_epoch", None)
    return best if isinstance(best, int) and best > 0 else None


def tune(
    key: str,
    split: Split,
    seed: int = 0,
    on_trial: Callable[[int, int], None] | None = None,
    points: Sequence[dict[str, Any]] | None = None,
) -> list[Trial]:
    """Fit every grid point of model ``key`` on ``split.train``; score each on the validation cases.

    Args:
        key: Registered model key.
        split: The split whose ``train``/``validation`` parts are used.
        seed: Model seed of every fit.
        on_trial: Called with ``(index, total)`` before each fit.
        points: Parameter sets to try (default: the model's ``search_space`` grid).

    Returns:
        The trials in grid order; pick with :func:`best_trial`.
    """
    if points is None:
        points = _points(key, None)
    trials = []
    for index, params in enumerate(points):
        if on_trial is not None:
            on_trial(index, len(points))
        model = create_model(key, params)
        start = time.perf_counter()
        model.fit(split.train, FitOptions(seed=seed, validation=split.validation))
        seconds = time.perf_counter() - start
        score = evaluate(model, split.validation, ks=(10,))[SELECTION_METRIC]
        trials.append(Trial(params, score, _epochs(model), seconds))
    return trials


def _points(key: str, fixed: Mapping[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The parameter sets tried for ``key``: fixed ones when given, else its search space."""
    if fixed is not None and key in fixed:
        return [dict(fixed[key])]
    return grid(getattr(model_class(key), "search_space", None))


def best_trial(trials: Sequence[Trial]) -> Trial:
    """The trial with the highest validation score (the earliest on ties; ``nan`` loses)."""
    return max(trials, key=lambda t: -math.inf if math.isnan(t.score) else t.score)


def run_benchmark(
    data: Interactions,
    models: Sequence[str],
    protocol: str = "loo",
    seeds: int = 1,
    output: Path | None = None,
    progress: ProgressCallback | None = None,
    *,
    ks: Sequence[int] = (10, 20),
    dataset: str | None = None,
    item_embeddings: npt.NDArray[np.floating] | None = None,
    params: Mapping[str, dict[str, Any]] | None = None,
    on_final_fit: FinalFitCallback | None = None,
) -> list[dict[str, Any]]:
    """Tune, fit and evaluate each model under one protocol; optionally write the reports.

    Args:
        data: The whole interaction log and catalogue.
        models: Registered model keys, in the order they are reported.
        protocol: ``"loo"``, ``"temporal"``, ``"cold-item"`` or ``"cold-user"``.
        seeds: Number of final fits per model (seeds ``0..seeds-1``); with more than one, each
            metric is the mean and ``"<metric>_std"`` its standard deviation.
        output: Folder for ``results.json``, ``results.md`` and ``results.png`` (``None``: none).
        progress: Progress callback (see :data:`ProgressCallback`).
        ks: Metric cut-offs.
        dataset: Name shown in the reports (e.g. the folder name).
        item_embeddings: ``(n_items, D)`` item vectors for embedding diversity, if wanted.
        params: Fixed hyperparameters per model key, used instead of its search space.
        on_final_fit: Receives every fit that the test figures are measured on (e.g. to
            publish the very model a figure belongs to).

    Returns:
        One result object per model (the rows of ``results.json``).

    Raises:
        UnknownModelError: For an unregistered key (before any training starts).
        ConfigError: For an unknown protocol or ``seeds < 1``. A model whose fit raises
            ``ConfigError`` on this data is reported as a row with ``"skipped"`` (the reason).
    """
    if seeds < 1:
        raise ConfigError(f"seeds must be at least 1, got {seeds}")
    points = {key: _points(key, params) for key in models}
    total = sum(len(p) for p in points.values()) + seeds * len(models)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        if progress is not None:
            progress(message, done, total)
        done += 1

    splits: dict[int, Split] = {0: make_split(data, protocol, seed=0)}
    categories = category_codes(data)
    rows = []
    for key in models:

        def on_trial(index: int, n: int, key: str = key) -> None:
            step(f"{key}: tuning {index + 1}/{n}")

        try:
            trials = tune(key, splits[0], 0, on_trial, points[key])
        except ConfigError as exc:
            # A model that refuses this data (e.g. EASE on a huge catalogue) is reported as
            # not run, with its reason, instead of ending the whole comparison.
            rows.append(
                {"model": key, "protocol": protocol, "dataset": dataset, "skipped": str(exc)}
            )
            done += len(points[key]) - 1 + seeds
            continue
        chosen = best_trial(trials)
        runs = []
        for seed in range(seeds):
            step(f"{key}: test fit, seed {seed}")
            if seed not in splits:
                splits[seed] = make_split(data, protocol, seed=seed)
            split = splits[seed]
            model = create_model(key, chosen.params)
            start = time.perf_counter()
            model.fit(split.test_train, FitOptions(seed=seed, max_epochs=chosen.epochs))
            fitted = time.perf_counter()
            if on_final_fit is not None:
                on_final_fit(key, seed, model, split.test_train)
            report = evaluate_report(
                model,
                split.test,
                ks,
                item_categories=categories,
                item_embeddings=item_embeddings,
                train=split.test_train,
            )
            metrics = {
                **report.metrics,
                "train_seconds": fitted - start,
                "eval_seconds": time.perf_counter() - fitted,
                "cases": float(len(split.test)),
            }
            runs.append((metrics, report.by_activity))
        rows.append(_row(key, protocol, dataset, chosen, trials, runs))
    if progress is not None:
        progress("done", total, total)
    if output is not None:
        write_results(rows, output, _title(data, protocol, dataset))
    return rows


def _row(
    key: str,
    protocol: str,
    dataset: str | None,
    chosen: Trial,
    trials: list[Trial],
    runs: list[tuple[dict[str, float], dict[str, dict[str, float]]]],
) -> dict[str, Any]:
    """One ``results.json`` object: chosen params, seed-averaged metrics, trials, buckets."""
    row: dict[str, Any] = {
        "model": key,
        "protocol": protocol,
        "dataset": dataset,
        "params": chosen.params,
        "epochs": chosen.epochs,
        "seeds": len(runs),
        f"validation_{SELECTION_METRIC}": chosen.score,
        "tune_seconds": sum(t.fit_seconds for t in trials),
    }
    for name in runs[0][0]:
        values = np.asarray([metrics[name] for metrics, _ in runs], dtype=np.float64)
        row[name] = float(values.mean())
        if len(runs) > 1:
            row[f"{name}_std"] = float(values.std(ddof=1))
    row["cases"] = int(row["cases"])
    # Buckets depend on the split; the first seed's are reported.
    row["by_activity"] = runs[0][1]
    row["trials"] = [t.as_dict() for t in trials]
    return row


def _title(data: Interactions, protocol: str, dataset: str | None) -> str:
    n_users = data.events[Columns.USER].n_unique()
    name = dataset or "dataset"
    return (
        f"{name}: {n_users:,} users, {data.n_items:,} items, {data.n_events:,} events; "
        f"protocol {protocol}"
    )
