"""``shoprec data import`` and ``shoprec data stats``: load files into the store, describe data.

``import`` takes shoprec-format files (canonical columns; CSV, Parquet or JSON Lines, maybe
gzip'd) through the validating file importer, so a bad row is named by file and line and
nothing is stored; a dataset in a native layout (Amazon, MovieLens, ...) is loaded with its
loader first and then imported the same way. Events and catalogue go to the home's store file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from shoprec.data import ITEM_SCHEMA, Interactions
from shoprec.data.loaders import DATASET_FORMATS, detect_format, find_table, load_dataset
from shoprec.errors import ConfigError, DataError, UnknownFormatError
from shoprec.events import (
    ImportReport,
    import_files,
    import_frames,
    open_catalog,
    open_event_store,
)
from shoprec.settings import Settings
from shoprec.types import Columns

from .app import ConfigOption, console, data_app, err_console, progress_bar, settings_from

_FORMATS = ("auto", *DATASET_FORMATS)
FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help=f"Dataset format: {' | '.join(_FORMATS)}.",
        show_default=True,
    ),
]


def _check_format(fmt: str) -> str:
    if fmt not in _FORMATS:
        raise ConfigError(f"--format {fmt!r}: expected one of {', '.join(_FORMATS)}")
    return fmt


def _source_format(source: Path, fmt: str) -> str:
    """The dataset format of ``source``; a file no loader recognises is a plain table."""
    if fmt != "auto":
        return fmt
    try:
        return detect_format(source)
    except UnknownFormatError:
        if source.is_file():
            return "shoprec"
        raise


def _described_items(data: Interactions) -> pl.DataFrame | None:
    """The dataset's catalogue, or ``None`` when it only lists ids (nothing to describe).

    Upserting bare ids would blank the titles and prices of items already in the store.
    """
    described = [c for c in ITEM_SCHEMA if c != Columns.ITEM]
    has_any = data.items.select(pl.any_horizontal(pl.col(described).is_not_null()).any()).item()
    return data.items if has_any else None


def _shoprec_files(source: Path | None, items: Path | None) -> tuple[Path | None, Path | None]:
    """The events and items files to import: a folder's ``events``/``items`` tables or as given."""
    if source is None or not source.is_dir():
        return source, items
    events = find_table(source, "events")
    if events is None:
        raise DataError(f"{source}: no events table (events.csv[.gz], .parquet or .jsonl)")
    return events, items or find_table(source, "items")


def _default_rejects(settings: Settings, source: Path | None, items: Path | None) -> Path:
    named = source if source is not None else items
    stem = named.name.split(".")[0] if named is not None else "import"
    return settings.home / "rejects" / f"{stem}.rejects.csv"


