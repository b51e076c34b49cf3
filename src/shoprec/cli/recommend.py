"""``shoprec recommend``: top items for a known shopper or an anonymous list of items."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from shoprec.errors import ConfigError
from shoprec.events import open_catalog, open_event_store, stored_query
from shoprec.models import ModelVersions, load_model
from shoprec.types import Columns, Query

from .app import ConfigOption, app, console, settings_from


@app.command("recommend")
def recommend(
    user: Annotated[str | None, typer.Option("--user", "-u", help="A known shopper id.")] = None,
    items: Annotated[
        str | None,
        typer.Option("--items", "-i", help="Anonymous session: item ids, oldest first, a,b,c."),
    ] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="How many items.")] = 10,
    config: ConfigOption = None,
) -> None:
    """Recommend with the current model; the shopper's latest stored events are the history."""
    if (user is None) == (items is None):
        raise ConfigError("give exactly one of --user or --items")
    settings = settings_from(config)
    model_dir = ModelVersions(settings.models_dir).current()
    model = load_model(model_dir)
    if user is not None:
        with open_event_store(settings.events_url, settings.store_path) as store:
            query = stored_query(store, settings.privacy.pseudonyms().of(user))
        what = f"shopper {user} ({len(query.history)} events in the store)"
    else:
        ids = tuple(i.strip() for i in (items or "").split(",") if i.strip())
        query = Query.from_items(ids)
        what = f"anonymous session of {len(ids)} items"
    ranked = model.recommend(query, k=n)
    with open_catalog(settings.events_url, settings.store_path) as catalog:
        catalogue = catalog.frame()
    titles = catalogue.select(Columns.ITEM, Columns.TITLE, Columns.CATEGORY, Columns.PRICE)
    shown = pl.DataFrame({Columns.ITEM: list(ranked.item_ids), "score": ranked.scores}).join(
        titles, on=Columns.ITEM, how="left", maintain_order="left"
    )
    table = Table("#", "item", "title", "category", "price", "score", title=f"For {what}")
    for rank, row in enumerate(shown.iter_rows(named=True), start=1):
        price = row[Columns.PRICE]
        table.add_row(
            str(rank),
            row[Columns.ITEM],
            row[Columns.TITLE] or "",
            row[Columns.CATEGORY] or "",
            "" if price is None else f"{price:.2f}",
            f"{row['score']:.4f}",
        )
    console.print(table)
    console.print(f"model: {model_dir.name}", style="dim")
