"""Taobao UserBehavior: behaviour codes map to event types; each item gets its usual category."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.data.loaders import detect_format, load_dataset
from shoprec.errors import DataError

from .conftest import write_text

LOG = (
    "1,2268318,2520377,pv,1511544070\n"
    "1,2268318,2520377,cart,1511544080\n"
    "1,2333346,2520771,fav,1511561733\n"
    "2,2268318,9999,buy,1511570000\n"
    "2,2268318,2520377,pv,1511570001\n"
)


def test_headerless_log_maps_behaviours_and_item_categories(tmp_path: Path, gz: str) -> None:
    path = write_text(tmp_path / f"UserBehavior.csv{gz}", LOG)
    assert detect_format(path) == "taobao"
    assert detect_format(tmp_path) == "taobao"
    data = load_dataset(path)
    assert data.events["event_type"].to_list() == [
        "view",
        "addtocart",
        "favorite",
        "purchase",
        "view",
    ]
    assert data.events["timestamp"][0] == 1511544070.0
    # 2268318 is seen three times in 2520377 and once in 9999.
    assert dict(data.items.select("item_id", "category").rows()) == {
        "2268318": "2520377",
        "2333346": "2520771",
    }


def test_a_header_is_accepted_and_an_unknown_behaviour_named(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "UserBehavior.csv", "user,item,category,behavior,ts\n" + LOG + "3,1,1,like,5\n"
    )
    with pytest.raises(DataError, match=r"UserBehavior\.csv:7 \[behavior\]: unknown behaviour"):
        load_dataset(path, "taobao")
