"""``shoprec data generate``: write a synthetic shop (events, catalogue, truth) to a folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.data.synthetic import (
    EVENTS_FILE,
    GENERATION_STEPS,
    ITEMS_FILE,
    PRESETS,
    TRUTH_FILE,
    SyntheticShop,
    generate_shop,
    preset,
    write_shop,
)
from shoprec.errors import ConfigError
from shoprec.types import Columns

from .app import console, data_app, progress_bar


def _day(timestamp: float) -> str:
    """The UTC date of an epoch timestamp."""
    return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()


def _summary(shop: SyntheticShop, output: Path) -> Table:
    """A table of what was generated and planted, and the files written."""
    events, truth = shop.events, shop.truth
    counts = events[Columns.EVENT_TYPE].value_counts(sort=True).iter_rows()
    by_type = ", ".join(f"{n:,} {kind}" for kind, n in counts)
    table = Table("", "generated", title=f"Synthetic shop in {output}", title_justify="left")
    table.add_row("users", f"{events[Columns.USER].n_unique():,}")
    table.add_row("items", f"{shop.items.height:,} in {len(truth.categories)} categories")
    table.add_row("events", f"{events.height:,} ({by_type})")
    table.add_row("sessions", f"{events[Columns.SESSION].n_unique():,}")
    end = truth.end_timestamp - 1
    table.add_row("time range", f"{_day(truth.start_timestamp)} .. {_day(end)} (UTC)")
    table.add_row("complements", f"{len(truth.complements):,} main items with 3 complements")
    intervals = ", ".join(f"{c} {d:g}d" for c, d in truth.repeat_intervals.items())
    table.add_row("repeat intervals", intervals or "-")
    table.add_row("rising popularity", ", ".join(truth.rising_categories) or "-")
    table.add_row("falling popularity", ", ".join(truth.falling_categories) or "-")
    table.add_row("launched later", f"{len(truth.launches):,} items")
    table.add_row("sold out", f"{len(truth.sold_out):,} items")
    for name in (EVENTS_FILE, ITEMS_FILE, TRUTH_FILE):
        table.add_row(name, f"{(output / name).stat().st_size / 1e3:,.0f} kB")
    return table


@data_app.command("generate")
def generate(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write the shop into (created).")
    ],
    preset_name: Annotated[
        str, typer.Option("--preset", help=f"Base configuration: {' | '.join(PRESETS)}.")
    ] = "demo",
    users: Annotated[int | None, typer.Option(help="Number of shoppers.")] = None,
    items: Annotated[int | None, typer.Option(help="Number of catalogue items.")] = None,
    days: Annotated[int | None, typer.Option(help="Days covered by the event log.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same shop).")] = None,
) -> None:
    """Generate a synthetic e-commerce shop with planted structure (see docs/synthetic.md).

    Writes events.csv.gz, items.csv.gz and truth.json into OUTPUT.
    """
    if output.exists() and not output.is_dir():
        raise ConfigError(f"--output {output}: is a file, expected a folder")
    config = preset(preset_name, n_users=users, n_items=items, n_days=days, seed=seed)
    with progress_bar("Generating shop", total=GENERATION_STEPS + 1) as advance:
        reported = 0

        def report(done: int, total: int) -> None:
            nonlocal reported
            advance(done - reported)
            reported = done

        shop = generate_shop(config, report)
        write_shop(shop, output)
        advance(1)
    console.print(_summary(shop, output))
