"""Validation of a batch before it is stored: every bad row is reported; a bad batch stores nothing.

Both stores call :func:`event_rows` / :func:`item_rows` first and write only what they return, so
the two backends accept and reject exactly the same batches. The checks behind them,
:func:`check_events` / :func:`check_items`, are vectorised polars expressions that return every
problem (row, field, message) instead of raising, which the file importer uses to name file
lines and to set bad rows aside. Rows are 0-based indices within the batch, as polars counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data import EVENT_SCHEMA, ITEM_SCHEMA, conform
from shoprec.data.loaders import convert
from shoprec.errors import Problem, ValidationError
from shoprec.types import Columns, EventType

from .schema import COUPON_ID, Event, EventRow, Item, ItemRow

#: At most this many problems are listed in an error (the total is always counted).
MAX_PROBLEMS_SHOWN = 20
#: Schema of :attr:`BatchCheck.problems`.
PROBLEM_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "field": pl.String(),
    "message": pl.String(),
}

_EVENT_TYPES = [t.value for t in EventType]
_ROW = "__shoprec_row"  # row index column added while checking

# A row check: an expression true on bad rows, the field it is about, the message expression.
_Check = tuple[pl.Expr, str, pl.Expr]


@dataclass(frozen=True)
class BatchCheck:
    """What checking a batch found, without raising.

    Attributes:
        source: What was checked (a file path, or ``"event batch"``), named in problems.
        frame: The batch in canonical schema order, every row; values that could not be
            converted are null. Meaningless when :attr:`column_problems` is not empty.
        problems: One row per bad value (:data:`PROBLEM_SCHEMA`), ordered by row, then by
            check within a row.
        column_problems: Whole columns that are missing or cannot be converted; when there
            are any, the row checks were not run.
    """

    source: str
    frame: pl.DataFrame
    problems: pl.DataFrame
    column_problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the batch has no problem at all."""
        return not self.column_problems and self.problems.is_empty()

    @property
    def total(self) -> int:
        """Number of problems (columns and values)."""
        return len(self.column_problems) + self.problems.height

    def bad_rows(self) -> npt.NDArray[np.int64]:
        """Sorted indices of the rows with at least one problem."""
        return np.unique(self.problems["row"].to_numpy()).astype(np.int64)

    def error(self, lines: npt.NDArray[np.int64] | None = None) -> ValidationError:
        """A :class:`ValidationError` listing the first problems and counting all of them.

        Args:
            lines: The file line of every row (default: the 0-based row index).
        """
        shown = list(self.column_problems[:MAX_PROBLEMS_SHOWN])
        for row, field, message in self.problems.head(MAX_PROBLEMS_SHOWN - len(shown)).iter_rows():
            line = int(lines[row]) if lines is not None else int(row)
            shown.append(Problem(self.source, line, field, message))
        return ValidationError(shown, self.total)


class _Problems:
    """Collects the problems of one batch from vectorised checks."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.columns: list[Problem] = []
        self.parts: list[pl.DataFrame] = []

    def column(self, field: str, message: str) -> None:
        """Record a problem with a whole column."""
        self.columns.append(Problem(self.source, None, field, message))

    def rows(
        self, frame: pl.DataFrame, bad: pl.Expr | pl.Series, field: str, message: pl.Expr
    ) -> None:
        """Record every row of ``frame`` where ``bad`` holds, with its message."""
        hits = frame.with_row_index(_ROW).filter(bad)
        self.parts.append(
            hits.select(
                pl.col(_ROW).cast(pl.Int64).alias("row"),
                pl.lit(field, pl.String).alias("field"),
                message.cast(pl.String).alias("message"),
            )
        )

    def check(self, frame: pl.DataFrame, checks: list[_Check]) -> None:
        """Run every check in one pass over ``frame``; list rows only for checks that failed."""
        if not checks:
            return
        failed = frame.select(
            bad.any(ignore_nulls=True).alias(str(k)) for k, (bad, _, _) in enumerate(checks)
        ).row(0)
        for hit, (bad, field, message) in zip(failed, checks, strict=True):
            if hit:
                self.rows(frame, bad.fill_null(False), field, message)

    def result(self, frame: pl.DataFrame) -> BatchCheck:
        problems = (
            pl.concat(self.parts).sort("row", maintain_order=True)
            if self.parts
            else pl.DataFrame(schema=PROBLEM_SCHEMA)
        )
        return BatchCheck(self.source, frame, problems, tuple(self.columns))


def _quoted(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The value as Python would ``repr`` a plain string or number."""
    if dtype != pl.String():
        return value.cast(pl.String)
    escaped = value.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
        "'", "\\'", literal=True
    )
    return pl.concat_str(pl.lit("'"), escaped, pl.lit("'"))


