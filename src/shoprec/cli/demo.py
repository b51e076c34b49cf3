"""``shoprec demo``: synthetic shop, event store, model comparison, recommendations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.jobs.demo import item_titles, run_demo

from .app import app, console, err_console
from .benchmark import comparison_table


@app.command("demo")
def demo(
    output: Annotated[
        Path, typer.Option(help="Folder for the shop, store, models, reports.")
    ] = Path("demo-output"),
    data: Annotated[
        Path | None,
        typer.Option(help="Use this dataset folder instead of the synthetic shop."),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Models to compare (comma-separated keys).")
    ] = "popularity,covisit,ease,sasrec",
    model: Annotated[str, typer.Option("--model", "-m", help="Model to train and publish.")] = (
        "sasrec"
    ),
    max_epochs: Annotated[int, typer.Option(help="Epoch cap for the Transformer.")] = 30,
    preset: Annotated[
        str, typer.Option(help="Synthetic shop size: small, demo or large.")
    ] = "demo",
) -> None:
    """Generate (or load) a shop, store it, compare models, train one, show recommendations."""
    start = time.perf_counter()
    keys = [k.strip() for k in models.split(",") if k.strip()]
    result = run_demo(
        output,
        data,
        keys,
        model,
        max_epochs,
        step=lambda message: err_console.print(f"[bold cyan]>[/bold cyan] {message}"),
        shop_preset=preset,
    )
    title = f"{result.data_dir.name}: leave-one-out, full catalogue, test target"
    console.print(comparison_table(result.comparison, title))
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.trained.metrics.items())
    console.print(f"[bold]{model}[/bold] published as {result.trained.version_dir}: {metrics}")
    titles = item_titles(result.data)
    for show in result.showcases:
        table = Table("#", "item", "title", "score", title=show.title)
        for rank, (item, score) in enumerate(
            zip(show.ranked.item_ids, show.ranked.scores, strict=True), start=1
        ):
            table.add_row(str(rank), item, titles.get(item, ""), f"{score:.3f}")
        recent = "; ".join(titles.get(i, i) for i in show.history)
        console.print(f"\nlatest: {recent}", style="dim")
        console.print(table)
    console.print(
        f"\ndone in {time.perf_counter() - start:.0f} s. Try: "
        f"SHOPREC_HOME={result.home} .venv/bin/shoprec recommend --user "
        f"{result.showcases[0].title.split()[-1] if result.showcases else 'USER'}"
    )