@data_app.command("import")
def import_data(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="Events file (CSV/Parquet/JSON Lines, maybe .gz), or a dataset folder or "
            "file in a native format."
        ),
    ] = None,
    items: Annotated[
        Path | None, typer.Option("--items", help="Catalogue file with canonical columns.")
    ] = None,
    fmt: FormatOption = "auto",
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Import the valid rows and write the others to --rejects."
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(help="CSV for rejected rows (default: HOME/rejects/<name>.rejects.csv)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Validate files and import them into the event store and catalogue, all or nothing."""
    settings = settings_from(config)
    fmt = _check_format(fmt)
    if source is None and items is None:
        raise ConfigError("nothing to import: give an events file or folder, and/or --items")
    rejects_path = rejects or _default_rejects(settings, source, items)
    kind = _source_format(source, fmt) if source is not None else "shoprec"
    data, (events_path, items_path) = None, (source, items)
    if kind != "shoprec" and source is not None:
        if items is not None:
            raise ConfigError(f"--items applies to shoprec-format files, not to {kind} datasets")
        data = load_dataset(source, kind)
    else:
        events_path, items_path = _shoprec_files(source, items)
    with (
        open_event_store(settings.events_url, settings.store_path) as store,
        open_catalog(settings.events_url, settings.store_path) as catalog,
        progress_bar("Importing events") as advance,
    ):
        if data is not None:
            report = import_frames(
                data.events,
                _described_items(data),
                store,
                catalog,
                source=str(source),
                skip_invalid=skip_invalid,
                rejects_path=rejects_path,
                progress=advance,
                pseudonyms=settings.privacy.pseudonyms(),
            )
        else:
            report = import_files(
                events_path,
                items_path,
                store,
                catalog,
                skip_invalid=skip_invalid,
                rejects_path=rejects_path,
                progress=advance,
                pseudonyms=settings.privacy.pseudonyms(),
            )
        totals = (store.count(), catalog.count())
    console.print(_import_summary(report, settings.store_path, totals))


def _import_summary(report: ImportReport, store_path: Path, totals: tuple[int, int]) -> Table:
    table = Table("", "count", title=f"Imported into {store_path}", title_justify="left")
    table.add_row("events imported", f"{report.n_events:,}")
    table.add_row("items imported", f"{report.n_items:,}")
    if report.n_rejected:
        where = f" -> {report.rejects_path}" if report.rejects_path else ""
        table.add_row("rows rejected", f"{report.n_rejected:,}{where}")
    table.add_row("events in store", f"{totals[0]:,}")
    table.add_row("items in catalogue", f"{totals[1]:,}")
    return table


@data_app.command("stats")
def stats(
    path: Annotated[
        Path | None,
        typer.Argument(help="Dataset folder or file (default: the home's event store)."),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Describe the event store and catalogue.")
    ] = False,
    fmt: FormatOption = "auto",
    config: ConfigOption = None,
) -> None:
    """Describe a dataset or the store: users, items, events by type, time range, coverage."""
    if path is not None and store:
        raise ConfigError("give a dataset path or --store, not both")
    if path is not None:
        data = load_dataset(path, _check_format(fmt))
        events, items, title = data.events, data.items, str(path)
    else:
        settings = settings_from(config)
        if settings.events_url is None and not settings.store_path.is_file():
            raise DataError(f"no event store at {settings.store_path}: run `shoprec data import`")
        with (
            open_event_store(settings.events_url, settings.store_path) as event_store,
            open_catalog(settings.events_url, settings.store_path) as catalog,
        ):
            events, items = event_store.frame(), catalog.frame()
        title = str(settings.store_path)
    if events.is_empty():
        err_console.print(f"{title}: no events")
    console.print(_stats_table(events, items, title))


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()


def _share(items: pl.DataFrame, column: str) -> str:
    if items.is_empty():
        return "-"
    values = pl.col(column)
    present = values.is_not_null()
    if items.schema[column] == pl.String():
        present = present & (values.str.strip_chars().str.len_bytes() > 0)
    n = int(items.select(present.sum()).item())
    return f"{n:,} / {items.height:,} ({100 * n / items.height:.1f} %)"


def _stats_table(events: pl.DataFrame, items: pl.DataFrame, title: str) -> Table:
    """Counts, events per user, time range and catalogue coverage, one row each."""
    table = Table("", "value", title=title, title_justify="left")
    per_user = events.group_by(Columns.USER).len()
    table.add_row("users", f"{per_user.height:,}")
    table.add_row(
        "items",
        f"{items.height:,} in catalogue, {events[Columns.ITEM].n_unique():,} with events",
    )
    table.add_row("events", f"{events.height:,}")
    for kind, n in events[Columns.EVENT_TYPE].value_counts(sort=True).iter_rows():
        table.add_row(f"  {kind}", f"{n:,}")
    if not events.is_empty():
        median, p90 = per_user.select(
            pl.col("len").median().alias("median"),
            pl.col("len").quantile(0.9, interpolation="nearest").alias("p90"),
        ).row(0)
        table.add_row("events per user", f"median {median:g}, p90 {p90:g}")
        first, last = events.select(
            pl.col(Columns.TIMESTAMP).min().alias("first"),
            pl.col(Columns.TIMESTAMP).max().alias("last"),
        ).row(0)
        if first is not None:
            table.add_row("time range (UTC)", f"{_day(first)} .. {_day(last)}")
    for column in (Columns.TITLE, Columns.CATEGORY, Columns.PRICE):
        table.add_row(f"items with {column}", _share(items, column))
    return table
