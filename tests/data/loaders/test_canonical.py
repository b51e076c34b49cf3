"""Conversions shared by the loaders and the importer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from shoprec.data import ITEM_SCHEMA
from shoprec.data.loaders import json_text, pack_extra_columns, to_epoch_seconds


def test_timestamps_of_every_form_become_epoch_seconds() -> None:
    text = pl.Series("timestamp", [" 1.5", "2024-01-01T00:00:00", None, "never"])
    assert to_epoch_seconds(text).to_list() == [1.5, 1704067200.0, None, None]
    aware = pl.Series([datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))])
    assert to_epoch_seconds(aware).to_list() == [1704067200.0]
    assert to_epoch_seconds(pl.Series([datetime(2024, 1, 1).date()])).to_list() == [1704067200.0]
    assert to_epoch_seconds(pl.Series([7])).to_list() == [7.0]


def test_extra_columns_become_one_json_object() -> None:
    frame = pl.DataFrame({"item_id": ["a"], "size": [3], "tags": [["x", "y"]]})
    packed = pack_extra_columns(frame, ITEM_SCHEMA, "attributes")
    assert packed.to_dict(as_series=False) == {
        "item_id": ["a"],
        "attributes": ['{"size":3,"tags":["x","y"]}'],
    }
    assert pack_extra_columns(packed, ITEM_SCHEMA, "attributes").equals(packed)


def test_json_text_keeps_nulls() -> None:
    assert json_text(pl.Series("v", [[1], None])).to_list() == ["[1]", None]