def _coerce(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], problems: _Problems
) -> pl.DataFrame:
    """Convert the schema's columns, recording a problem for each value that does not convert."""
    out = []
    for name in frame.columns:
        if name not in schema:
            continue
        source, target = frame[name], schema[name]
        try:
            converted = convert(source, target)
        except pl.exceptions.PolarsError:
            problems.column(name, f"cannot convert a {source.dtype} column to {target}")
            continue
        failed = source.is_not_null() & converted.is_null()
        if failed.any():
            message = pl.format(
                f"cannot read {{}} as {target}", _quoted(pl.col(name), source.dtype)
            )
            problems.rows(frame, failed, name, message)
        out.append(converted.alias(name))
    return frame.with_columns(out)


def _id_checks(present: Sequence[str]) -> list[_Check]:
    return [
        (
            pl.col(c).is_null() | (pl.col(c).str.len_bytes() == 0),
            c,
            pl.lit("missing or empty"),
        )
        for c in present
    ]


def _not_finite(name: str) -> pl.Expr:
    return pl.col(name).is_nan() | pl.col(name).is_infinite()


def _number(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.to_lowercase()


def _json_object_checks(frame: pl.DataFrame, name: str) -> list[_Check]:
    """A check for texts that are not JSON objects (each distinct text is parsed once)."""
    invalid = []
    for text in frame[name].drop_nulls().unique():
        try:
            ok = isinstance(json.loads(text), dict)
        except json.JSONDecodeError:
            ok = False
        if not ok:
            invalid.append(text)
    if not invalid:
        return []
    return [(pl.col(name).is_in(invalid), name, pl.lit("not a JSON object"))]


def _missing_columns(
    frame: pl.DataFrame, required: Sequence[str], problems: _Problems
) -> list[str]:
    """Record required columns absent from ``frame``; return the present ones."""
    for name in required:
        if name not in frame.columns:
            problems.column(name, "required column is missing")
    return [name for name in required if name in frame.columns]


def check_events(events: pl.DataFrame, *, source: str = "event batch") -> BatchCheck:
    """Check an event frame and report every problem instead of raising.

    ``user_id``, ``item_id`` and ``event_type`` are required; timestamps may be numbers
    (seconds), date-times or ISO 8601 text; a struct context column becomes JSON text. Extra
    columns are ignored. Missing timestamps stay null here (see :func:`event_rows`).

    Args:
        events: A frame with canonical column names.
        source: What the batch is (e.g. its file), named in the problems.

    Returns:
        The canonical frame and the problems found.
    """
    problems = _Problems(source)
    required = _missing_columns(events, (Columns.USER, Columns.ITEM, Columns.EVENT_TYPE), problems)
    frame = _coerce(events, EVENT_SCHEMA, problems)
    if problems.columns:
        return problems.result(pl.DataFrame(schema=EVENT_SCHEMA))
    frame = conform(frame, EVENT_SCHEMA)
    checks = _id_checks([c for c in required if c != Columns.EVENT_TYPE])
    kind = pl.col(Columns.EVENT_TYPE)
    expected = ", ".join(_EVENT_TYPES)
    checks += [
        (
            kind.is_not_null() & ~kind.is_in(_EVENT_TYPES),
            Columns.EVENT_TYPE,
            pl.format(
                f"unknown event type {{}}; expected one of {expected}", _quoted(kind, pl.String())
            ),
        ),
        (kind.is_null(), Columns.EVENT_TYPE, pl.lit("missing")),
        (
            _not_finite(Columns.TIMESTAMP),
            Columns.TIMESTAMP,
            pl.format(
                "{} is not a finite number of seconds since the epoch", _number(Columns.TIMESTAMP)
            ),
        ),
        (
            _not_finite(Columns.VALUE),
            Columns.VALUE,
            pl.format("{} is not finite", _number(Columns.VALUE)),
        ),
        *_json_object_checks(frame, Columns.CONTEXT),
        (
            (kind == EventType.COUPON_REDEEM.value)
            & pl.col(Columns.CONTEXT).str.json_path_match(f"$.{COUPON_ID}").fill_null("").eq(""),
            Columns.CONTEXT,
            pl.lit(f"a coupon_redeem event needs context.{COUPON_ID} (the coupon's id)"),
        ),
    ]
    problems.check(frame, checks)
    return problems.result(frame)


def check_items(items: pl.DataFrame, *, source: str = "item batch") -> BatchCheck:
    """Check a catalogue frame and report every problem instead of raising.

    ``item_id`` is required; a price must be a finite, non-negative number or null;
    ``in_stock`` is ``true/false/1/0``; a struct attributes column becomes JSON text.

    Args:
        items: A frame with canonical column names.
        source: What the batch is (e.g. its file), named in the problems.

    Returns:
        The canonical frame (missing ``in_stock`` still null) and the problems found.
    """
    problems = _Problems(source)
    required = _missing_columns(items, (Columns.ITEM,), problems)
    frame = _coerce(items, ITEM_SCHEMA, problems)
    if problems.columns:
        return problems.result(pl.DataFrame(schema=ITEM_SCHEMA))
    frame = conform(frame, ITEM_SCHEMA)
    checks = _id_checks(required)
    checks += [
        (
            _not_finite(Columns.PRICE) | (pl.col(Columns.PRICE) < 0),
            Columns.PRICE,
            pl.format("{} is not a finite non-negative price", _number(Columns.PRICE)),
        ),
        *_json_object_checks(frame, Columns.ATTRIBUTES),
    ]
    problems.check(frame, checks)
    return problems.result(frame)


def event_rows(events: pl.DataFrame | Sequence[Event], now: float) -> list[EventRow]:
    """Validate an append batch and return its rows in ``EVENT_SCHEMA`` order.

    ``user_id``, ``item_id`` and ``event_type`` are required; a missing timestamp becomes
    ``now``; a Datetime (or ISO 8601 text) timestamp column is converted to epoch seconds and
    a struct context column to JSON text. Extra columns are ignored.

    Args:
        events: A frame with canonical column names, or validated :class:`Event` objects.
        now: Timestamp for events that have none (seconds since the epoch).

    Returns:
        One row per event, in batch order.

    Raises:
        ValidationError: Any row is invalid; lists each row and field (up to
            ``MAX_PROBLEMS_SHOWN``) and counts them all.
    """
    if not isinstance(events, pl.DataFrame):
        for row, event in enumerate(events):
            if not isinstance(event, Event):
                raise TypeError(
                    f"event batch row {row}: expected Event, got {type(event).__name__}"
                )
        return [event.to_row() for event in events]
    checked = check_events(events)
    if not checked.ok:
        raise checked.error()
    frame = checked.frame.with_columns(pl.col(Columns.TIMESTAMP).fill_null(now))
    return cast(list[EventRow], frame.rows())


def item_rows(items: pl.DataFrame | Sequence[Item]) -> list[ItemRow]:
    """Validate a catalogue batch and return its rows in ``ITEM_SCHEMA`` order.

    ``item_id`` is required; a missing ``in_stock`` means in stock; a price must be a finite,
    non-negative number or null; a struct attributes column is converted to JSON text.

    Args:
        items: A frame with canonical column names, or validated :class:`Item` objects.

    Returns:
        One row per item, in batch order (a later row for the same id wins when stored).

    Raises:
        ValidationError: Any row is invalid; lists each row and field.
    """
    if not isinstance(items, pl.DataFrame):
        for row, item in enumerate(items):
            if not isinstance(item, Item):
                raise TypeError(f"item batch row {row}: expected Item, got {type(item).__name__}")
        return [item.to_row() for item in items]
    checked = check_items(items)
    if not checked.ok:
        raise checked.error()
    frame = checked.frame.with_columns(pl.col(Columns.IN_STOCK).fill_null(True))
    return cast(list[ItemRow], frame.rows())
