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
) -> None:
    """Serve a dataset with a model, drive it over loopback, write OUT/results.json."""
    from shoprec.loadtest import LoadSpec, plot_timeline
    from shoprec.loadtest import bench_serve as run

    spec = LoadSpec(rate, duration, fresh_every, ingest_batches, batch, in_process)
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
        if key != "timeline":
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"wrote {output / 'results.json'} and {output / 'latency.png'}")
