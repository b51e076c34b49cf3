"""Event and Item models: defaults, accepted inputs, field-named errors, rows, patches."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest

from shoprec.errors import Problem, ValidationError
from shoprec.events import Event, Item, problems_from_pydantic
from shoprec.types import EventType


def error_fields(error: pydantic.ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in error.errors()]


def test_event_defaults_to_now_and_empty_extras() -> None:
    before = time.time()
    event = Event(user_id="u", item_id="i", event_type=EventType.ADDTOCART)
    assert before <= event.timestamp <= time.time()
    assert event.event_type is EventType.ADDTOCART
    assert (event.value, event.session_id, event.context) == (None, None, {})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1_700_000_000.25, 1_700_000_000.25),
        ("1700000000.25", 1_700_000_000.25),
        ("2024-01-01T00:00:00Z", 1_704_067_200.0),
        ("2024-01-01T01:00:00+01:00", 1_704_067_200.0),
        (datetime(2024, 1, 1), 1_704_067_200.0),  # naive means UTC
        (datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), 1_704_067_200.0),
        (datetime(2024, 1, 1, tzinfo=UTC), 1_704_067_200.0),
    ],
)
def test_timestamp_accepts_epoch_seconds_and_date_times(given: object, expected: float) -> None:
    fields = {"user_id": "u", "item_id": "i", "event_type": "view", "timestamp": given}
    assert Event.model_validate(fields).timestamp == expected


@pytest.mark.parametrize(
    ("fields", "bad_field", "message"),
    [
        ({"event_type": "teleport"}, "event_type", "'view', 'click'"),
        ({"user_id": ""}, "user_id", "at least 1 character"),
        ({"timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({"timestamp": float("nan")}, "timestamp", "finite"),
        ({"value": float("inf")}, "value", "finite"),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"context": {"f": object()}}, "context.f", "not a valid JSON value"),
    ],
)
def test_invalid_events_name_the_field(
    fields: dict[str, object], bad_field: str, message: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Event.model_validate({"user_id": "u", "item_id": "i", "event_type": "view", **fields})
    assert bad_field in error_fields(caught.value)
    assert message in str(caught.value)


def test_numeric_ids_become_text() -> None:
    event = Event.model_validate({"user_id": 7, "item_id": 1234, "event_type": "view"})
    assert (event.user_id, event.item_id) == ("7", "1234")


def test_event_row_round_trip() -> None:
    event = Event(
        user_id="u",
        item_id="i",
        event_type=EventType.RATING,
        timestamp=12.5,
        value=4.0,
        session_id="s",
        context={"device": "phone", "n": [1, 2]},
    )
    row = event.to_row()
    assert row == ("u", "i", "rating", 12.5, 4.0, "s", '{"device":"phone","n":[1,2]}')
    assert Event.from_row(row) == event
    assert Event(user_id="u", item_id="i", event_type=EventType.VIEW).to_row()[-1] is None


def test_item_rules_and_row_round_trip() -> None:
    item = Item.model_validate(
        {"item_id": 55, "title": "Mascara", "price": 9.5, "attributes": {"colour": "black"}}
    )
    assert item.to_row() == ("55", "Mascara", None, None, None, 9.5, True, '{"colour":"black"}')
    assert Item.from_row(item.to_row()) == item
    with pytest.raises(pydantic.ValidationError) as caught:
        Item(item_id="x", price=-1)
    assert error_fields(caught.value) == ["price"]


def test_patched_item_is_validated_again() -> None:
    item = Item(item_id="x", title="Lipstick", price=5.0)
    changed = item.patched({"in_stock": False, "price": 4.5})
    assert (changed.in_stock, changed.price, changed.title) == (False, 4.5, "Lipstick")
    assert item.in_stock is True  # the original is untouched
    with pytest.raises(ValidationError) as caught:
        item.patched({"price": -2, "stock": 3})
    assert [(p.field, p.line) for p in caught.value.problems] == [("price", None), ("stock", None)]
    assert "patch of item 'x' [price]" in str(caught.value)
    with pytest.raises(ValidationError, match="id cannot change"):
        item.patched({"item_id": "y"})
    assert item.patched({"item_id": "x"}) == item


def test_problems_from_pydantic_keep_source_line_and_field() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Event.model_validate({"user_id": "u", "item_id": "", "event_type": "nope"})
    problems = problems_from_pydantic(caught.value, "request body", line=3)
    assert [(p.source, p.line, p.field) for p in problems] == [
        ("request body", 3, "item_id"),
        ("request body", 3, "event_type"),
    ]
    assert all(isinstance(p, Problem) and p.message for p in problems)
