"""The benchmark runner: tune each model on the validation target, then fit and test it.

For every model, the points of its ``search_space`` (just the defaults when it has none) are
fit on ``Split.train`` and scored on ``Split.validation``; the best NDCG@10 wins (the first on
ties). A model class chooses how its space is walked with ``search`` (a class attribute next to
``search_space``): ``"grid"`` (the default) tries every combination; ``"coordinate"`` starts
from the first value of every parameter (the config default, by convention), then tries each
parameter's other values one parameter at a time, in declaration order, each over the best
point so far, which it replaces only when it scores strictly higher: ``1 + sum(len(values) - 1)``
fits instead of the product, for models whose fit is expensive (SASRec). A search-space value
that is a dict sets several config fields together (e.g. two dropouts that move as one). Fixed
parameters (``run_benchmark(params=...)``, ``shoprec benchmark -p MODEL.NAME=VALUE``) hold in
every fit and leave the search the other parameters; ``search=False`` (``--no-tune``) fits the
fixed parameters over the defaults alone.

Iterative models early-stop on the same validation cases (``FitOptions.validation``) and
report the epoch they stopped at as ``best_epoch``. The chosen parameters are then fit on
``Split.test_train`` (iterative models for exactly the chosen number of epochs, without
validation) once per seed and evaluated on ``Split.test``. Hyperparameters are chosen once, on
the seed-0 split; further seeds vary the model seed and, for the cold-start protocols, which
items or users are held out. A model that offers ``feature_importance()`` (a learned ranker)
reports its mean over the seeds' final fits, and a float ``candidate_recall`` attribute is
reported as one more metric (mean and std over the seeds).
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
from pydantic import ValidationError as PydanticValidationError

from shoprec.data import Interactions, Split, make_split
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models import BaseRecommender, FitOptions, create_model, model_class
from shoprec.types import Columns

from .exposure import item_brands
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
    history: tuple[dict[str, float], ...] = ()
    """Per-epoch training log of an iterative model (its learning curve); empty otherwise."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``results.json``."""
        return {
            "params": self.params,
            f"validation_{SELECTION_METRIC}": self.score,
            "epochs": self.epochs,
            "fit_seconds": self.fit_seconds,
        }


#: How a model class's ``search_space`` is walked (its ``search`` class attribute).
SEARCHES = ("grid", "coordinate")


@dataclass(frozen=True)
class Step:
    """One fit of a search.

    Attributes:
        params: Config values of the fit.
        relative: Apply ``params`` over the parameters of the best trial so far (coordinate
            search) instead of on their own; so a search's later points depend on its results.
    """

    params: dict[str, Any]
    relative: bool = False


def _fields(name: str, value: Any) -> dict[str, Any]:
    """The config fields one search-space value sets: a dict sets several fields at once."""
    return dict(value) if isinstance(value, Mapping) else {name: value}


