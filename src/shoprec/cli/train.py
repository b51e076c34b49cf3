"""``shoprec train``: fit a model on the store (or a dataset folder) and publish a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.data import Interactions
from shoprec.data.loaders import load_dataset
from shoprec.errors import DataError
from shoprec.jobs import load_store_data, train_and_publish
from shoprec.models import FitOptions, ModelVersions, model_class
from shoprec.settings import Settings

from .app import ConfigOption, ParamOption, app, console, err_console, parse_params, settings_from

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
    if not settings.store_path.is_file():
        raise DataError(
            f"no event store at {settings.store_path}: import data first "
            "(`shoprec data import`) or pass --data DIR"
        )
    return load_store_data(settings.store_path)


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
    config: ConfigOption = None,
) -> None:
    """Train a model, measure it on each shopper's last event, publish it as the current model."""
    settings = settings_from(config)
    key = model or settings.model.key
    model_class(key)  # an unknown key fails before the data is read
    params = parse_params(param, settings.model.params if model is None else None)
    interactions = training_data(settings, data)
    err_console.print(
        f"training [bold]{key}[/bold] on {interactions.n_events:,} events, "
        f"{interactions.n_items:,} items"
    )
    result = train_and_publish(
        interactions,
        key,
        params,
        ModelVersions(settings.models_dir),
        FitOptions(
            seed=settings.train.seed if seed is None else seed,
            device=settings.train.device,
            max_epochs=max_epochs or settings.train.max_epochs,
            progress=True,
        ),
        cache_dir=settings.cache_dir,
        warm_start=warm_start,
        checkpoint_dir=checkpoint_dir,
    )
    table = Table("metric (last event per shopper)", "value", title=f"{key} validation")
    for name, value in result.metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"trained in {result.train_seconds:.1f} s -> {result.version_dir} (current)")
