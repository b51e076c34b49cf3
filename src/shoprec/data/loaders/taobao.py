"""Taobao ``UserBehavior.csv`` (Alibaba Tianchi): ``user, item, category, behavior, timestamp``.

The original file has no header (one is accepted). Behaviours map ``pv`` -> ``view``, ``cart``
-> ``addtocart``, ``buy`` -> ``purchase``, ``fav`` -> ``favorite``; timestamps are seconds.
An item's category is the one it carries most often (ties: the smallest id).
"""

from __future__ import annotations

from pathlib import Path

from shoprec.data.files import first_line, read_table
from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.errors import DataError
from shoprec.types import Columns, EventType

from .canonical import canonical_frame

NAME = "taobao"

#: Taobao behaviour codes -> shoprec event types.
EVENT_TYPES = {
    "pv": EventType.VIEW.value,
    "cart": EventType.ADDTOCART.value,
    "buy": EventType.PURCHASE.value,
    "fav": EventType.FAVORITE.value,
}
_COLUMNS = [Columns.USER, Columns.ITEM, Columns.CATEGORY, Columns.EVENT_TYPE, Columns.TIMESTAMP]


def _events_file(path: Path) -> Path | None:
    if not path.is_dir():
        return path
    found = sorted(p for p in path.glob("UserBehavior*.csv*") if p.is_file())
    return found[0] if found else None


def _has_header(path: Path) -> bool:
    return not first_line(path).split(",")[0].strip().isdigit()


def detect(path: Path) -> bool:
    """Whether ``path`` is a ``UserBehavior.csv`` (or a folder holding one)."""
    events = _events_file(path)
    if events is None:
        return False
    fields = [f.strip() for f in first_line(events).split(",")]
    return len(fields) == len(_COLUMNS) and (
        fields[3] in EVENT_TYPES or events.name.startswith("UserBehavior")
    )


def load(path: Path) -> Interactions:
    """Load a Taobao behaviour log (the file, or a folder holding ``UserBehavior*.csv``).

    Raises:
        DataError: No such file, an unknown behaviour, or a value cannot be converted.
    """
    events_path = _events_file(path)
    if events_path is None:
        raise DataError(f"{path}: no UserBehavior*.csv")
    header = _has_header(events_path)
    table = read_table(
        events_path, "csv", has_header=header, columns=None if header else _COLUMNS, separator=","
    )
    frame = table.frame
    if header:
        frame = frame.rename(dict(zip(frame.columns, _COLUMNS, strict=False)))
    kinds = frame[Columns.EVENT_TYPE].str.strip_chars().replace_strict(EVENT_TYPES, default=None)
    unknown = kinds.is_null()
    if unknown.any():
        row = int(unknown.arg_max() or 0)
        raise DataError(
            f"{events_path}:{table.line(row)} [behavior]: unknown behaviour "
            f"{frame[Columns.EVENT_TYPE][row]!r}; expected one of {', '.join(EVENT_TYPES)}"
        )
    frame = frame.with_columns(kinds)
    events = canonical_frame(frame, EVENT_SCHEMA, source=str(events_path), lines=table.line_numbers)
    items = (
        frame.group_by(Columns.ITEM, Columns.CATEGORY)
        .len()
        .sort(["len", Columns.CATEGORY], descending=[True, False])
        .unique(Columns.ITEM, keep="first", maintain_order=True)
        .sort(Columns.ITEM)
    )
    return Interactions(events, canonical_frame(items, ITEM_SCHEMA, source=str(events_path)))