def grid(search_space: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    """Every combination of a search space, in declaration order (``[{}]`` when empty).

    A value that is a dict contributes all of its fields (see :func:`coordinate`).
    """
    if not search_space:
        return [{}]
    names = list(search_space)
    points = []
    for values in itertools.product(*search_space.values()):
        point: dict[str, Any] = {}
        for name, value in zip(names, values, strict=True):
            point.update(_fields(name, value))
        points.append(point)
    return points


def coordinate(search_space: Mapping[str, Sequence[Any]] | None) -> list[Step]:
    """Coordinate search: one parameter at a time from the first value of each.

    The first step fits the first value of every parameter (by convention the config's
    default); then, in declaration order, every other value of each parameter is fit over the
    best point so far (:func:`best_trial` of the trials before it), so a value is kept only
    when it beats every earlier fit (ties keep the earlier). ``1 + sum(len(values) - 1)`` fits.

    Args:
        search_space: Parameter name -> values to try. A value may be a dict of several config
            fields that move together (e.g. ``{"dropout": 0.5, "emb_dropout": 0.5}``).

    Returns:
        The steps: the starting point, then one relative step per other value.

    Raises:
        ConfigError: When a parameter offers no value.
    """
    if not search_space:
        return [Step({})]
    start: dict[str, Any] = {}
    for name, values in search_space.items():
        if not values:
            raise ConfigError(f"search space: {name!r} offers no value")
        start.update(_fields(name, values[0]))
    steps = [Step(start)]
    for name, values in search_space.items():
        steps += [Step(_fields(name, value), relative=True) for value in values[1:]]
    return steps


def search_steps(
    key: str, fixed: Mapping[str, dict[str, Any]] | None = None, *, search: bool = True
) -> list[Step]:
    """The fits that choose ``key``'s parameters: its search, with its fixed ones in every fit.

    Args:
        key: Registered model key.
        fixed: Fixed parameters per model key; the search leaves these names alone (a
            search-space entry that sets one of them is dropped) and every fit gets them.
        search: ``False``: no search, one fit with the fixed parameters over the defaults.

    Raises:
        ConfigError: When the model class declares an unknown ``search``.
    """
    pinned = dict((fixed or {}).get(key, {}))
    if not search:
        return [Step(pinned)]
    cls = model_class(key)
    space = {
        name: values
        for name, values in (getattr(cls, "search_space", None) or {}).items()
        if not any(set(_fields(name, v)) & set(pinned) for v in values)
    }
    walk = getattr(cls, "search", "grid")
    if walk == "coordinate":
        steps = coordinate(space)
    elif walk == "grid":
        steps = [Step(point) for point in grid(space)]
    else:
        raise ConfigError(f"{cls.__name__}.search = {walk!r}: choose one of {', '.join(SEARCHES)}")
    # Relative steps apply over the best trial, which already holds the fixed values.
    return [s if s.relative else Step({**s.params, **pinned}) for s in steps]


def _epochs(model: object) -> int | None:
    """The early-stopping epoch an iterative model reports after a validated fit, else ``None``."""
    best = getattr(model, "best_epoch", None)
    return best if isinstance(best, int) and best > 0 else None


def _trial(key: str, params: dict[str, Any], split: Split, seed: int) -> Trial:
    """Fit ``key`` with ``params`` on ``split.train`` and score it on the validation cases."""
    model = create_model(key, params)
    start = time.perf_counter()
    model.fit(split.train, FitOptions(seed=seed, validation=split.validation))
    seconds = time.perf_counter() - start
    score = evaluate(model, split.validation, ks=(10,))[SELECTION_METRIC]
    return Trial(params, score, _epochs(model), seconds, _history(model))


def _history(model: object) -> tuple[dict[str, float], ...]:
    """An iterative model's per-epoch log (``model.history``), else empty."""
    history = getattr(model, "history", None)
    if not isinstance(history, list):
        return ()
    return tuple({str(k): float(v) for k, v in record.items()} for record in history)


def tune(
    key: str,
    split: Split,
    seed: int = 0,
    on_trial: Callable[[int, int], None] | None = None,
    points: Sequence[dict[str, Any] | Step] | None = None,
) -> list[Trial]:
    """Run the search of model ``key``: fit each point on ``split.train``, score on validation.

    The steps run in order and adaptively: a relative step (coordinate search) is applied over
    the best trial before it.

    Args:
        key: Registered model key.
        split: The split whose ``train``/``validation`` parts are used.
        seed: Model seed of every fit.
        on_trial: Called with ``(index, total)`` before each fit.
        points: Parameter sets (or steps) to try (default: the model's search,
            :func:`search_steps`).

    Returns:
        The trials in the order they ran; pick with :func:`best_trial`.
    """
    steps = search_steps(key) if points is None else [_step(p) for p in points]
    trials: list[Trial] = []
    for index, step in enumerate(steps):
        if on_trial is not None:
            on_trial(index, len(steps))
        params = dict(step.params)
        if step.relative and trials:
            params = {**best_trial(trials).params, **params}
        trials.append(_trial(key, params, split, seed))
    return trials


def _step(point: dict[str, Any] | Step) -> Step:
    return point if isinstance(point, Step) else Step(dict(point))


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
    search: bool = True,
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
        params: Fixed hyperparameters per model key, held in every fit of that model (the
            search tunes the others).
        search: ``False``: no search; each model is fit with its fixed parameters over its
            defaults (iterative ones still early-stop on validation).
        on_final_fit: Receives every fit that the test figures are measured on (e.g. to
            publish the very model a figure belongs to).

    Returns:
        One result object per model (the rows of ``results.json``).

    Raises:
        UnknownModelError: For an unregistered key (before any training starts).
        ConfigError: For an unknown protocol, ``seeds < 1`` or fixed parameters the model's
            config rejects (before any training starts). A model whose fit raises
            ``ConfigError`` on this data is reported as a row with ``"skipped"`` (the reason).
    """
    if seeds < 1:
        raise ConfigError(f"seeds must be at least 1, got {seeds}")
    points = {key: search_steps(key, params, search=search) for key in models}
    for key in models:
        if params is not None and key in params:
            _check_params(key, params[key])
    total = sum(len(p) for p in points.values()) + seeds * len(models)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        if progress is not None:
            progress(message, done, total)
        done += 1

    splits: dict[int, Split] = {0: make_split(data, protocol, seed=0)}
    categories = category_codes(data)
    brands = item_brands(data)
    rows = []
    for key in models:

        def on_trial(index: int, n: int, key: str = key) -> None:
            step(f"{key}: tuning {index + 1}/{n}")

        before = done
        try:
            trials = tune(key, splits[0], 0, on_trial, points[key])
        except ConfigError as exc:
            # A model that refuses this data (e.g. EASE on a huge catalogue) is reported as
            # not run, with its reason, instead of ending the whole comparison.
            rows.append(
                {"model": key, "protocol": protocol, "dataset": dataset, "skipped": str(exc)}
            )
            done = before + len(points[key]) + seeds
            continue
        chosen = best_trial(trials)
        runs: list[_Run] = []
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
                item_brands=brands,
            )
            metrics = {
                **report.metrics,
                "train_seconds": fitted - start,
                "eval_seconds": time.perf_counter() - fitted,
                "cases": float(len(split.test)),
            }
            recall = getattr(model, "candidate_recall", None)
            if isinstance(recall, float | np.floating):
                metrics["candidate_recall"] = float(recall)
            runs.append(_Run(metrics, report.by_activity, _importance(model)))
        rows.append(_row(key, protocol, dataset, chosen, trials, runs))
    if progress is not None:
        progress("done", total, total)
    if output is not None:
        write_results(rows, output, _title(data, protocol, dataset))
    return rows


def _check_params(key: str, params: dict[str, Any]) -> None:
    """Raise ``ConfigError`` when ``key``'s config rejects the fixed ``params``."""
    try:
        create_model(key, params)
    except PydanticValidationError as exc:
        raise ConfigError(f"{key}: invalid parameters {params}: {exc}") from exc


@dataclass(frozen=True)
class _Run:
    """What one final (test) fit measured."""

    metrics: dict[str, float]
    by_activity: dict[str, dict[str, float]]
    importance: dict[str, float] | None


def _importance(model: object) -> dict[str, float] | None:
    """``model.feature_importance()`` when the model offers one (a ranker), else ``None``."""
    method = getattr(model, "feature_importance", None)
    if not callable(method):
        return None
    try:
        values = method()
    except ShoprecError:  # e.g. no ranker was trained: the figures stand without it
        return None
    return {str(name): float(share) for name, share in values.items()} or None


def mean_importance(maps: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of feature-importance maps (a name absent from one counts 0 there).

    Returns:
        Name -> mean share, the most important first (ties keep the first-seen order).
    """
    names = list(dict.fromkeys(name for m in maps for name in m))
    mean = {name: sum(m.get(name, 0.0) for m in maps) / len(maps) for name in names}
    return dict(sorted(mean.items(), key=lambda item: -item[1]))


def _row(
    key: str,
    protocol: str,
    dataset: str | None,
    chosen: Trial,
    trials: list[Trial],
    runs: list[_Run],
) -> dict[str, Any]:
    """One ``results.json`` object: chosen params, seed-averaged metrics, trials, buckets.

    With more than one seed, ``"by_seed"`` lists each seed's metrics (index = seed).

    A model with ``feature_importance()`` (a ranker) adds ``"feature_importance"``: the mean
    over the seeds' final fits, the most important first.
    """
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
    for name in runs[0].metrics:
        values = np.asarray([run.metrics[name] for run in runs], dtype=np.float64)
        row[name] = float(values.mean())
        if len(runs) > 1:
            row[f"{name}_std"] = float(values.std(ddof=1))
    row["cases"] = int(row["cases"])
    if len(runs) > 1:
        # Each seed's own figures (index = seed), for paired comparisons between models.
        row["by_seed"] = [run.metrics for run in runs]
    # Buckets depend on the split; the first seed's are reported.
    row["by_activity"] = runs[0].by_activity
    importances = [run.importance for run in runs if run.importance]
    if importances:
        row["feature_importance"] = mean_importance(importances)
    row["trials"] = [t.as_dict() for t in trials]
    if chosen.history:
        # The chosen fit's curve: training loss and validation metrics per epoch.
        row["learning_curve"] = list(chosen.history)
    return row


def _title(data: Interactions, protocol: str, dataset: str | None) -> str:
    n_users = data.events[Columns.USER].n_unique()
    name = dataset or "dataset"
    return (
        f"{name}: {n_users:,} users, {data.n_items:,} items, {data.n_events:,} events; "
        f"protocol {protocol}"
    )
