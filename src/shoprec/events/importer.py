"""Importing event and item files into the stores: validated first, then written all or nothing.

Every row of every file is checked before anything is written. By default one bad row stops
the import: the :class:`~shoprec.errors.ValidationError` names each bad value by file, line
and field, and the stores are left as they were. With ``skip_invalid`` the good rows are
imported and the bad ones written, with their line, field and message, to a rejects CSV.

Rows of forgotten (tombstoned) shoppers are never stored: a re-import does not bring them back.
Rejects files may hold a shopper's id; the ones under the home's ``rejects`` folder are cleaned
when the shopper is forgotten (:mod:`shoprec.events.erasure`), any other is the operator's.

Each file is written in one transaction: the catalogue in one ``upsert``, the events through
``append_many`` (chunked, one transaction). The
two files are two transactions (the stores hold separate connections), catalogue first, so a
crash between them leaves the catalogue imported and no events, never half a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data import EVENT_SCHEMA, ITEM_SCHEMA
from shoprec.data.files import read_table
from shoprec.data.loaders import json_text, pack_extra_columns
from shoprec.errors import DataError, ValidationError
from shoprec.types import Columns

from .catalog import Catalog
from .pseudonyms import Pseudonyms
from .store import EventStore
from .validation import MAX_PROBLEMS_SHOWN, BatchCheck, check_events, check_items

#: Events written per ``append_many`` batch (bounds the Python rows alive at once).
CHUNK_ROWS = 100_000
#: Leading columns of a rejects file; the rejected row's original columns follow.
REJECT_COLUMNS = ("file", "line", "field", "message")

#: Called with the number of events just written.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportReport:
    """What an import stored and set aside.

    Attributes:
        n_events: Events appended to the store.
        n_items: Catalogue rows upserted.
        n_rejected: Rows skipped as invalid (``skip_invalid`` only).
        rejects_path: The rejects CSV, if one was written.
        n_forgotten: Valid rows not stored: their shoppers were forgotten (tombstoned).
    """

    n_events: int
    n_items: int
    n_rejected: int = 0
    rejects_path: Path | None = None
    n_forgotten: int = 0


@dataclass(frozen=True)
class _Part:
    """One input (a file, or a frame) as read, with where its rows are and what is wrong."""

    raw: pl.DataFrame  # columns as read: what a rejects file repeats
    lines: npt.NDArray[np.int64]
    checked: BatchCheck

    def good(self) -> pl.DataFrame:
        keep = np.ones(self.raw.height, dtype=bool)
        keep[self.checked.bad_rows()] = False
        return self.checked.frame.filter(pl.Series(keep))


def import_files(
    events_path: Path | None,
    items_path: Path | None,
    store: EventStore,
    catalog: Catalog,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    pseudonyms: Pseudonyms | None = None,
) -> ImportReport:
    """Import an events file and/or an items file (CSV, Parquet or JSON Lines, maybe gzip'd).

    Columns use the canonical names (``user_id, item_id, event_type, timestamp, value, ...``
    and ``item_id, title, category, brand, price, in_stock, ...``); other columns are kept as
    the ``context`` / ``attributes`` JSON object. Timestamps are seconds since the epoch or
    ISO 8601 date-times.

    Args:
        events_path: The events file, or ``None``.
        items_path: The catalogue file, or ``None``.
        store: Where events go.
        catalog: Where items go.
        skip_invalid: Import the valid rows and set the others aside instead of failing.
        rejects_path: CSV for the rejected rows (``skip_invalid`` only; ``None``: not kept).
        progress: Called with the number of events written, batch by batch.
        pseudonyms: Replace shopper ids by their pseudonyms before storing (``None``: keep).

    Returns:
        Counts of what was stored and rejected.

    Raises:
        ValidationError: A row is invalid (unless ``skip_invalid``), or a required column is
            missing; names file, line and field of each problem; nothing was stored.
        DataError: A file cannot be read, or the rejects file cannot be written.
        StoreError: A store failed; the file being written was not stored.
    """
    items = _read_part(items_path, check_items, ITEM_SCHEMA, Columns.ATTRIBUTES)
    events = _read_part(events_path, check_events, EVENT_SCHEMA, Columns.CONTEXT)
    return _import(events, items, store, catalog, skip_invalid, rejects_path, progress, pseudonyms)


def import_frames(
    events: pl.DataFrame | None,
    items: pl.DataFrame | None,
    store: EventStore,
    catalog: Catalog,
    *,
    source: str,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    pseudonyms: Pseudonyms | None = None,
) -> ImportReport:
    """Import frames already in memory (e.g. a loaded dataset), exactly like :func:`import_files`.

    Problems are numbered by 1-based row and named ``"<source> events"`` / ``"<source> items"``.

    Raises:
        ValidationError: A row is invalid (unless ``skip_invalid``); nothing was stored.
        StoreError: A store failed; the frame being written was not stored.
    """
    item_part = _frame_part(items, f"{source} items", check_items)
    event_part = _frame_part(events, f"{source} events", check_events)
    return _import(
        event_part, item_part, store, catalog, skip_invalid, rejects_path, progress, pseudonyms
    )


def _read_part(
    path: Path | None,
    check: Callable[..., BatchCheck],
    schema: dict[str, pl.DataType],
    extras: str,
) -> _Part | None:
    if path is None:
        return None
    table = read_table(Path(path))
    frame = pack_extra_columns(table.frame, schema, extras)
    return _Part(table.frame, table.line_numbers, check(frame, source=str(path)))


def _frame_part(
    frame: pl.DataFrame | None, source: str, check: Callable[..., BatchCheck]
) -> _Part | None:
    if frame is None:
        return None
    lines = np.arange(1, frame.height + 1, dtype=np.int64)
    return _Part(frame, lines, check(frame, source=source))


def _import(
    events: _Part | None,
    items: _Part | None,
    store: EventStore,
    catalog: Catalog,
    skip_invalid: bool,
    rejects_path: Path | None,
    progress: Progress | None,
    pseudonyms: Pseudonyms | None,
) -> ImportReport:
    parts = [p for p in (events, items) if p is not None]
    if not parts:
        raise ValueError("nothing to import: give an events file, an items file or both")
    # A missing or unreadable column cannot be skipped row by row.
    if any(p.checked.column_problems for p in parts) or (
        not skip_invalid and not all(p.checked.ok for p in parts)
    ):
        raise _combined_error(parts)
    n_rejected = sum(len(p.checked.bad_rows()) for p in parts)
    written_rejects = None
    if n_rejected and rejects_path is not None:
        _write_rejects(parts, rejects_path)
        written_rejects = rejects_path
    n_items = catalog.upsert(items.good()) if items is not None else 0
    n_events = n_forgotten = 0
    if events is not None:
        good = events.good()
        if pseudonyms is not None:
            good = pseudonyms.frame(good)
        # Counted here for the report; the store drops them anyway, inside its transaction,
        # should a shopper be forgotten while the file is being written (#18).
        forgotten = store.forgotten(good[Columns.USER].unique().to_list())
        if forgotten:
            before = good.height
            good = good.filter(~pl.col(Columns.USER).is_in(forgotten))
            n_forgotten = before - good.height
        n_events = good.height
        store.append_many(_chunks(good, progress))
    return ImportReport(n_events, n_items, n_rejected, written_rejects, n_forgotten)


def _chunks(frame: pl.DataFrame, progress: Progress | None) -> Iterator[pl.DataFrame]:
    """Slices of ``frame``; ``progress`` hears of each once the store asks for the next."""
    for start in range(0, frame.height, CHUNK_ROWS):
        chunk = frame.slice(start, CHUNK_ROWS)
        yield chunk
        if progress is not None:
            progress(chunk.height)


def _combined_error(parts: list[_Part]) -> ValidationError:
    """One error for every input's problems: the first ones shown, all of them counted."""
    shown = []
    for part in parts:
        if not part.checked.ok:
            shown += part.checked.error(part.lines).problems
    return ValidationError(shown[:MAX_PROBLEMS_SHOWN], sum(p.checked.total for p in parts))


def _write_rejects(parts: list[_Part], path: Path) -> None:
    """The rejected rows: file, line, fields and messages, then the values as read."""
    frames = []
    for part in parts:
        problems = part.checked.problems
        if problems.is_empty():
            continue
        summary = problems.group_by("row", maintain_order=True).agg(
            pl.col("field").str.join("; "), pl.col("message").str.join("; ")
        )
        rows = summary["row"].to_numpy()
        raw = part.raw[rows]
        raw = raw.rename({c: f"original_{c}" for c in raw.columns if c in REJECT_COLUMNS})
        raw = raw.with_columns(json_text(raw[c]) for c, t in raw.schema.items() if t.is_nested())
        frames.append(
            pl.concat(
                [
                    pl.DataFrame(
                        {
                            "file": [part.checked.source] * len(rows),
                            "line": part.lines[rows],
                            "field": summary["field"],
                            "message": summary["message"],
                        }
                    ),
                    raw,
                ],
                how="horizontal",
            )
        )
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pl.concat(frames, how="diagonal_relaxed").write_csv(path)
    except OSError as error:
        raise DataError(f"{path}: cannot write the rejected rows: {error}") from error
