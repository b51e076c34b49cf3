"""``shoprec optimize``: derive a compressed model (int8, fp16, bf16, prune, distill, onnx)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from shoprec.data.loaders import load_dataset
from shoprec.models import FitOptions, ModelVersions
from shoprec.optimize import METHODS, artifact_size_mb, optimize_artifact, parameter_count

from .app import ConfigOption, ParamOption, app, console, fit_progress, parse_params, settings_from


@app.command("optimize")
def optimize(
    model_dir: Annotated[Path, typer.Argument(help="Model artifact directory (SASRec family).")],
    method: Annotated[str, typer.Option(help=f"One of: {', '.join(METHODS)}.")],
    output: Annotated[Path, typer.Option(help="Directory for the new artifact.")],
    data: Annotated[
        Path | None,
        typer.Option(help="Training data folder (needed by prune and distill)."),
    ] = None,
    param: ParamOption = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Epoch cap of the training methods.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the training methods.")] = 0,
    device: Annotated[str, typer.Option(help="Torch device for training methods.")] = "auto",
    publish: Annotated[
        bool,
        typer.Option(
            help="Also publish the derived model as a new version of the home's models and make it "
            "current (a running `shoprec serve` swaps it in)."
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Derive a compressed model from a trained one, as a new artifact ``shoprec serve`` loads.

    Settings of the derived model go in ``--param`` (e.g. ``-p prune_amount=0.7``,
    ``-p student_hidden=32``, ``-p shortlist=200``).
    """
    interactions = load_dataset(data) if data is not None else None
    opts = FitOptions(seed=seed, device=device, max_epochs=epochs, progress=fit_progress)
    derived = optimize_artifact(model_dir, method, output, interactions, opts, parse_params(param))
    params = parameter_count(derived)
    console.print(
        f"{method} model ({derived.key}) -> {output} ({artifact_size_mb(output):.2f} MB"
        + (f", {params:,} parameters" if params is not None else "")
        + ")"
    )
    if publish:
        versions = ModelVersions(settings_from(config).models_dir)
        target = versions.new_version(derived.key)
        shutil.copytree(output, target)
        versions.publish(target)
        console.print(f"published as {target} (current)")
