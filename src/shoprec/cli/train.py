"""``shoprec train``: fit a model on the store (or a dataset folder) and publish a new version.

SASRec also trains data-parallel (docs/training.md): ``--nproc N`` starts N ranks on this
machine, and under ``torchrun --nproc-per-node N -m shoprec train --model sasrec ...`` each
process torchrun starts is one rank (``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` come from the
environment torchrun sets). Rank 0 prints and publishes; the other ranks only train.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from shoprec.data import Interactions
from shoprec.data.loaders import load_dataset
from shoprec.errors import ConfigError, DataError
from shoprec.jobs import load_store_data, train_and_publish
from shoprec.jobs.training import measure_and_refit
from shoprec.models import FitOptions, ModelVersions, create_model, model_class
from shoprec.settings import Settings

from .app import (
    ConfigOption,
    ParamOption,
    app,
    console,
    err_console,
    fit_progress,
    parse_params,
    settings_from,
)

if TYPE_CHECKING:
    from shoprec.models.sasrec import RankSpec

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Dataset folder or native-format files (default: the event store of the home).",
    ),
]


def training_data(settings: Settings, data: Path | None) -> Interactions:
    """Interactions from ``data`` if given, else from the home's event store."""
    if data is not None:
        return load_dataset(data)
    if settings.events_url is None and not settings.store_path.is_file():
        raise DataError(
            f"no event store at {settings.store_path}: import data first "
            "(`shoprec data import`) or pass --data DIR"
        )
    return load_store_data(settings.events_url, settings.store_path)


@dataclass(frozen=True)
class TrainJob:
    """One ``shoprec train`` run, as every rank of a data-parallel run receives it.

    Attributes:
        data: Interactions to train on.
        key: Model key.
        params: Hyperparameters.
        models_dir: Where versions are published.
        opts: Run context (a rank sets its own rank, world size and device).
        cache_dir: Text-embedding cache folder.
        warm_start: Previous artifact to start from.
        checkpoint_dir: Checkpoint folder (readable by every rank).
    """

    data: Interactions
    key: str
    params: dict[str, Any]
    models_dir: Path
    opts: FitOptions
    cache_dir: Path | None
    warm_start: Path | None
    checkpoint_dir: Path | None


@dataclass(frozen=True)
class Outcome:
    """What ``shoprec train`` reports: sent back from rank 0, which holds the model.

    Attributes:
        validation: Metrics on each shopper's second-to-last event (where epochs were chosen).
        test: Metrics on each shopper's last event (which no choice saw).
        train_seconds: Time spent fitting.
        version_dir: The published version.
        privacy: What a private fit spent (epsilon, delta, noise); ``None``: not private.
    """

    validation: dict[str, float]
    test: dict[str, float]
    train_seconds: float
    version_dir: Path
    privacy: dict[str, Any] | None = None


def run_job(job: TrainJob, opts: FitOptions) -> Outcome | None:
    """Train (and on rank 0 publish) ``job`` with ``opts``; ``None`` on the other ranks."""
    if opts.rank != 0:
        measure_and_refit(
            job.data,
            job.key,
            job.params,
            opts,
            cache_dir=job.cache_dir,
            warm_start=job.warm_start,
            checkpoint_dir=job.checkpoint_dir,
        )
        return None
    result = train_and_publish(
        job.data,
        job.key,
        job.params,
        ModelVersions(job.models_dir),
        opts,
        cache_dir=job.cache_dir,
        warm_start=job.warm_start,
        checkpoint_dir=job.checkpoint_dir,
    )
    privacy = getattr(result.model, "privacy", None)
    return Outcome(
        result.validation, result.test, result.train_seconds, result.version_dir, privacy
    )


def run_rank(spec: RankSpec, job: TrainJob) -> Outcome | None:
    """One rank of a data-parallel run: join the others, train, publish on rank 0."""
    from shoprec.models.sasrec import process_group  # torch: only for data-parallel runs

    with process_group(spec, job.opts.device) as device:
        opts = replace(
            job.opts,
            device=str(device),
            rank=spec.rank,
            world_size=spec.world_size,
            progress=job.opts.progress if spec.rank == 0 else None,
        )
        return run_job(job, opts)


