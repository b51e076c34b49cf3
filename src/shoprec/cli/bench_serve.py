"""``shoprec bench-serve``: latency, throughput, freshness and ingest of the live service."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

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
) -> None:
    """Serve a dataset with a model, drive it over loopback, write OUT/results.json."""
    from shoprec.loadtest import LoadSpec, plot_timeline
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
    interactions = load_dataset(data)
    with tempfile.TemporaryDirectory(prefix="shoprec-bench-") as tmp:
        result = run(
            interactions,
            Path(tmp) / "home",
            spec,
            model,
            model_dir,
            lambda line: err_console.print(f"[dim]{line}[/dim]"),
        )
    result["dataset"] = data.name
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    title = f"bench-serve: {result['model']} on {data.name}"
    plot_timeline(result["timeline"], f"{title}, {rate:g} req/s", output / "latency.png")
    table = Table("metric", "value", title=title)
    for key, value in result.items():
        if key not in ("timeline", "rate_steps"):
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)
    if result.get("rate_steps"):
        steps = Table("rate", "achieved", "p50 ms", "p99 ms", "max ms", "errors", "sustained")
        steps.title = f"highest sustained rate: {result['max_sustainable_rps']:g} req/s"
        for row in result["rate_steps"]:
            cells = (row["achieved_rps"], row["p50_ms"], row["p99_ms"], row["max_ms"])
            steps.add_row(
                f"{row['rate']:g}",
                *(f"{c:.1f}" for c in cells),
                str(row["errors"]),
                "yes" if row["sustained"] else "no",
            )
        console.print(steps)
    console.print(f"wrote {output / 'results.json'} and {output / 'latency.png'}")
