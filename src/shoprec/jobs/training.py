"""Train a model on an interaction log, measure it on held-out last events, publish a version.

The model is first fit on every shopper's events except the last, which is the validation
target: it chooses the epoch for iterative models (early stopping) and yields the validation
metrics stored beside the artifact (``metrics.json``). The published model is then refit on
the whole log, so it knows the latest events too; events after training reach it through the
query at request time, which is how shoprec stays fresh without retraining.

In data-parallel training (``FitOptions.world_size > 1``) every rank runs the same two fits:
rank 0 through :func:`train_and_publish`, the others through :func:`measure_and_refit`, the
fitting half of it; rank 0 alone measures, saves and publishes.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shoprec.data import Interactions, leave_one_out
from shoprec.evaluation import evaluate
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.models import (
    BaseRecommender,
    FitOptions,
    ModelVersions,
    create_model,
    load_model,
    model_class,
)
from shoprec.types import Columns

#: File beside an artifact holding its training record.
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class Refit:
    """What :func:`measure_and_refit` produced.

    Attributes:
        model: The model fit on the whole log.
        params: The hyperparameters it was fit with (the embedding cache folder filled in).
        metrics: Validation metrics of the measuring fit; ``None`` when there was none, and on
            data-parallel ranks other than 0.
        epochs: The final fit's epoch cap (the best validation epoch of iterative models).
    """

    model: BaseRecommender
    params: dict[str, Any]
    metrics: dict[str, float] | None
    epochs: int | None


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The fitted model.
        version_dir: Artifact directory it was saved to.
        metrics: Validation metrics (HR/NDCG@10/20 on each shopper's last event).
        train_seconds: Time spent fitting.
    """

    model: BaseRecommender
    version_dir: Path
    metrics: dict[str, float]
    train_seconds: float


def load_store_data(store_path: Path) -> Interactions:
    """The whole event log and catalogue of an embedded store, ready to train on."""
    with SQLiteEventStore(store_path) as store, SQLiteCatalog(store_path) as catalog:
        events = store.frame()
        items = catalog.frame()
    return Interactions(events, items if items.height else None)


def _with_cache_dir(key: str, params: Mapping[str, Any], cache_dir: Path | None) -> dict[str, Any]:
    """Point a text-using model's embedding cache at the shoprec home unless told otherwise."""
    merged = dict(params)
    fields = model_class(key).config_cls.model_fields
    if cache_dir is not None and "text_cache_dir" in fields and "text_cache_dir" not in merged:
        merged["text_cache_dir"] = str(cache_dir / "text-embeddings")
    return merged


def _fit(
    key: str,
    params: Mapping[str, Any],
    data: Interactions,
    opts: FitOptions,
    warm_start: Path | None,
    checkpoint_dir: Path | None,
) -> BaseRecommender:
    model = create_model(key, dict(params))
    accepts = inspect.signature(model.fit).parameters
    kwargs: dict[str, Any] = {}
    if warm_start is not None and "warm_start" in accepts:
        kwargs["warm_start"] = load_model(warm_start)
    if checkpoint_dir is not None and "checkpoint_dir" in accepts:
        kwargs["checkpoint_dir"] = checkpoint_dir
    model.fit(data, opts, **kwargs)
    return model


def measure_and_refit(
    data: Interactions,
    key: str,
    params: Mapping[str, Any],
    opts: FitOptions,
    *,
    cache_dir: Path | None = None,
    warm_start: Path | None = None,
    validate: bool = True,
    checkpoint_dir: Path | None = None,
) -> Refit:
    """The fits of :func:`train_and_publish` (same arguments), without saving anything.

    Data-parallel ranks other than 0 call this while rank 0 calls :func:`train_and_publish`:
    each fit is collective, and rank 0's early stopping sets the refit's epochs on every rank.
    """
    params = _with_cache_dir(key, params, cache_dir)
    epochs = opts.max_epochs
    metrics = None
    split = leave_one_out(data)
    if validate and len(split.test):
        run = replace(opts, validation=split.test)
        ckpt = checkpoint_dir / "validation" if checkpoint_dir else None
        measured = _fit(key, params, split.test_train, run, warm_start, ckpt)
        if opts.rank == 0:
            metrics = evaluate(measured, split.test, ks=(10, 20))
        epochs = getattr(measured, "best_epoch", None) or epochs
    final = replace(opts, max_epochs=epochs, validation=None)
    model = _fit(
        key, params, data, final, warm_start, checkpoint_dir / "final" if checkpoint_dir else None
    )
    return Refit(model, params, metrics, epochs)


def train_and_publish(
    data: Interactions,
    key: str,
    params: Mapping[str, Any],
    versions: ModelVersions,
    opts: FitOptions,
    *,
    cache_dir: Path | None = None,
    warm_start: Path | None = None,
    validate: bool = True,
    metrics: Mapping[str, float] | None = None,
    checkpoint_dir: Path | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Fit model ``key`` on ``data``, save it as a new version, make it current.

    With ``validate``, the model is first fit on all but each shopper's last event and
    measured on those (iterative models early-stop there), then refit on everything for the
    chosen number of epochs, so the published model knows the latest events too.

    Args:
        data: Events and catalogue.
        key: Registered model key.
        params: Hyperparameters for the model's config.
        versions: Where versions live; the new one is published there.
        opts: Run context (its ``validation`` is ignored: the held-out last events are used).
            Data-parallel (``world_size > 1``): call this on rank 0 only, and
            :func:`measure_and_refit` on the other ranks.
        cache_dir: Cache folder for text embeddings (for models that use text).
        warm_start: A previous artifact whose weights initialise the new model, for models
            that support it (others are refit from the log, which is all their state).
        validate: Measure first (two fits); without it, one fit of ``opts.max_epochs``.
        metrics: Without ``validate``: metrics measured elsewhere to record with the model.
        checkpoint_dir: For models that checkpoint (sasrec): write a checkpoint per epoch
            there and resume from it when a run was interrupted.
        provenance: Extra facts to record in ``metrics.json`` (e.g. the store position).

    Raises:
        ModelError: The model cannot be trained on this data (message says why).
    """
    start = time.perf_counter()
    refit = measure_and_refit(
        data,
        key,
        params,
        opts,
        cache_dir=cache_dir,
        warm_start=warm_start,
        validate=validate,
        checkpoint_dir=checkpoint_dir,
    )
    measured_metrics = refit.metrics if refit.metrics is not None else dict(metrics or {})
    model = refit.model
    seconds = time.perf_counter() - start
    version_dir = versions.new_version(key)
    model.save(version_dir)
    record = {
        "model": key,
        "params": refit.params,
        "epochs": refit.epochs,
        "train_seconds": seconds,
        "validation": measured_metrics,
        "n_events": data.n_events,
        "n_users": data.events[Columns.USER].n_unique(),
        "n_items": data.n_items,
        "warm_start": str(warm_start) if warm_start else None,
        "processes": opts.world_size,
        "trained_at": time.time(),
        **(provenance or {}),
    }
    (version_dir / METRICS_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    versions.publish(version_dir)
    return TrainResult(model, version_dir, measured_metrics, seconds)
