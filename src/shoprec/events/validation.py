"""Validation of a batch before it is stored: every bad row is reported; a bad batch stores nothing.

Both stores call :func:`event_rows` / :func:`item_rows` first and write only what they return, so
the two backends accept and reject exactly the same batches. Checks are vectorised polars
expressions; a :class:`~shoprec.errors.ValidationError` names the row (0-based index within the
batch, as polars counts) and the field of each problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, cast

import polars as pl

from shoprec.data import EVENT_SCHEMA, ITEM_SCHEMA, conform
from shoprec.errors import Problem, ValidationError
from shoprec.types import Columns, EventType

from .schema import Event, EventRow, Item, ItemRow

#: At most this many problems are listed in an error (the total is always counted).
MAX_PROBLEMS_SHOWN = 20

_EVENT_TYPES = [t.value for t in EventType]
_TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False}
_ROW = "__shoprec_row"  # row index column added while checking

# A row check: an expression true on bad rows, the field it is about, the message for a value.
_Check = tuple[pl.Expr, str, Callable[[Any], str]]


class _Problems:
    """Collects the problems of one batch from vectorised checks."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[Problem] = []
        self.total = 0

    def column(self, field: str, message: str) -> None:
        self.found.append(Problem(self.source, None, field, message))
        self.total += 1

    def rows(
        self,
        frame: pl.DataFrame,
        bad: pl.Expr | pl.Series,
        field: str,
        message: Callable[[Any], str],
    ) -> None:
        """Record every row of ``frame`` where ``bad`` holds; ``message`` gets the row's value."""
        hits = frame.with_row_index(_ROW).filter(bad).select(_ROW, field)
        self.total += hits.height
        for row, value in hits.head(MAX_PROBLEMS_SHOWN).iter_rows():
            self.found.append(Problem(self.source, row, field, message(value)))

    def check(self, frame: pl.DataFrame, checks: list[_Check]) -> None:
        """Run every check in one pass over ``frame``; list rows only for checks that failed."""
        if not checks:
            return
        failed = frame.select(
            bad.any(ignore_nulls=True).alias(str(k)) for k, (bad, _, _) in enumerate(checks)
        ).row(0)
        for hit, (bad, field, message) in zip(failed, checks, strict=True):
            if hit:
                self.rows(frame, bad, field, message)

    def raise_if_column_problems(self) -> None:
        """Stop before the row checks when a whole column is missing or unreadable."""
        if any(p.line is None for p in self.found):
            self.raise_if_any()

    def raise_if_any(self) -> None:
        if self.total:
            ordered = sorted(self.found, key=lambda p: -1 if p.line is None else p.line)
            raise ValidationError(ordered[:MAX_PROBLEMS_SHOWN], self.total)


def _coerce(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], problems: _Problems
) -> pl.DataFrame:
    """Cast the schema's columns, recording a problem for each value that does not convert."""
    out = []
    for name in frame.columns:
        if name not in schema:
            continue
        source, target = frame[name], schema[name]
        if source.dtype == target:
            continue
        if name == Columns.TIMESTAMP and source.dtype.is_temporal():
            # A Datetime cast straight to Float64 would give microseconds, not seconds.
            epoch_us = source.cast(pl.Datetime("us")).dt.epoch("us")
            out.append((epoch_us / 1_000_000).alias(name))
            continue
        if target == pl.String() and isinstance(source.dtype, pl.Struct):
            out.append(source.struct.json_encode())
            continue
        if target == pl.Boolean() and source.dtype == pl.String():
            converted = source.str.to_lowercase().replace_strict(
                _TRUE_FALSE, default=None, return_dtype=pl.Boolean
            )
        else:
            try:
                converted = source.cast(target, strict=False)
            except pl.exceptions.PolarsError:
                problems.column(name, f"cannot convert a {source.dtype} column to {target}")
                continue
        failed = source.is_not_null() & converted.is_null()
        if failed.any():
            problems.rows(frame, failed, name, _cannot_read_as(target))
        out.append(converted)
    return frame.with_columns(out)


def _cannot_read_as(target: pl.DataType) -> Callable[[Any], str]:
    return lambda value: f"cannot read {value!r} as {target}"


def _id_checks(present: Sequence[str]) -> list[_Check]:
    return [
        (pl.col(c).is_null() | (pl.col(c).str.len_bytes() == 0), c, lambda _: "missing or empty")
        for c in present
    ]


def _not_finite(name: str) -> pl.Expr:
    return pl.col(name).is_nan() | pl.col(name).is_infinite()


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
    return [(pl.col(name).is_in(invalid), name, lambda _: "not a JSON object")]


def _missing_columns(
    frame: pl.DataFrame, required: Sequence[str], problems: _Problems
) -> list[str]:
    """Record required columns absent from ``frame``; return the present ones."""
    for name in required:
        if name not in frame.columns:
            problems.column(name, "required column is missing")
    return [name for name in required if name in frame.columns]


def event_rows(events: pl.DataFrame | Sequence[Event], now: float) -> list[EventRow]:
    """Validate an append batch and return its rows in ``EVENT_SCHEMA`` order.

    ``user_id``, ``item_id`` and ``event_type`` are required; a missing timestamp becomes
    ``now``; a Datetime timestamp column is converted to epoch seconds and a struct context
    column to JSON text. Extra columns are ignored.

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
    problems = _Problems("event batch")
    required = _missing_columns(events, (Columns.USER, Columns.ITEM, Columns.EVENT_TYPE), problems)
    frame = _coerce(events, EVENT_SCHEMA, problems)
    problems.raise_if_column_problems()
    frame = conform(frame, EVENT_SCHEMA)
    checks = _id_checks([c for c in required if c != Columns.EVENT_TYPE])
    if Columns.EVENT_TYPE in required:
        kind = pl.col(Columns.EVENT_TYPE)
        checks += [
            (
                kind.is_not_null() & ~kind.is_in(_EVENT_TYPES),
                Columns.EVENT_TYPE,
                lambda v: f"unknown event type {v!r}; expected one of {', '.join(_EVENT_TYPES)}",
            ),
            (kind.is_null(), Columns.EVENT_TYPE, lambda _: "missing"),
        ]
    checks += [
        (
            _not_finite(Columns.TIMESTAMP),
            Columns.TIMESTAMP,
            lambda v: f"{v} is not a finite number of seconds since the epoch",
        ),
        (_not_finite(Columns.VALUE), Columns.VALUE, lambda v: f"{v} is not finite"),
        *_json_object_checks(frame, Columns.CONTEXT),
    ]
    problems.check(frame, checks)
    problems.raise_if_any()
    frame = frame.with_columns(pl.col(Columns.TIMESTAMP).fill_null(now))
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
    problems = _Problems("item batch")
    required = _missing_columns(items, (Columns.ITEM,), problems)
    frame = _coerce(items, ITEM_SCHEMA, problems)
    problems.raise_if_column_problems()
    frame = conform(frame, ITEM_SCHEMA)
    checks = _id_checks(required)
    checks += [
        (
            _not_finite(Columns.PRICE) | (pl.col(Columns.PRICE) < 0),
            Columns.PRICE,
            lambda v: f"{v} is not a finite non-negative price",
        ),
        *_json_object_checks(frame, Columns.ATTRIBUTES),
    ]
    problems.check(frame, checks)
    problems.raise_if_any()
    frame = frame.with_columns(pl.col(Columns.IN_STOCK).fill_null(True))
    return cast(list[ItemRow], frame.rows())