def torchrun_rank() -> RankSpec | None:
    """This process's rank when torchrun started it among several, else ``None``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return None
    from shoprec.models.sasrec import RankSpec

    return RankSpec(
        rank=int(os.environ["RANK"]),
        world_size=world_size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        init_method="env://",
    )


def _check_data_parallel(key: str, nproc: int, torchrun: RankSpec | None) -> None:
    """Refuse a data-parallel run that cannot happen, before any data is read."""
    if torchrun is not None and nproc > 1:
        raise ConfigError(
            f"--nproc {nproc} under torchrun: torchrun already started "
            f"{torchrun.world_size} ranks (set their number with --nproc-per-node)"
        )
    ranks = torchrun.world_size if torchrun is not None else nproc
    if ranks > 1 and model_class(key) is not model_class("sasrec"):
        raise ConfigError(
            f"{ranks} training processes for {key!r}: only sasrec trains data-parallel; "
            "train other models with one process (--nproc 1)"
        )


@app.command("train")
def train(
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model key (default: settings).")
    ] = None,
    data: DataOption = None,
    param: ParamOption = None,
    warm_start: Annotated[
        Path | None,
        typer.Option(help="Previous model artifact to start from (new items start from text)."),
    ] = None,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(help="Checkpoint every epoch here; a rerun resumes (sasrec)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: settings).")] = None,
    max_epochs: Annotated[int | None, typer.Option(help="Epoch cap for iterative models.")] = None,
    nproc: Annotated[
        int,
        typer.Option(
            min=1,
            help="Data-parallel training processes on this machine (sasrec; gloo on CPU, "
            "NCCL with one GPU each on CUDA). --param batch_size stays the global batch.",
        ),
    ] = 1,
    dp_epsilon: Annotated[
        float | None,
        typer.Option(
            "--dp-epsilon",
            min=0.0,
            help="Train with differential privacy (DP-SGD via Opacus) to this epsilon, delta = "
            "1/shoppers (sasrec; docs/training.md). 'inf' = off.",
        ),
    ] = None,
    tensorboard: Annotated[
        Path | None,
        typer.Option(
            "--tensorboard",
            help="Write training curves (loss, validation metrics, learning rate, epoch time) "
            "as TensorBoard scalars under this folder (sasrec).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Train a model, measure it on held-out events, publish it as the current model.

    Epochs are chosen on each shopper's second-to-last event (validation) and the figures
    reported on the last (test); the published model is then fit on the whole log.
    """
    settings = settings_from(config)
    key = model or settings.model.key
    model_class(key)  # an unknown key fails before the data is read
    torchrun = torchrun_rank()
    _check_data_parallel(key, nproc, torchrun)
    params = parse_params(param, settings.model.params if model is None else None)
    if dp_epsilon is not None:
        if "dp_epsilon" not in model_class(key).config_cls.model_fields:
            raise ConfigError(f"--dp-epsilon: {key!r} has no private training (use sasrec)")
        params["dp_epsilon"] = dp_epsilon
    if nproc > 1:
        create_model(key, params)  # invalid hyperparameters fail here, not in every rank
    interactions = training_data(settings, data)
    job = TrainJob(
        interactions,
        key,
        params,
        settings.models_dir,
        FitOptions(
            seed=settings.train.seed if seed is None else seed,
            device=settings.train.device,
            max_epochs=max_epochs or settings.train.max_epochs,
            progress=fit_progress,
            log_dir=tensorboard,
        ),
        settings.cache_dir,
        warm_start,
        checkpoint_dir,
    )
    if torchrun is None or torchrun.rank == 0:
        err_console.print(
            f"training [bold]{key}[/bold] on {interactions.n_events:,} events, "
            f"{interactions.n_items:,} items" + (f" with {nproc} processes" if nproc > 1 else "")
        )
    if torchrun is not None:
        outcome = run_rank(torchrun, job)
    elif nproc > 1:
        from shoprec.models.sasrec import launch  # torch: only for data-parallel runs

        outcome = launch(run_rank, nproc, job)
    else:
        outcome = run_job(job, job.opts)
    if outcome is None:  # a torchrun rank other than 0
        return
    table = Table(
        "metric",
        "validation (2nd-to-last event)",
        "test (last event)",
        title=f"{key}: leave-one-out, each shopper's held-out events",
    )
    for name, value in outcome.test.items():
        table.add_row(name, f"{outcome.validation.get(name, float('nan')):.4f}", f"{value:.4f}")
    console.print(table)
    if outcome.privacy:
        console.print(
            f"differentially private: epsilon {outcome.privacy['epsilon']:.3g} "
            f"(delta {outcome.privacy['delta']:.2g}, DP-SGD noise multiplier "
            f"{outcome.privacy['noise_multiplier']:.3g})"
        )
    console.print(f"trained in {outcome.train_seconds:.1f} s -> {outcome.version_dir} (current)")
