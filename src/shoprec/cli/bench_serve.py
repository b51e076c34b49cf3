"""``shoprec bench-serve``: latency, throughput, freshness and ingest of the live service."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shoprec.data.loaders import load_dataset

from .app import app, console, err_console


@app.command("bench-serve")
def bench_serve(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder (shoprec format).")],
    output: Annotated[Path, typer.Option("--output", help="Folder for results.json, latency.png.")],
    rate: Annotated[float, typer.Option(min=1.0, help="Requests per second (open loop).")] = 200.0,
    duration: Annotated[float, typer.Option(min=1.0, help="Seconds of load.")] = 60.0,
    model: Annotated[str, typer.Option(help="Model to train on the data.")] = "ease",
    model_dir: Annotated[
        Path | None, typer.Option(help="Serve this trained model artifact instead of training.")
    ] = None,
    fresh_every: Annotated[
        int, typer.Option(min=0, help="Every N-th request is a freshness probe (0: none).")
    ] = 20,
    ingest_batches: Annotated[
        int, typer.Option(min=0, help="Batched POST /v1/events after the load (0: none).")
    ] = 20,
    batch: Annotated[int, typer.Option(min=1, help="Events per ingest batch.")] = 500,
    in_process: Annotated[
        int, typer.Option(min=0, help="In-process recommend calls to time (0: none).")
    ] = 2000,
    max_rate_steps: Annotated[
        int,
        typer.Option(
            min=0, help="Then search the highest sustainable rate in this many runs (0: no)."
        ),
    ] = 0,
    step_duration: Annotated[
        float, typer.Option(min=1.0, help="Seconds per run of that search.")
    ] = 15.0,
    p99_target_ms: Annotated[
        float, typer.Option(min=0.1, help="Sustained = the rate is kept and p99 <= this.")
    ] = 15.0,
    replicas: Annotated[
        int,
        typer.Option(
            min=1,
            help="Also measure this many `shoprec serve` processes on the shared backends "
            "(more than 1 needs --state).",
        ),
    ] = 1,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help="Redis URL for the replicas' live state (a scratch key prefix)."
        ),
    ] = None,
    events: Annotated[
        str | None,
        typer.Option(
            "--events",
            help="PostgreSQL URL for the replicas' events and catalogue (a scratch schema).",
        ),
    ] = None,
) -> None:
    """Serve a dataset with a model, drive it over loopback, write OUT/results.json.

    With --replicas, --state or --events, the embedded default (SQLite + memory) and the
    replicas on the shared backends are measured in the same run and compared.
    """
    from shoprec.loadtest import Deployment, LoadSpec, plot_timeline
    from shoprec.loadtest import bench_serve as run

    spec = LoadSpec(
        rate,
        duration,
        fresh_every,
        ingest_batches,
        batch,
        in_process,
        max_rate_steps,
        step_duration,
        p99_target_ms,
    )
    shared = replicas > 1 or state is not None or events is not None
    # Built before the long set-up, so a refused combination fails at once.
    deployment = Deployment(replicas, events, state) if shared else None
    interactions = load_dataset(data)
    with tempfile.TemporaryDirectory(prefix="shoprec-bench-") as tmp:
        runs = run(
            interactions,
            Path(tmp) / "home",
            spec,
            model,
            model_dir,
            lambda line: err_console.print(f"[dim]{line}[/dim]"),
            deployment,
        )
    for figures in runs:
        figures["dataset"] = data.name
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(runs, indent=2), encoding="utf-8")
    title = f"bench-serve: {runs[0]['model']} on {data.name}"
    timelines = {figures["configuration"]: figures["timeline"] for figures in runs}
    plot_timeline(timelines, f"{title}, {rate:g} req/s", output / "latency.png")
    console.print(_figures_table(runs, title))
    for figures in runs:
        if figures.get("rate_steps"):
            console.print(_steps_table(figures))
    if "targets" in runs[-1]:
        console.print(_targets_table(runs[-1]["targets"]))
    console.print(f"wrote {output / 'results.json'} and {output / 'latency.png'}")


#: Per-run entries shown in tables of their own (or not at all).
_NOT_FIGURES = ("timeline", "rate_steps", "targets", "scratch")


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _figures_table(runs: list[dict[str, Any]], title: str) -> Table:
    """One row per figure, one column per configuration."""
    table = Table("metric", *(figures["configuration"] for figures in runs), title=title)
    keys = dict.fromkeys(k for figures in runs for k in figures if k not in _NOT_FIGURES)
    for key in keys:
        if key != "configuration":
            table.add_row(key, *(_cell(figures.get(key, "")) for figures in runs))
    return table


def _steps_table(figures: dict[str, Any]) -> Table:
    """The rate search of one configuration, a row per step."""
    title = (
        f"{figures['configuration']}: highest sustained rate "
        f"{figures['max_sustainable_rps']:g} req/s"
    )
    columns = ("rate", "achieved", "p50 ms", "p99 ms", "max ms", "errors")
    steps = Table(*columns, "client cores", "server cores", "sustained", title=title)
    for row in figures["rate_steps"]:
        cells = (row["achieved_rps"], row["p50_ms"], row["p99_ms"], row["max_ms"])
        steps.add_row(
            f"{row['rate']:g}",
            *(f"{c:.1f}" for c in cells),
            str(row["errors"]),
            f"{row['client_cores']:.2f}",
            f"{row['server_cores']:.2f}",
            "yes" if row["sustained"] else "no",
        )
    return steps


def _targets_table(targets: dict[str, Any]) -> Table:
    """The replicated run against the embedded one (issue #17's targets)."""
    table = Table("target", "value", title="replicas against the embedded default")
    for key, value in targets.items():
        table.add_row(key, _cell(value))
    return table
