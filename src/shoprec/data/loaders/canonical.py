"""Turning columns as read into the canonical event and item frames, naming the bad value's line.

Shared by every loader (and by the events importer): timestamps of any form become float
seconds since the epoch (UTC), text becomes numbers and booleans, and columns the schema does
not know are kept as one JSON object column (``context`` for events, ``attributes`` for items)
instead of being dropped.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data.interactions import conform
from shoprec.errors import DataError
from shoprec.types import Columns

_TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False}


def to_epoch_seconds(values: pl.Series) -> pl.Series:
    """Convert timestamps to float seconds since the Unix epoch (UTC).

    Numbers are taken as seconds; dates and date-times (naive ones read as UTC) are converted;
    text is read as a number, else as a date-time (ISO 8601 and the formats polars infers,
    one format per column). Values that cannot be read become null.

    Args:
        values: The timestamps as read.

    Returns:
        A Float64 Series of the same length and name.
    """
    dtype = values.dtype
    if dtype == pl.String():
        text = values.str.strip_chars()
        numbers = text.cast(pl.Float64, strict=False)
        unread = numbers.is_null() & text.is_not_null()
        if not unread.any():
            return numbers
        try:
            # Only the values that are not numbers: the format is inferred from the first one.
            parsed = (
                pl.select(pl.when(unread).then(text))
                .to_series()
                .str.to_datetime(strict=False, time_unit="us")
            )
        except pl.exceptions.PolarsError:
            return numbers
        return numbers.fill_null(to_epoch_seconds(parsed)).alias(values.name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            values = values.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return (values.cast(pl.Datetime("us")).dt.epoch("us") / 1_000_000).alias(values.name)
    if dtype == pl.Date():
        return (values.cast(pl.Datetime("us")).dt.epoch("us") / 1_000_000).alias(values.name)
    return values.cast(pl.Float64, strict=False)


def to_boolean(values: pl.Series) -> pl.Series:
    """Read ``true/false/1/0`` (any case) or numbers as booleans; anything else is null."""
    if values.dtype == pl.String():
        return (
            values.str.strip_chars()
            .str.to_lowercase()
            .replace_strict(_TRUE_FALSE, default=None, return_dtype=pl.Boolean)
        )
    return values.cast(pl.Boolean, strict=False)


def convert(values: pl.Series, target: pl.DataType) -> pl.Series:
    """Convert one column to ``target`` leniently: unreadable values become null.

    Timestamps (``Columns.TIMESTAMP``) go through :func:`to_epoch_seconds`; nested values
    bound for a text column become JSON text.
    """
    if values.dtype == target:
        return values
    if values.name == Columns.TIMESTAMP:
        return to_epoch_seconds(values)
    if target == pl.Boolean():
        return to_boolean(values)
    if target == pl.String() and isinstance(values.dtype, pl.Struct):
        return values.struct.json_encode()
    if target == pl.String() and values.dtype.is_nested():
        return json_text(values)
    if target.is_numeric() and values.dtype == pl.String():
        return values.str.strip_chars().cast(target, strict=False)
    return values.cast(target, strict=False)


def json_text(values: pl.Series) -> pl.Series:
    """Every value as JSON text (lists, structs and scalars alike); nulls stay null."""
    wrapped = pl.struct(pl.col("v")).struct.json_encode()
    # '{"v":<value>}' -> '<value>'
    unwrapped = wrapped.str.slice(5).str.strip_suffix("}")
    frame = pl.DataFrame({"v": values})
    return (
        frame.select(pl.when(pl.col("v").is_not_null()).then(unwrapped))
        .to_series()
        .alias(values.name)
    )


def pack_extra_columns(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], into: str
) -> pl.DataFrame:
    """Gather the columns ``schema`` does not know into one JSON-object text column ``into``.

    Nothing changes when ``into`` is already a column or there are no extra columns.

    Args:
        frame: Columns as read.
        schema: The canonical schema (``EVENT_SCHEMA`` or ``ITEM_SCHEMA``).
        into: The JSON column to create (``context`` or ``attributes``).

    Returns:
        ``frame`` with the extra columns replaced by ``into``.
    """
    extra = [c for c in frame.columns if c not in schema]
    if into in frame.columns or not extra:
        return frame
    return frame.with_columns(pl.struct(extra).struct.json_encode().alias(into)).drop(extra)


def canonical_frame(
    frame: pl.DataFrame,
    schema: dict[str, pl.DataType],
    *,
    source: str,
    lines: npt.NDArray[np.int64] | None = None,
) -> pl.DataFrame:
    """Convert ``frame`` to ``schema`` (columns in order, missing ones null), strictly.

    Args:
        frame: Columns with canonical names, as read.
        schema: ``EVENT_SCHEMA`` or ``ITEM_SCHEMA``.
        source: The file (or dataset) named in errors.
        lines: 1-based file line of every row, for errors (default: row number + 1).

    Returns:
        The canonical frame.

    Raises:
        DataError: A required id column is missing, or a value cannot be converted; the
            message names the source, the first bad line and the field, and counts the rest.
    """
    required = [c for c in (Columns.USER, Columns.ITEM) if c in schema]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: required column(s) missing: {', '.join(missing)} "
            f"(found: {', '.join(frame.columns)})"
        )
    converted = []
    for name in frame.columns:
        if name not in schema:
            continue
        values = convert(frame[name], schema[name])
        failed = values.is_null() & frame[name].is_not_null()
        if failed.any():
            rows = np.flatnonzero(failed.to_numpy())
            line = int(lines[rows[0]]) if lines is not None else int(rows[0]) + 1
            more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
            raise DataError(
                f"{source}:{line} [{name}]: cannot read {frame[name][int(rows[0])]!r} "
                f"as {schema[name]}{more}"
            )
        converted.append(values.alias(name))
    return conform(frame.with_columns(converted), schema)
