"""Train a model on an interaction log, measure it on held-out events, publish a version.

Measuring follows the leave-one-out protocol of ``BENCHMARK_PROTOCOL.md`` (as ``shoprec
benchmark`` does): per shopper, the last event is the test target and the second-to-last the
validation target. A first fit on the rest early-stops on the validation targets, which is
where the number of epochs is chosen; a second fit on everything but the test targets, for
that many epochs, is scored on them. Both figures are stored beside the artifact
(``metrics.json``) under their own names. The published model is then fit on the whole log,
so it knows the latest events too; events after training reach it through the query at
request time, which is how shoprec stays fresh without retraining.

In data-parallel training (``FitOptions.world_size > 1``) every rank runs the same fits:
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
from shoprec.events import open_catalog, open_event_store
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
        validation: Metrics on each shopper's second-to-last event of the fit that chose the
            epochs; ``None`` when nothing was measured, and on data-parallel ranks other than 0.
        test: Metrics on each shopper's last event of the fit on everything before it; ``None``
            likewise.
        epochs: The final fit's epoch cap (the best validation epoch of iterative models).
    """

    model: BaseRecommender
    params: dict[str, Any]
    validation: dict[str, float] | None
    test: dict[str, float] | None
    epochs: int | None


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The fitted model.
        version_dir: Artifact directory it was saved to.
        validation: Validation metrics (HR/NDCG/MRR@10/20 on each shopper's second-to-last
            event, where the epochs were chosen); empty when nothing was measured.
        test: Test metrics (the same on each shopper's last event, which no choice saw); empty
            when nothing was measured.
        train_seconds: Time spent fitting.
    """

    model: BaseRecommender
    version_dir: Path
    validation: dict[str, float]
    test: dict[str, float]
    train_seconds: float


def load_store_data(events_url: str | None, store_path: Path) -> Interactions:
    """The whole event log and catalogue, ready to train on.

    Args:
        events_url: The shared store's URL (``None``: the embedded SQLite file).
        store_path: The embedded SQLite file.
    """
    with (
        open_event_store(events_url, store_path) as store,
        open_catalog(events_url, store_path) as catalog,
    ):
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
    each fit is collective, and rank 0's early stopping sets the later fits' epochs on every
    rank.
    """
    params = _with_cache_dir(key, params, cache_dir)
    epochs = opts.max_epochs
    validation = test = None
    split = leave_one_out(data)

    def logged(fit_opts: FitOptions, name: str) -> FitOptions:
        # Each fit's training curves in their own TensorBoard run, named like its checkpoints.
        log_dir = opts.log_dir / name if opts.log_dir is not None else None
        return replace(fit_opts, log_dir=log_dir)

    if validate and len(split.test):

        def ckpt(name: str) -> Path | None:
            return checkpoint_dir / name if checkpoint_dir else None

        # The measuring fits start cold: a previous version was trained on today's test
        # targets, so warm-starting from it would let them leak into the figures.
        tuned = _fit(
            key,
            params,
            split.train,
            logged(replace(opts, validation=split.validation), "validation"),
            None,
            ckpt("validation"),
        )
        epochs = getattr(tuned, "best_epoch", None) or epochs
        fixed = replace(opts, max_epochs=epochs, validation=None)
        measured = _fit(key, params, split.test_train, logged(fixed, "test"), None, ckpt("test"))
        if opts.rank == 0:
            validation = evaluate(tuned, split.validation, ks=(10, 20))
            test = evaluate(measured, split.test, ks=(10, 20))
    final = logged(replace(opts, max_epochs=epochs, validation=None), "final")
    model = _fit(
        key, params, data, final, warm_start, checkpoint_dir / "final" if checkpoint_dir else None
    )
    return Refit(model, params, validation, test, epochs)


def training_record(
    key: str,
    params: Mapping[str, Any],
    data: Interactions,
    *,
    epochs: int | None,
    validation: Mapping[str, float],
    test: Mapping[str, float],
    train_seconds: float,
    **extra: Any,
) -> dict[str, Any]:
    """The ``metrics.json`` record of a version: what it was fit on, with what, and its figures.

    Args:
        key: Registered model key.
        params: Hyperparameters it was fit with.
        data: The events it was fit on.
        epochs: Its epoch cap (``None`` for non-iterative models).
        validation: Metrics on the validation targets (where its settings were chosen).
        test: Metrics on the test targets (which no choice saw).
        train_seconds: Time spent fitting.
        **extra: Further facts to record (e.g. the store position it saw).
    """
    return {
        "model": key,
        "params": dict(params),
        "epochs": epochs,
        "train_seconds": train_seconds,
        "validation": dict(validation),
        "test": dict(test),
        "n_events": data.n_events,
        "n_users": data.events[Columns.USER].n_unique(),
        "n_items": data.n_items,
        "trained_at": time.time(),
        **extra,
    }


def publish_model(
    model: BaseRecommender, key: str, versions: ModelVersions, record: Mapping[str, Any]
) -> Path:
    """Save a fitted model as a new version with its training record and make it current.

    Args:
        model: The fitted model.
        key: Its registered key (names the version).
        versions: Where versions live.
        record: Its ``metrics.json`` (see :func:`training_record`).

    Returns:
        The new version's directory.
    """
    version_dir = versions.new_version(key)
    model.save(version_dir)
    (version_dir / METRICS_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    versions.publish(version_dir)
    return version_dir


def _privacy(model: BaseRecommender) -> dict[str, Any]:
    """``{"privacy": ...}`` for a model trained with differential privacy, else nothing.

    The published fit's own accounting: the measuring fits are separate models (whose
    validation targets chose the epochs; see docs/training.md).
    """
    spent = getattr(model, "privacy", None)
    return {"privacy": spent} if spent else {}


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
    checkpoint_dir: Path | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Fit model ``key`` on ``data``, save it as a new version, make it current.

    With ``validate``, three fits (see the module docstring): on all but each shopper's last
    two events, early-stopping on the second-to-last (validation); on all but the last, for the
    chosen number of epochs, scored on the last (test); then on everything, for as many epochs,
    so the published model knows the latest events too.

    Args:
        data: Events and catalogue.
        key: Registered model key.
        params: Hyperparameters for the model's config.
        versions: Where versions live; the new one is published there.
        opts: Run context (its ``validation`` is ignored: the held-out events are used).
            Data-parallel (``world_size > 1``): call this on rank 0 only, and
            :func:`measure_and_refit` on the other ranks.
        cache_dir: Cache folder for text embeddings (for models that use text).
        warm_start: A previous artifact whose weights initialise the published fit, for
            models that support it (others are refit from the log, which is all their state).
            The measuring fits start cold, as it has seen the test targets.
        validate: Measure first (three fits); without it, one fit of ``opts.max_epochs`` and
            no figures.
        checkpoint_dir: For models that checkpoint (sasrec): write a checkpoint per epoch
            there (``validation/``, ``test/``, ``final/``) and resume from it when a run was
            interrupted.
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
    seconds = time.perf_counter() - start
    validation, test = refit.validation or {}, refit.test or {}
    record = training_record(
        key,
        refit.params,
        data,
        epochs=refit.epochs,
        validation=validation,
        test=test,
        train_seconds=seconds,
        warm_start=str(warm_start) if warm_start else None,
        processes=opts.world_size,
        **_privacy(refit.model),
        **(provenance or {}),
    )
    version_dir = publish_model(refit.model, key, versions, record)
    return TrainResult(refit.model, version_dir, validation, test, seconds)
