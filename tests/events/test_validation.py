"""Batch validation: every bad row is named by row and field; good rows come out canonical."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from shoprec.errors import ValidationError
from shoprec.events import MAX_PROBLEMS_SHOWN, Event, Item, event_rows, item_rows
from shoprec.types import EventType


def where(error: ValidationError) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.field) for p in error.problems]


def test_every_bad_event_row_is_named_by_row_and_field() -> None:
    batch = pl.DataFrame(
        {
            "user_id": ["a", None, "c", "", "e"],
            "item_id": ["x", "y", None, "w", "v"],
            "event_type": ["view", "teleport", "click", None, "view"],
            "timestamp": ["1", "2", "three", "4", "inf"],
            "value": [1.0, None, None, float("nan"), None],
            "context": [None, '{"a": 1}', "[1, 2]", "{broken", None],
        }
    )
    with pytest.raises(ValidationError) as caught:
        event_rows(batch, now=0.0)
    assert where(caught.value) == [
        (1, "user_id"),
        (1, "event_type"),
        (2, "timestamp"),
        (2, "item_id"),
        (2, "context"),
        (3, "user_id"),
        (3, "event_type"),
        (3, "value"),
        (3, "context"),
        (4, "timestamp"),
    ]
    message = str(caught.value)
    assert "event batch:1 [event_type]: unknown event type 'teleport'" in message
    assert "event batch:2 [timestamp]: cannot read 'three' as Float64" in message
    assert "event batch:2 [context]: not a JSON object" in message
    assert caught.value.total == 10


def test_missing_required_columns_are_reported_before_rows() -> None:
    with pytest.raises(ValidationError) as caught:
        event_rows(pl.DataFrame({"user_id": ["a"], "timestamp": [1.0]}), now=0.0)
    assert where(caught.value) == [(None, "item_id"), (None, "event_type")]
    assert "required column is missing" in str(caught.value)


def test_many_bad_rows_are_counted_but_only_some_listed() -> None:
    batch = pl.DataFrame(
        {"user_id": [None] * 50, "item_id": ["x"] * 50, "event_type": ["view"] * 50}
    )
    with pytest.raises(ValidationError) as caught:
        event_rows(batch, now=0.0)
    assert caught.value.total == 50
    assert where(caught.value) == [(k, "user_id") for k in range(MAX_PROBLEMS_SHOWN)]
    assert f"... and {50 - MAX_PROBLEMS_SHOWN} more" in str(caught.value)


def test_good_event_frame_becomes_canonical_rows() -> None:
    batch = pl.DataFrame(
        {
            "event_type": ["view", "purchase"],
            "item_id": [10, 11],  # numbers become text
            "user_id": ["u", "v"],
            "timestamp": [datetime(2024, 1, 1), None],  # datetimes become epoch seconds
            "context": [{"page": "home"}, {"page": None}],  # structs become JSON text
            "extra": [True, False],
        }
    )
    assert event_rows(batch, now=99.5) == [
        ("u", "10", "view", 1_704_067_200.0, None, None, '{"page":"home"}'),
        ("v", "11", "purchase", 99.5, None, None, '{"page":null}'),
    ]


def test_event_objects_pass_through_and_other_objects_are_refused() -> None:
    event = Event(user_id="u", item_id="i", event_type=EventType.VIEW, timestamp=3.0)
    assert event_rows([event], now=0.0) == [event.to_row()]
    assert event_rows([], now=0.0) == []
    with pytest.raises(TypeError, match="row 1: expected Event, got dict"):
        event_rows([event, {"user_id": "u"}], now=0.0)  # type: ignore[list-item]


def test_item_batches_are_checked_and_defaulted() -> None:
    good = pl.DataFrame(
        {
            "item_id": ["a", "b"],
            "price": [1, None],
            "in_stock": ["false", None],
            "brand": ["B", None],
        }
    )
    assert item_rows(good) == [
        ("a", None, None, None, "B", 1.0, False, None),
        ("b", None, None, None, None, None, True, None),
    ]
    bad = pl.DataFrame(
        {
            "item_id": ["a", None, "c"],
            "price": [-1.0, 2.0, float("inf")],
            "in_stock": ["yes", "true", "0"],
            "attributes": ['{"size": 3}', "null", None],
        }
    )
    with pytest.raises(ValidationError) as caught:
        item_rows(bad)
    assert where(caught.value) == [
        (0, "in_stock"),
        (0, "price"),
        (1, "item_id"),
        (1, "attributes"),
        (2, "price"),
    ]
    assert "item batch:0 [in_stock]: cannot read 'yes' as Boolean" in str(caught.value)


def test_item_objects_pass_through_and_columns_must_convert() -> None:
    item = Item(item_id="a", price=2.0)
    assert item_rows([item]) == [item.to_row()]
    with pytest.raises(ValidationError) as caught:
        item_rows(pl.DataFrame({"item_id": ["a"], "price": [[1.0, 2.0]]}))
    assert where(caught.value) == [(None, "price")]
    with pytest.raises(ValidationError) as caught:
        item_rows(pl.DataFrame({"title": ["no id"]}))
    assert where(caught.value) == [(None, "item_id")]
