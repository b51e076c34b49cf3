"""File import: all rows validated first; a bad row is named by file, line and field; atomic."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from shoprec.errors import ValidationError
from shoprec.events import (
    MAX_PROBLEMS_SHOWN,
    Catalog,
    EventStore,
    MemoryCatalog,
    MemoryEventStore,
    PostgresCatalog,
    PostgresEventStore,
    SQLiteCatalog,
    SQLiteEventStore,
    import_files,
    import_frames,
)
from shoprec.events import importer as importer_module

HEADER = "user_id,item_id,event_type,timestamp,value\n"
GOOD_EVENTS = (
    HEADER + "u1,007,view,100,\nu1,008,purchase,2024-01-01T00:00:00,2\nu2,007,click,300,\n"
)
GOOD_ITEMS = "item_id,title,price,in_stock,colour\n007,Pen,1.5,true,red\n008,Ink,,false,\n"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EventStore, Catalog]]:
    if request.param == "memory":
        store: EventStore = MemoryEventStore()
        catalog: Catalog = MemoryCatalog()
    elif request.param == "sqlite":
        store = SQLiteEventStore(tmp_path / "shop.db")
        catalog = SQLiteCatalog(tmp_path / "shop.db")  # one file holds both
    else:
        url = request.getfixturevalue("postgres_url")
        store, catalog = PostgresEventStore(url), PostgresCatalog(url)
    yield store, catalog
    store.close()
    catalog.close()


def write(path: Path, text: str) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def problems(error: ValidationError) -> list[tuple[str, int | None, str | None]]:
    return [(Path(p.source).name, p.line, p.field) for p in error.problems]


def test_good_files_are_imported_with_text_ids_and_extras(
    stores: tuple[EventStore, Catalog], tmp_path: Path
) -> None:
    store, catalog = stores
    report = import_files(
        write(tmp_path / "events.csv.gz", GOOD_EVENTS),
        write(tmp_path / "items.csv", GOOD_ITEMS),
        store,
        catalog,
    )
    assert (report.n_events, report.n_items, report.n_rejected) == (3, 2, 0)
    assert store.frame().select("user_id", "item_id", "timestamp", "value").rows() == [
        ("u1", "007", 100.0, None),
        ("u1", "008", 1704067200.0, 2.0),
        ("u2", "007", 300.0, None),
    ]
    assert catalog.frame().select("item_id", "price", "in_stock", "attributes").rows() == [
        ("007", 1.5, True, '{"colour":"red"}'),
        ("008", None, False, '{"colour":null}'),
    ]


@pytest.mark.parametrize(
    ("events", "line", "field", "message"),
    [
        (
            HEADER + "u1,i,view,100,\nu1,i,view,soon,\n",
            3,
            "timestamp",
            "cannot read 'soon' as Float64",
        ),
        (
            HEADER + "u1,i,teleport,100,\n",
            2,
            "event_type",
            "unknown event type 'teleport'; expected one of view, click",
        ),
        (HEADER + "u1,i,view,1,\n,i,view,2,\n", 3, "user_id", "missing or empty"),
        (HEADER + "u1,i,view,1,lots\n", 2, "value", "cannot read 'lots' as Float64"),
        (HEADER + "u1,i,view,inf,\n", 2, "timestamp", "inf is not a finite number of seconds"),
        ("user_id,item_id,timestamp\nu1,i,1\n", None, "event_type", "required column is missing"),
    ],
    ids=["timestamp", "event-type", "empty-user", "value", "infinite", "missing-column"],
)
def test_each_bad_event_names_file_line_and_field(
    tmp_path: Path, events: str, line: int | None, field: str, message: str
) -> None:
    path = write(tmp_path / "events.csv", events)
    with pytest.raises(ValidationError) as caught:
        import_files(path, None, MemoryEventStore(), MemoryCatalog())
    where = f"{path}:{line}" if line is not None else str(path)
    assert f"{where} [{field}]: {message}" in str(caught.value)
    assert problems(caught.value) == [("events.csv", line, field)]


def test_a_non_numeric_price_names_the_items_file_line(tmp_path: Path) -> None:
    items = write(tmp_path / "items.csv", "item_id,price\na,1\nb,cheap\nc,-2\n")
    with pytest.raises(ValidationError) as caught:
        import_files(None, items, MemoryEventStore(), MemoryCatalog())
    assert problems(caught.value) == [("items.csv", 3, "price"), ("items.csv", 4, "price")]
    assert f"{items}:3 [price]: cannot read 'cheap' as Float64" in str(caught.value)
    assert f"{items}:4 [price]: -2.0 is not a finite non-negative price" in str(caught.value)


def test_json_lines_and_parquet_problems_point_at_lines_and_rows(tmp_path: Path) -> None:
    jsonl = write(
        tmp_path / "events.jsonl",
        '{"user_id": "u", "item_id": "i", "event_type": "view"}\n\n'
        '{"user_id": "u", "item_id": "", "event_type": "view"}\n',
    )
    with pytest.raises(ValidationError) as caught:
        import_files(jsonl, None, MemoryEventStore(), MemoryCatalog())
    assert problems(caught.value) == [("events.jsonl", 3, "item_id")]
    parquet = tmp_path / "events.parquet"
    pl.DataFrame(
        {"user_id": ["u", "u"], "item_id": ["i", "j"], "event_type": ["view", "jump"]}
    ).write_parquet(parquet)
    with pytest.raises(ValidationError) as caught:
        import_files(parquet, None, MemoryEventStore(), MemoryCatalog())
    assert problems(caught.value) == [("events.parquet", 2, "event_type")]


def test_a_bad_file_leaves_both_stores_unchanged(
    stores: tuple[EventStore, Catalog], tmp_path: Path
) -> None:
    store, catalog = stores
    import_files(write(tmp_path / "first.csv", GOOD_EVENTS), None, store, catalog)
    catalog.upsert(pl.DataFrame({"item_id": ["007"], "title": ["Old pen"]}))
    before = (store.count(), store.last_seq(), catalog.frame())
    # Items are fine, events have one bad row at the very end: nothing at all is written.
    bad_events = GOOD_EVENTS + "u3,009,view,oops,\n"
    with pytest.raises(ValidationError, match="nothing was imported"):
        import_files(
            write(tmp_path / "events.csv", bad_events),
            write(tmp_path / "items.csv", GOOD_ITEMS),
            store,
            catalog,
        )
    assert (store.count(), store.last_seq()) == before[:2]
    assert catalog.frame().equals(before[2])


def test_problems_of_both_files_are_listed_and_all_counted(tmp_path: Path) -> None:
    events = write(tmp_path / "events.csv", HEADER + "".join(f",i,view,{t},\n" for t in range(30)))
    items = write(tmp_path / "items.csv", "item_id,price\na,-1\n")
    with pytest.raises(ValidationError) as caught:
        import_files(events, items, MemoryEventStore(), MemoryCatalog())
    error = caught.value
    assert error.total == 31
    assert len(error.problems) == MAX_PROBLEMS_SHOWN
    assert problems(error)[:2] == [("events.csv", 2, "user_id"), ("events.csv", 3, "user_id")]
    assert "... and 11 more" in str(error)


def test_skip_invalid_imports_good_rows_and_writes_rejects(
    stores: tuple[EventStore, Catalog], tmp_path: Path
) -> None:
    store, catalog = stores
    events = write(
        tmp_path / "events.csv",
        HEADER + "u1,a,view,1,\n,b,warp,2,\nu2,c,view,3,x\nu3,d,view,4,\n",
    )
    items = write(tmp_path / "items.csv", "item_id,price\na,1\nb,free\n")
    rejects = tmp_path / "out" / "rejects.csv"
    report = import_files(events, items, store, catalog, skip_invalid=True, rejects_path=rejects)
    assert (report.n_events, report.n_items, report.n_rejected) == (2, 1, 3)
    assert report.rejects_path == rejects
    assert store.frame()["user_id"].to_list() == ["u1", "u3"]
    assert catalog.frame()["item_id"].to_list() == ["a"]
    written = pl.read_csv(rejects, infer_schema=False)
    assert written.select("file", "line", "field", "user_id", "event_type", "price").rows() == [
        (str(events), "3", "user_id; event_type", None, "warp", None),
        (str(events), "4", "value", "u2", "view", None),
        (str(items), "3", "price", None, None, "free"),
    ]
    assert written["message"][0] == (
        "missing or empty; unknown event type 'warp'; expected one of "
        "view, click, addtocart, removefromcart, purchase, favorite, review, rating, search, "
        "coupon_redeem"
    )


def test_skip_invalid_cannot_skip_a_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", "user_id,event_type\nu,view\n")
    with pytest.raises(ValidationError, match=r"events\.csv \[item_id\]: required column"):
        import_files(path, None, MemoryEventStore(), MemoryCatalog(), skip_invalid=True)


def test_large_files_go_in_chunks_inside_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer_module, "CHUNK_ROWS", 2)
    path = write(tmp_path / "events.csv", HEADER + "".join(f"u,i{k},view,{k},\n" for k in range(5)))
    with SQLiteEventStore(tmp_path / "s.db") as store, SQLiteCatalog(tmp_path / "s.db") as catalog:
        written: list[int] = []
        import_files(path, None, store, catalog, progress=written.append)
        assert written == [2, 2, 1]
        assert store.frame()["item_id"].to_list() == [f"i{k}" for k in range(5)]

        # A failure after the first chunk was written (here: the progress callback) rolls the
        # whole file back, as a crash would: SQLite never committed the transaction.
        def fail(n: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            import_files(path, None, store, catalog, progress=fail)
        assert store.count() == 5
        assert store.last_seq() == 5


def test_frames_from_a_loaded_dataset_are_checked_by_row(tmp_path: Path) -> None:
    events = pl.DataFrame(
        {"user_id": ["u", "u"], "item_id": ["a", None], "event_type": ["view"] * 2}
    )
    with pytest.raises(ValidationError) as caught:
        import_frames(events, None, MemoryEventStore(), MemoryCatalog(), source="movielens")
    assert [(p.source, p.line, p.field) for p in caught.value.problems] == [
        ("movielens events", 2, "item_id")
    ]


def test_a_reimport_stores_none_of_a_forgotten_shoppers_rows(
    stores: tuple[EventStore, Catalog], tmp_path: Path
) -> None:
    """#18: re-importing a file used to bring a forgotten shopper back."""
    store, catalog = stores
    path = write(tmp_path / "events.csv", GOOD_EVENTS)
    import_files(path, None, store, catalog)
    store.tombstone("u1")
    store.forget_user("u1")
    report = import_files(path, None, store, catalog)
    assert (report.n_events, report.n_forgotten) == (1, 2)
    assert store.latest("u1", 10) == []
    assert store.frame()["user_id"].to_list() == ["u2", "u2"]
