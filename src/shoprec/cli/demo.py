"""``shoprec demo``: synthetic shop, event store, model comparison, recommendations, then serve.

It ends by starting the service on the demo's home folder and printing the URLs of the demo
shop and the operator dashboard; ``--no-serve`` stops after the printed results (CI, tests).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.jobs.demo import item_titles, run_demo

from .app import ConfigOption, app, console, err_console, fit_progress, settings_from
from .benchmark import comparison_table
from .serve import run_server


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
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the service with the demo shop.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface the service listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the service.")] = 8000,
    config: ConfigOption = None,
) -> None:
    """Generate (or load) a shop, store it, compare models, train one, show it live in a shop."""
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
        progress=fit_progress,
    )
    title = f"{result.data_dir.name}: leave-one-out, full catalogue, test target"
    console.print(comparison_table(result.comparison, title, console.width))
    test = ", ".join(f"{k} {v:.4f}" for k, v in result.trained.test.items())
    console.print(
        f"[bold]{model}[/bold] published as {result.trained.version_dir}; "
        f"the served fit's test figures (each shopper's last event): {test}"
    )
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
    if serve:
        settings = settings_from(config).model_copy(update={"home": result.home})
        run_server(settings, host, port, pages=True)
