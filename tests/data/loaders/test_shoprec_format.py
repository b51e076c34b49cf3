"""shoprec's own folder format, format detection and the dispatch of ``load_dataset``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from shoprec.data.loaders import DATASET_FORMATS, detect_format, load_dataset
from shoprec.errors import DataError, UnknownFormatError

from .conftest import write_text

EVENTS = (
    "user_id,item_id,timestamp,event_type,value,channel\n"
    "0042,007,1700000000,view,,app\n"
    "0042,008,2024-01-01T00:00:00,purchase,2,web\n"
)
ITEMS = (
    "item_id,title,category,brand,price,in_stock,genres\n"
    "007,Pen,Office,,1.5,true,a|b\n"
    "008,Ink,,,,0,\n"
)


def test_folder_reads_ids_as_text_and_keeps_extra_columns(tmp_path: Path, gz: str) -> None:
    write_text(tmp_path / f"events.csv{gz}", EVENTS)
    write_text(tmp_path / f"items.csv{gz}", ITEMS)
    assert detect_format(tmp_path) == "shoprec"
    data = load_dataset(tmp_path)
    assert data.events.rows() == [
        ("0042", "007", "view", 1700000000.0, None, None, '{"channel":"app"}'),
        ("0042", "008", "purchase", 1704067200.0, 2.0, None, '{"channel":"web"}'),
    ]
    assert data.items.select("item_id", "price", "in_stock").rows() == [
        ("007", 1.5, True),
        ("008", None, False),
    ]
    assert json.loads(data.items["attributes"][0]) == {"genres": "a|b"}


def test_parquet_and_json_lines_tables_load_too(tmp_path: Path) -> None:
    pl.DataFrame({"user_id": ["u"], "item_id": ["i"], "event_type": ["view"]}).write_parquet(
        tmp_path / "events.parquet"
    )
    write_text(tmp_path / "items.jsonl", '{"item_id": "i", "title": "Lamp", "price": 3}\n')
    data = load_dataset(tmp_path)
    assert data.events["item_id"].to_list() == ["i"]
    assert data.items.select("title", "price").rows() == [("Lamp", 3.0)]


def test_an_events_file_alone_derives_a_bare_catalogue(tmp_path: Path) -> None:
    path = write_text(tmp_path / "clicks.csv", EVENTS)
    assert detect_format(path) == "shoprec"
    data = load_dataset(path)
    assert data.items["item_id"].to_list() == ["007", "008"]
    assert data.items["title"].null_count() == 2


def test_a_bad_value_or_missing_id_column_is_named(tmp_path: Path) -> None:
    write_text(tmp_path / "a" / "events.csv", "user_id,item_id,timestamp\nu,i,1\nu,j,soon\n")
    with pytest.raises(DataError, match=r"events\.csv:3 \[timestamp\]: cannot read 'soon'"):
        load_dataset(tmp_path / "a")
    write_text(tmp_path / "b" / "events.csv", "user,item_id\nu,i\n")
    with pytest.raises(DataError, match=r"required column\(s\) missing: user_id"):
        load_dataset(tmp_path / "b", "shoprec")


def test_two_events_tables_in_one_folder_are_ambiguous(tmp_path: Path) -> None:
    write_text(tmp_path / "events.csv", EVENTS)
    write_text(tmp_path / "events.jsonl", '{"user_id": "u"}\n')
    with pytest.raises(DataError, match="several events tables"):
        load_dataset(tmp_path)


def test_unknown_paths_and_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        load_dataset(tmp_path / "nowhere")
    write_text(tmp_path / "notes.txt", "hello\n")
    with pytest.raises(UnknownFormatError, match="not a dataset format"):
        detect_format(tmp_path)
    with pytest.raises(UnknownFormatError, match="unknown dataset format 'csv'"):
        load_dataset(tmp_path, "csv")
    assert set(DATASET_FORMATS) == {
        "shoprec",
        "amazon",
        "movielens",
        "retailrocket",
        "taobao",
        "uci",
    }
