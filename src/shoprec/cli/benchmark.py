"""``shoprec benchmark`` and ``shoprec evaluate``: offline measurement on a dataset folder.

``benchmark`` tunes each model on the validation target over its search space, then fits on
train + validation and scores the test target; ``-p MODEL.NAME=VALUE`` fixes a model's
parameters instead (it is fit with those alone, no search) and ``--no-tune`` fits every model
with its defaults. ``evaluate`` does the same for one model with the parameters given (no
search). Both write ``results.json`` / ``.md`` / ``.png`` and a
self-contained ``report.html`` when asked (``evaluate --html PATH`` writes just the page).

Progress goes to stderr: rich bars on a terminal, one plain flushed line per step otherwise,
so a run logged to a file shows where it is (a bar only draws its final state there).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from shoprec.data import SPLIT_PROTOCOLS
from shoprec.data.loaders import load_dataset
from shoprec.errors import ConfigError
from shoprec.evaluation import ProgressCallback, run_benchmark, summary, write_html
from shoprec.optimize import run_compression_benchmark, summary_rows

from .app import ParamOption, app, console, err_console, parse_model_params, parse_params

DataArg = Annotated[
    Path, typer.Option("--data", help="Dataset folder (shoprec format) or native-format files.")
]
ProtocolOption = Annotated[str, typer.Option(help=f"Split protocol: {', '.join(SPLIT_PROTOCOLS)}.")]
SeedsOption = Annotated[
    int,
    typer.Option(
        min=1, help="Final fits per model (mean and std; each seed's figures under by_seed)."
    ),
]
ModelParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Fix a hyperparameter as MODEL.NAME=VALUE (JSON value, else text): every fit of "
        "that model uses it and its search tunes the rest; NAME=VALUE fixes it for every "
        "model (--optimize: the compressed models' settings). Repeatable.",
    ),
]


def _metric_table(header: list[str], lines: list[list[str]], title: str | None) -> Table:
    """A table whose cells never wrap except the last column's (free text such as parameters)."""
    table = Table(title=title)
    for index, name in enumerate(header):
        table.add_column(name, no_wrap=index < len(header) - 1, overflow="fold")
    for line in lines:
        table.add_row(*line)
    return table


def _min_width(table: Table) -> int:
    """The narrowest the table can be drawn with every unwrappable cell whole."""
    return Console(width=10_000).measure(table).minimum


def whole_table(
    header: list[str], lines: list[list[str]], title: str, width: int | None, *, notes: bool
) -> RenderableType:
    """A row per line when that fits in ``width`` columns; otherwise the same, turned on its side.

    On its side (an 80-column log, #18), the header's names become the rows and each line a
    column, as many per table as fit, so that no number is cut to ``0.00…``.

    Args:
        header: Column names; the first names what each line is (a model).
        lines: Formatted cells, one list per line.
        title: Title above the table.
        width: Columns available (``None``: no limit).
        notes: The last column is free text (e.g. the chosen parameters): turned on its side,
            it is listed below the tables instead.
    """
    wide = _metric_table(header, lines, title)
    if width is None or _min_width(wide) <= width:
        return wide
    names = header[1:-1] if notes else header[1:]

    def tall(chunk: list[list[str]]) -> Table:
        table = Table("", *(line[0] for line in chunk))
        for column in table.columns:
            column.no_wrap = True
        for i, name in enumerate(names, start=1):
            table.add_row(name, *(line[i] for line in chunk))
        return table

    chunks: list[list[list[str]]] = [[]]
    for line in lines:
        if chunks[-1] and _min_width(tall([*chunks[-1], line])) > width:
            chunks.append([])
        chunks[-1].append(line)
    below = [Text(header[-1], style="italic"), *(Text(f"{ln[0]}: {ln[-1]}") for ln in lines)]
    return Group(
        Text(title, style="italic"), *(tall(chunk) for chunk in chunks), *(below if notes else [])
    )


def comparison_table(
    rows: list[dict[str, Any]], title: str, width: int | None = None
) -> RenderableType:
    """The models side by side (test target), every number whole within ``width`` columns.

    Args:
        rows: Benchmark result objects (``results.json`` rows).
        title: Title above the table.
        width: Columns available (``None``: no limit).
    """
    header, lines = summary(rows)
    return whole_table(header, lines, title, width, notes=True)


