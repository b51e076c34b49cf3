"""``shoprec retrain``: train the next model version from the store, once or on a schedule."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from shoprec.jobs import RetrainPolicy, TrainResult, retrain_loop, retrain_once

from .app import ConfigOption, app, console, err_console, settings_from


def _report(result: TrainResult | None) -> None:
    if result is None:
        err_console.print("not enough new events since the current version: skipped")
        return
    ndcg = result.test.get("NDCG@10")
    shown = f", test NDCG@10 {ndcg:.4f}" if ndcg is not None else ""
    console.print(f"published {result.version_dir.name} in {result.train_seconds:.1f} s{shown}")


@app.command("retrain")
def retrain(
    every: Annotated[
        float, typer.Option(min=1.0, help="Seconds between checks when running on a schedule.")
    ] = 3600.0,
    min_new_events: Annotated[
        int, typer.Option(min=0, help="Retrain only when this many events arrived since.")
    ] = 1,
    once: Annotated[
        bool, typer.Option("--once", help="Check (and train) once, then exit.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Train the configured model on the event store, warm-started from the current version.

    A running `shoprec serve` swaps the new version in by itself (it watches CURRENT).
    """
    settings = settings_from(config)
    if once:
        _report(retrain_once(settings, min_new_events))
        return
    err_console.print(f"retraining {settings.model.key} every {every:g} s (Ctrl+C to stop)")
    try:
        retrain_loop(settings, RetrainPolicy(every, min_new_events), threading.Event(), _report)
    except KeyboardInterrupt:
        err_console.print("stopped")
