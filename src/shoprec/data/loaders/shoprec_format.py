"""shoprec's own dataset format: a folder with ``events`` and ``items`` tables.

``events.csv[.gz]`` holds ``user_id, item_id, timestamp, event_type, value`` (plus optional
``session_id``, ``context`` and any extra columns, which are kept as the ``context`` JSON);
``items.csv[.gz]`` holds ``item_id, title, category, brand, price`` (plus ``description``,
``in_stock``, ``attributes`` and extras, kept as the ``attributes`` JSON). Parquet and JSON
Lines files named ``events`` / ``items`` work too. Ids are always read as text.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoprec.data.files import TABLE_FORMATS, detect_table_format, first_line, read_table
from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.errors import DataError, UnknownFormatError
from shoprec.types import Columns

from .canonical import canonical_frame, pack_extra_columns

NAME = "shoprec"


def find_table(folder: Path, stem: str) -> Path | None:
    """The one readable table named ``stem`` (``events``/``items``) in ``folder``, if any.

    Raises:
        DataError: Several tables share that name (e.g. ``events.csv`` and ``events.parquet``).
    """
    found = []
    for candidate in sorted(folder.glob(f"{stem}.*")):
        try:
            if candidate.is_file() and detect_table_format(candidate) in TABLE_FORMATS:
                found.append(candidate)
        except UnknownFormatError:
            continue
    if len(found) > 1:
        raise DataError(f"{folder}: several {stem} tables ({', '.join(f.name for f in found)})")
    return found[0] if found else None


def detect(path: Path) -> bool:
    """Whether ``path`` is a shoprec folder or a table with canonical event columns."""
    if path.is_dir():
        return find_table(path, "events") is not None
    try:
        fmt = detect_table_format(path)
    except UnknownFormatError:
        return False
    if fmt != "csv":
        return path.name.split(".")[0] in ("events", "items")
    header = first_line(path)
    return Columns.ITEM in header and (Columns.USER in header or path.name.startswith("items"))


def load(path: Path) -> Interactions:
    """Load a shoprec folder, or one events table (its sibling ``items`` table is used too).

    Raises:
        DataError: No events table, a table cannot be read, or a value cannot be converted
            (the message names the file, line and field).
    """
    if path.is_dir():
        events_path = find_table(path, "events")
        if events_path is None:
            raise DataError(f"{path}: no events table (events.csv[.gz], .parquet or .jsonl)")
        items_path = find_table(path, "items")
    else:
        events_path = path
        items_path = find_table(path.parent, "items") if path.name.startswith("events") else None
    return Interactions(read_events(events_path), read_items(items_path) if items_path else None)


def read_events(path: Path) -> pl.DataFrame:
    """Read an events table into the canonical event frame (extras packed into ``context``)."""
    table = read_table(path)
    frame = pack_extra_columns(table.frame, EVENT_SCHEMA, Columns.CONTEXT)
    return canonical_frame(frame, EVENT_SCHEMA, source=str(path), lines=table.line_numbers)


def read_items(path: Path) -> pl.DataFrame:
    """Read an items table into the canonical item frame (extras packed into ``attributes``)."""
    table = read_table(path)
    frame = pack_extra_columns(table.frame, ITEM_SCHEMA, Columns.ATTRIBUTES)
    return canonical_frame(frame, ITEM_SCHEMA, source=str(path), lines=table.line_numbers)
