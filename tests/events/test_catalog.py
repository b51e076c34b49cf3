"""Catalogues (memory, SQLite, PostgreSQL): upsert, patch, delete, read; rejects change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from shoprec.data import ITEM_SCHEMA
from shoprec.errors import StoreError, ValidationError
from shoprec.events import (
    Catalog,
    Event,
    Item,
    MemoryCatalog,
    PostgresCatalog,
    SQLiteCatalog,
    SQLiteEventStore,
)
from shoprec.types import EventType


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    backend: Catalog
    if request.param == "memory":
        backend = MemoryCatalog()
    elif request.param == "sqlite":
        backend = SQLiteCatalog(tmp_path / "shop.db")
    else:
        backend = PostgresCatalog(request.getfixturevalue("postgres_url"))
    yield backend
    backend.close()


def ids(catalog: Catalog) -> list[str]:
    return catalog.frame()["item_id"].to_list()


def test_backends_implement_the_protocol(catalog: Catalog) -> None:
    assert isinstance(catalog, Catalog)


def test_upsert_inserts_then_replaces_in_place(catalog: Catalog) -> None:
    first = [Item(item_id="a", title="A", price=1.0), Item(item_id="b", title="B")]
    assert catalog.upsert(first) == 2
    replaced = pl.DataFrame(
        {"item_id": ["c", "a", "c"], "title": ["C1", "A2", "C2"], "price": [3.0, 1.5, 3.5]}
    )
    assert catalog.upsert(replaced) == 3
    expected = pl.DataFrame(
        [
            ("a", "A2", None, None, None, 1.5, True, None),
            ("b", "B", None, None, None, None, True, None),
            ("c", "C2", None, None, None, 3.5, True, None),  # the later row of a batch wins
        ],
        schema=ITEM_SCHEMA,
        orient="row",
    )
    assert catalog.frame().equals(expected)
    assert catalog.count() == 3


def test_patch_changes_only_the_given_fields(catalog: Catalog) -> None:
    catalog.upsert([Item(item_id="a", title="A", price=10.0, attributes={"size": "M"})])
    changed = catalog.patch("a", {"in_stock": False, "price": 8.0})
    assert changed == Item(
        item_id="a", title="A", price=8.0, in_stock=False, attributes={"size": "M"}
    )
    assert catalog.get("a") == changed
    assert catalog.frame()["in_stock"].to_list() == [False]
    assert catalog.patch("missing", {"in_stock": False}) is None
    assert catalog.count() == 1


def test_an_invalid_patch_changes_nothing(catalog: Catalog) -> None:
    catalog.upsert([Item(item_id="a", price=10.0)])
    with pytest.raises(ValidationError) as caught:
        catalog.patch("a", {"price": -1.0})
    assert [p.field for p in caught.value.problems] == ["price"]
    assert catalog.get("a") == Item(item_id="a", price=10.0)


def test_delete_one_or_many(catalog: Catalog) -> None:
    catalog.upsert([Item(item_id=i) for i in ["ab", "cd", "ef", "a", "b"]])
    assert catalog.delete("ab") == 1  # a string is one id, not the ids "a" and "b"
    assert catalog.delete(["cd", "cd", "zz"]) == 1
    assert ids(catalog) == ["ef", "a", "b"]
    assert catalog.get("cd") is None


def test_a_rejected_batch_leaves_the_catalogue_unchanged(catalog: Catalog) -> None:
    catalog.upsert([Item(item_id="a", price=1.0)])
    before = catalog.frame()
    bad = pl.DataFrame({"item_id": ["a", "b"], "price": [2.0, -5.0]})
    with pytest.raises(ValidationError) as caught:
        catalog.upsert(bad)
    assert [(p.line, p.field) for p in caught.value.problems] == [(1, "price")]
    assert catalog.frame().equals(before)


def test_empty_catalogue_frame_has_the_schema(catalog: Catalog) -> None:
    assert catalog.frame().schema == pl.Schema(ITEM_SCHEMA)
    assert catalog.upsert([]) == 0


def test_closed_catalogue_refuses_calls(catalog: Catalog) -> None:
    catalog.close()
    with pytest.raises(StoreError, match="closed"):
        catalog.get("a")
    with pytest.raises(StoreError, match="closed"):
        catalog.upsert([Item(item_id="a")])


def test_sqlite_catalogue_persists_and_shares_the_events_file(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteCatalog(path) as catalog, SQLiteEventStore(path) as events:
        catalog.upsert([Item(item_id="a", price=1.0, attributes={"colour": "red"})])
        events.append([Event(user_id="u", item_id="a", event_type=EventType.VIEW, timestamp=1.0)])
        catalog.patch("a", {"in_stock": False})
    with SQLiteCatalog(path) as catalog, SQLiteEventStore(path) as events:
        assert catalog.get("a") == Item(
            item_id="a", price=1.0, in_stock=False, attributes={"colour": "red"}
        )
        assert events.count() == 1
