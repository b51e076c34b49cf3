"""``shoprec benchmark`` and ``shoprec evaluate``: offline measurement on a dataset folder.

``benchmark`` tunes each model on the validation target over its search space, then fits on
train + validation and scores the test target; ``evaluate`` does the same for one model with
the parameters given (no search). Both write ``results.json`` / ``.md`` / ``.png`` and a
self-contained ``report.html`` when asked (``evaluate --html PATH`` writes just the page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from shoprec.data import SPLIT_PROTOCOLS
from shoprec.data.loaders import load_dataset
from shoprec.errors import ConfigError
from shoprec.evaluation import run_benchmark, summary, write_html
from shoprec.optimize import run_compression_benchmark, summary_rows

from .app import ParamOption, app, console, err_console, parse_params

DataArg = Annotated[
    Path, typer.Option("--data", help="Dataset folder (shoprec format) or native-format files.")
]
ProtocolOption = Annotated[str, typer.Option(help=f"Split protocol: {', '.join(SPLIT_PROTOCOLS)}.")]
SeedsOption = Annotated[int, typer.Option(min=1, help="Final fits per model (mean and std).")]


def comparison_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The models side by side (test target), as a terminal table."""
    header, lines = summary(rows)
    table = Table(*header, title=title)
    for line in lines:
        table.add_row(*line)
    return table


def _run(
    data_path: Path,
    models: list[str],
    protocol: str,
    seeds: int,
    output: Path | None,
    params: dict[str, dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Load the data and run the benchmark with a progress bar on stderr."""
    if protocol not in SPLIT_PROTOCOLS:
        raise ConfigError(f"--protocol {protocol!r}: choose one of {', '.join(SPLIT_PROTOCOLS)}")
    data = load_dataset(data_path)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task("splitting", total=None)

        def update(message: str, done: int, total: int) -> None:
            bar.update(task, description=message, completed=done, total=total)

        return run_benchmark(
            data,
            models,
            protocol,
            seeds,
            output,
            update,
            dataset=data_path.name,
            params=params,
        )


@app.command("benchmark")
def benchmark(
    data: DataArg,
    models: Annotated[
        str, typer.Option(help="Comma-separated model keys (`shoprec models` lists them).")
    ] = "popularity,covisit,ease,als",
    protocol: ProtocolOption = "loo",
    seeds: SeedsOption = 1,
    output: Annotated[Path, typer.Option(help="Folder for results.json/.md/.png.")] = Path(
        "benchmark-output"
    ),
    optimize: Annotated[
        bool,
        typer.Option(
            "--optimize",
            help="Compression benchmark: fit each (SASRec-family) model once, derive every "
            "variant (int8, fp16, bf16, pruned, distilled, onnx) and compare them (LOO).",
        ),
    ] = False,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="--optimize: fixed epoch budget instead of early stopping."),
    ] = None,
    param: ParamOption = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="--optimize: compress this trained artifact (fit on the data's train + "
            "validation part) instead of fitting one; needs --epochs for the training methods."
        ),
    ] = None,
) -> None:
    """Tune each model on validation, test it, write and print the comparison."""
    keys = [k.strip() for k in models.split(",") if k.strip()]
    if optimize:
        _optimize(data, keys, output, epochs, parse_params(param), model_dir)
        return
    if model_dir is not None:
        raise ConfigError("--model-dir goes with --optimize")
    rows = _run(data, keys, protocol, seeds, output, None)
    console.print(comparison_table(rows, f"{data.name} ({protocol}, test target)"))
    console.print(
        f"results -> {output}/results.json, results.md, results.png, report.html", style="dim"
    )


def _optimize(
    data_path: Path,
    keys: list[str],
    output: Path,
    epochs: int | None,
    params: dict[str, Any],
    model_dir: Path | None,
) -> None:
    """``benchmark --optimize``: one compression table per model key."""
    if model_dir is not None and len(keys) != 1:
        raise ConfigError("--model-dir compresses one model: give one key in --models")
    data = load_dataset(data_path)
    for key in keys:
        out = output if len(keys) == 1 else output / key
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=err_console) as bar:
            task = bar.add_task("splitting", total=None)

            def update(
                message: str, done: int, total: int, bar: Progress = bar, task: TaskID = task
            ) -> None:
                bar.update(task, description=message, completed=done, total=total)

            rows = run_compression_benchmark(
                data,
                key,
                params=params,
                epochs=epochs,
                output=out,
                progress=update,
                dataset=data_path.name,
                source_dir=model_dir,
            )
        header, lines = summary_rows(rows)
        table = Table(*header, title=f"{key} compressed on {data_path.name} (loo, test target)")
        for line in lines:
            table.add_row(*line)
        console.print(table)
        console.print(f"results -> {out}/results.json, results.md", style="dim")


@app.command("evaluate")
def evaluate(
    data: DataArg,
    model: Annotated[str, typer.Option("--model", "-m", help="Model key.")] = "ease",
    param: ParamOption = None,
    protocol: ProtocolOption = "loo",
    seeds: SeedsOption = 1,
    output: Annotated[Path | None, typer.Option(help="Also write results files here.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
    ] = None,
) -> None:
    """Fit one model with the given parameters and report every metric, by activity too."""
    rows = _run(data, [model], protocol, seeds, output, {model: parse_params(param)})
    if html is not None:
        write_html(rows, html, f"{model} on {data.name} ({protocol}, test target)")
        console.print(f"report -> {html}", style="dim")
    row = rows[0]
    table = Table("metric", "value", title=f"{model} on {data.name} ({protocol}, test target)")
    for name, value in row.items():
        if isinstance(value, float) and not name.startswith("validation"):
            table.add_row(name, f"{value:.4f}")
    console.print(table)
    buckets = Table("history length", "cases", "HR@10", "NDCG@10", title="by shopper activity")
    for bucket, metrics in row["by_activity"].items():
        buckets.add_row(
            bucket,
            f"{metrics.get('cases', 0):.0f}",
            f"{metrics.get('HR@10', float('nan')):.4f}",
            f"{metrics.get('NDCG@10', float('nan')):.4f}",
        )
    console.print(buckets)