@contextmanager
def progress_reporter(console: Console) -> Iterator[ProgressCallback]:
    """A progress callback: rich bars on a terminal, plain flushed lines anywhere else.

    Off a terminal a rich bar only draws its final state, so a run logged to a file showed
    nothing for its whole length (#18); there each step prints ``[done/total] elapsed step``.

    Args:
        console: Where a terminal's progress bar is drawn (its stream takes the lines too).
    """
    if console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("splitting", total=None)

            def update(message: str, done: int, total: int) -> None:
                bar.update(task, description=message, completed=done, total=total)

            yield update
        return
    start = time.perf_counter()

    def line(message: str, done: int, total: int) -> None:
        elapsed = time.strftime("%H:%M:%S", time.gmtime(time.perf_counter() - start))
        print(f"[{done}/{total}] {elapsed} {message}", file=console.file, flush=True)

    yield line


def _run(
    data_path: Path,
    models: list[str],
    protocol: str,
    seeds: int,
    output: Path | None,
    params: dict[str, dict[str, Any]] | None,
    *,
    search: bool = True,
) -> list[dict[str, Any]]:
    """Load the data and run the benchmark, reporting progress on stderr."""
    if protocol not in SPLIT_PROTOCOLS:
        raise ConfigError(f"--protocol {protocol!r}: choose one of {', '.join(SPLIT_PROTOCOLS)}")
    data = load_dataset(data_path)
    with progress_reporter(err_console) as update:
        return run_benchmark(
            data,
            models,
            protocol,
            seeds,
            output,
            update,
            dataset=data_path.name,
            params=params,
            search=search,
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
            "compressed model (int8, fp16, bf16, pruned, distilled, onnx) and compare them "
            "(LOO).",
        ),
    ] = False,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="--optimize: fixed epoch budget instead of early stopping."),
    ] = None,
    param: ModelParamOption = None,
    no_tune: Annotated[
        bool,
        typer.Option(
            "--no-tune",
            help="No hyperparameter search: every model with its defaults (iterative ones "
            "still early-stop on validation to find their epoch count).",
        ),
    ] = False,
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
    fixed = parse_model_params(param, keys)
    if optimize:
        if no_tune:
            raise ConfigError("--no-tune goes without --optimize (which does not search)")
        _optimize(data, keys, output, epochs, fixed, model_dir)
        return
    if model_dir is not None:
        raise ConfigError("--model-dir goes with --optimize")
    rows = _run(data, keys, protocol, seeds, output, fixed or None, search=not no_tune)
    title = f"{data.name} ({protocol}, test target)"
    console.print(comparison_table(rows, title, console.width))
    console.print(
        f"results -> {output}/results.json, results.md, results.png, report.html",
        style="dim",
        soft_wrap=True,
    )


def _optimize(
    data_path: Path,
    keys: list[str],
    output: Path,
    epochs: int | None,
    params: dict[str, dict[str, Any]],
    model_dir: Path | None,
) -> None:
    """``benchmark --optimize``: one compression table per model key (``params`` per key)."""
    if model_dir is not None and len(keys) != 1:
        raise ConfigError("--model-dir compresses one model: give one key in --models")
    data = load_dataset(data_path)
    for key in keys:
        out = output if len(keys) == 1 else output / key
        with progress_reporter(err_console) as update:
            rows = run_compression_benchmark(
                data,
                key,
                params=params.get(key, {}),
                epochs=epochs,
                output=out,
                progress=update,
                dataset=data_path.name,
                source_dir=model_dir,
            )
        header, lines = summary_rows(rows)
        title = f"{key} compressed on {data_path.name} (loo, test target)"
        console.print(whole_table(header, lines, title, console.width, notes=False))
        # soft_wrap: a long path stays on one line, whole, for a reader to copy.
        console.print(f"results -> {out}/results.json, results.md", style="dim", soft_wrap=True)


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
    rows = _run(data, [model], protocol, seeds, output, {model: parse_params(param)}, search=False)
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
