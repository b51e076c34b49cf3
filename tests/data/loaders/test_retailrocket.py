"""RetailRocket: transactions become purchases, the latest property snapshot describes an item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoprec.data.loaders import detect_format, load_dataset
from shoprec.errors import DataError

from .conftest import write_text


def write_shop(folder: Path, gz: str) -> None:
    write_text(
        folder / f"events.csv{gz}",
        "timestamp,visitorid,event,itemid,transactionid\n"
        "1433221332117,257597,view,355908,\n"
        "1433224214164,992329,addtocart,248676,\n"
        "1433223203944,992329,transaction,248676,4000\n",
    )
    # Item 248676 moved from category 1 to 3 and went out of stock; 355908 only has a category.
    write_text(
        folder / f"item_properties_part1.csv{gz}",
        "timestamp,itemid,property,value\n"
        "1435460400000,248676,categoryid,3\n"
        "1433041200000,248676,categoryid,1\n"
        "1433041200000,248676,available,1\n"
        "1433041200000,355908,categoryid,1\n",
    )
    write_text(
        folder / "item_properties_part2.csv",
        "timestamp,itemid,property,value\n"
        "1435460400000,248676,available,0\n"
        "1435460400000,248676,888,n552.000 639502\n",
    )
    write_text(folder / "category_tree.csv", "categoryid,parentid\n1,\n2,1\n3,2\n")


def test_events_items_and_category_paths(tmp_path: Path, gz: str) -> None:
    write_shop(tmp_path, gz)
    assert detect_format(tmp_path) == "retailrocket"
    data = load_dataset(tmp_path)
    assert data.events.select("user_id", "item_id", "event_type", "timestamp").rows() == [
        ("257597", "355908", "view", 1433221332.117),
        ("992329", "248676", "addtocart", 1433224214.164),
        ("992329", "248676", "purchase", 1433223203.944),
    ]
    assert json.loads(data.events["context"][2]) == {"transactionid": "4000"}
    items = {row["item_id"]: row for row in data.items.to_dicts()}
    assert (items["248676"]["category"], items["248676"]["in_stock"]) == ("3", False)
    assert json.loads(items["248676"]["attributes"]) == {"category_path": "1/2/3"}
    assert (items["355908"]["category"], items["355908"]["in_stock"]) == ("1", None)


def test_an_unknown_event_name_is_named_with_its_line(tmp_path: Path) -> None:
    write_text(
        tmp_path / "events.csv",
        "timestamp,visitorid,event,itemid,transactionid\n1,2,view,3,\n4,5,refund,6,\n",
    )
    with pytest.raises(DataError, match=r"events\.csv:3 \[event\]: unknown event 'refund'"):
        load_dataset(tmp_path, "retailrocket")
