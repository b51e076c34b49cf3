"""RetailRocket e-commerce dataset: events, item property snapshots and the category tree.

Events are ``timestamp`` (ms), ``visitorid``, ``event`` (``view``, ``addtocart``,
``transaction``), ``itemid``, ``transactionid``; a transaction is a ``purchase`` and its id goes
to the event's ``context``. Item properties are a log of ``timestamp, itemid, property, value``
snapshots: an item's category is its latest ``categoryid`` and its stock its latest
``available`` flag; the category's path from the root of ``category_tree.csv`` goes to
``attributes`` as ``category_path`` (ids joined by ``/``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoprec.data.files import first_line, read_table
from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.errors import DataError
from shoprec.types import Columns, EventType

from .canonical import canonical_frame, pack_extra_columns

NAME = "retailrocket"

#: RetailRocket event names -> shoprec event types.
EVENT_TYPES = {
    "view": EventType.VIEW.value,
    "addtocart": EventType.ADDTOCART.value,
    "transaction": EventType.PURCHASE.value,
}
# Category trees are shallow (depth 6 in the published data); this bounds a cyclic one.
_MAX_DEPTH = 32


def _find(folder: Path, stem: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"{stem}*.csv*") if p.is_file())


def _events_file(path: Path) -> Path | None:
    if not path.is_dir():
        return path
    found = _find(path, "events")
    return found[0] if found else None


def detect(path: Path) -> bool:
    """Whether ``path`` is a RetailRocket folder or its events file."""
    events = _events_file(path)
    return events is not None and "visitorid" in first_line(events).lower()


def load(path: Path) -> Interactions:
    """Load RetailRocket events (a folder, or its ``events.csv``) and item properties beside it.

    Raises:
        DataError: No events file, an unknown event name, or a file cannot be read.
    """
    events_path = _events_file(path)
    if events_path is None:
        raise DataError(f"{path}: no RetailRocket events.csv")
    table = read_table(events_path, "csv")
    frame = table.frame.rename(
        {"visitorid": Columns.USER, "itemid": Columns.ITEM, "event": Columns.EVENT_TYPE},
        strict=False,
    )
    if Columns.EVENT_TYPE not in frame.columns or Columns.TIMESTAMP not in frame.columns:
        raise DataError(f"{events_path}: expected columns timestamp, visitorid, event, itemid")
    kinds = frame[Columns.EVENT_TYPE].replace_strict(EVENT_TYPES, default=None)
    unknown = kinds.is_null() & frame[Columns.EVENT_TYPE].is_not_null()
    if unknown.any():
        row = int(unknown.arg_max() or 0)
        raise DataError(
            f"{events_path}:{table.line(row)} [event]: unknown event "
            f"{frame[Columns.EVENT_TYPE][row]!r}; expected one of {', '.join(EVENT_TYPES)}"
        )
    millis = frame[Columns.TIMESTAMP].str.strip_chars().cast(pl.Float64, strict=False)
    frame = frame.with_columns(kinds, (millis / 1000).alias(Columns.TIMESTAMP))
    frame = pack_extra_columns(frame, EVENT_SCHEMA, Columns.CONTEXT)
    events = canonical_frame(frame, EVENT_SCHEMA, source=str(events_path), lines=table.line_numbers)
    return Interactions(events, _items(events_path.parent))


def _items(folder: Path) -> pl.DataFrame | None:
    parts = _find(folder, "item_properties")
    if not parts:
        return None
    wanted = pl.col("property").is_in(["categoryid", "available"])
    log = pl.concat([read_table(p, "csv").frame.filter(wanted) for p in parts])
    latest = (
        log.with_columns(pl.col("timestamp").cast(pl.Int64, strict=False))
        .sort("timestamp", maintain_order=True)
        .group_by("itemid", "property", maintain_order=True)
        .agg(pl.col("value").last())
        .pivot("property", index="itemid", values="value")
    )
    for name in ("categoryid", "available"):
        if name not in latest.columns:
            latest = latest.with_columns(pl.lit(None, pl.String).alias(name))
    items = latest.select(
        pl.col("itemid").alias(Columns.ITEM),
        pl.col("categoryid").alias(Columns.CATEGORY),
        pl.col("available").alias(Columns.IN_STOCK),
    )
    paths = _category_paths(folder)
    if paths is not None:
        items = items.join(paths, on=Columns.CATEGORY, how="left", maintain_order="left")
        items = pack_extra_columns(items, ITEM_SCHEMA, Columns.ATTRIBUTES)
    return canonical_frame(items, ITEM_SCHEMA, source=str(parts[0]))


def _category_paths(folder: Path) -> pl.DataFrame | None:
    """``category -> "root/.../category"`` from ``category_tree.csv``, one join per level."""
    found = _find(folder, "category_tree")
    if not found:
        return None
    tree = read_table(found[0], "csv").frame.select(
        pl.col("categoryid").alias("node"), pl.col("parentid").alias("parent")
    )
    walk = tree.select(
        pl.col("node").alias(Columns.CATEGORY), pl.col("node").alias("category_path"), "parent"
    )
    for _ in range(_MAX_DEPTH):
        if walk["parent"].is_null().all():
            break
        walk = (
            walk.join(tree, left_on="parent", right_on="node", how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("parent").is_not_null())
                .then(pl.concat_str("parent", pl.lit("/"), "category_path"))
                .otherwise(pl.col("category_path"))
                .alias("category_path")
            )
            .drop("parent")
            .rename({"parent_right": "parent"})
        )
    return walk.select(Columns.CATEGORY, "category_path")
