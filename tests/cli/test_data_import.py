"""``shoprec data import`` / ``data stats`` through the Typer app, into a temporary home."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import shoprec.cli.data_import  # noqa: F401  (registers the commands)
from shoprec.cli.app import app
from shoprec.errors import ConfigError, DataError, ValidationError
from shoprec.events import SQLiteCatalog, SQLiteEventStore

EVENTS = (
    "user_id,item_id,timestamp,event_type,value\n"
    "u1,007,1700000000,view,\n"
    "u1,008,1700086400,purchase,1\n"
    "u2,007,1700172800,view,\n"
    "u3,007,1700259200,view,\n"
    "u3,008,1700345600,view,\n"
    "u3,009,1700432000,addtocart,\n"
)
ITEMS = "item_id,title,category,price\n007,Pen,Office,1.5\n008,Ink,,\n009,,,\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOPREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, ["data", *args])
    return result.exit_code, result.output, result.exception


def stored(home: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = home / "shoprec.db"
    with SQLiteEventStore(path) as store, SQLiteCatalog(path) as catalog:
        return store.frame(), catalog.frame()


def test_a_shoprec_folder_is_imported_and_described(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    write(folder / "events.csv.gz", EVENTS)
    write(folder / "items.csv.gz", ITEMS)
    code, output, _ = run("import", str(folder))
    assert code == 0, output
    assert "events imported" in output and "6" in output
    events, items = stored(home)
    assert events["item_id"].to_list() == ["007", "008", "007", "007", "008", "009"]
    assert items["title"].to_list() == ["Pen", "Ink", None]

    code, output, _ = run("stats", "--store")
    assert code == 0, output
    for expected in (
        "users",
        "3",
        "view",
        "4",
        "median 2, p90 3",
        "2023-11-14 .. 2023-11-19",
        "items with title    │ 2 / 3 (66.7 %)",
        "items with price    │ 1 / 3 (33.3 %)",
    ):
        assert expected in output, expected


def test_plain_files_with_items_option(home: Path, tmp_path: Path) -> None:
    events = write(tmp_path / "clicks.csv", EVENTS)
    items = write(tmp_path / "catalogue.jsonl", '{"item_id": "007", "title": "Pen"}\n')
    code, output, _ = run("import", str(events), "--items", str(items))
    assert code == 0, output
    events_frame, items_frame = stored(home)
    assert events_frame.height == 6
    assert items_frame["title"].to_list() == ["Pen"]


def test_a_bad_row_fails_with_file_and_line_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    assert run("import", str(write(tmp_path / "ok.csv", EVENTS)))[0] == 0
    bad = write(tmp_path / "bad.csv", EVENTS + "u4,010,yesterday,view,\n")
    code, _, error = run("import", str(bad))
    assert code == 1
    assert isinstance(error, ValidationError)
    assert f"{bad}:8 [timestamp]: cannot read 'yesterday'" in str(error)
    assert stored(home)[0].height == 6


def test_skip_invalid_writes_rejects_under_the_home(home: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "events.csv", EVENTS + "u4,010,1,explode,\n")
    code, output, _ = run("import", str(bad), "--skip-invalid")
    assert code == 0, output
    rejects = home / "rejects" / "events.rejects.csv"
    assert pl.read_csv(rejects, infer_schema=False).select("line", "field").rows() == [
        ("8", "event_type")
    ]
    assert "rows rejected" in output
    assert stored(home)[0].height == 6


def test_a_native_dataset_is_loaded_then_imported(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ml-100k"
    write(folder / "u.data", "1\t10\t4\t880000000\n2\t10\t5\t880000100\n")
    write(
        folder / "u.item",
        "10|Heat (1995)|01-Jan-1995||x|" + "|".join(["0", "1"] + ["0"] * 17) + "\n",
    )
    code, output, _ = run("import", str(folder))
    assert code == 0, output
    events, items = stored(home)
    assert events.select("event_type", "value").rows() == [("rating", 4.0), ("rating", 5.0)]
    assert items.select("item_id", "title", "category").rows() == [("10", "Heat (1995)", "Action")]

    code, output, _ = run("stats", str(folder), "--format", "movielens")
    assert code == 0, output
    assert "rating" in output
    assert "1997-11-20 .. 1997-11-20" in output


def test_a_dataset_without_a_catalogue_does_not_blank_stored_items(
    home: Path, tmp_path: Path
) -> None:
    run("import", "--items", str(write(tmp_path / "items.csv", ITEMS)))
    ratings = write(tmp_path / "ml" / "u.data", "1\t007\t4\t880000000\n")  # no u.item
    assert run("import", str(ratings))[0] == 0
    events, items = stored(home)
    assert events["item_id"].to_list() == ["007"]
    assert items.filter(pl.col("item_id") == "007")["title"].to_list() == ["Pen"]


def test_user_mistakes_are_shoprec_errors(home: Path, tmp_path: Path) -> None:
    assert isinstance(run("import")[2], ConfigError)
    events = write(tmp_path / "events.csv", EVENTS)
    assert isinstance(run("import", str(events), "--format", "xml")[2], ConfigError)
    folder = tmp_path / "ml"
    write(folder / "u.data", "1\t10\t4\t880000000\n")
    assert isinstance(run("import", str(folder), "--items", str(events))[2], ConfigError)
    assert isinstance(run("stats")[2], DataError)  # no store yet
