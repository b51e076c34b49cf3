"""Amazon reviews 2014 / 2018 / 2023: reviews become ``review`` events, meta the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoprec.data.loaders import detect_format, load_dataset
from shoprec.errors import DataError

from .conftest import write_text


def jsonl(*records: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_2014_reviews_with_python_literal_meta(tmp_path: Path, gz: str) -> None:
    reviews = jsonl(
        {"reviewerID": "A1", "asin": "0001", "overall": 5.0, "unixReviewTime": 1393545600},
        {"reviewerID": "A2", "asin": "0002", "overall": 3.0, "unixReviewTime": 1400000000},
    )
    write_text(tmp_path / f"reviews_Beauty_5.json{gz}", reviews.replace("\n", "\n\n", 1))
    meta = (
        "{'asin': '0001', 'title': 'Crème Rouge', 'price': 12.5, 'brand': 'Acme', "
        "'categories': [['Beauty', 'Makeup', 'Lips']], 'salesRank': {'Beauty': 10}}\n"
        '{"asin": "0002", "description": "A brush", "categories": [["Beauty"]]}\n'
    )
    write_text(tmp_path / f"meta_Beauty.json{gz}", meta)
    assert detect_format(tmp_path) == "amazon"
    data = load_dataset(tmp_path)
    assert data.events.rows() == [
        ("A1", "0001", "review", 1393545600.0, 5.0, None, None),
        ("A2", "0002", "review", 1400000000.0, 3.0, None, None),
    ]
    first, second = data.items.to_dicts()
    assert first["title"] == "Crème Rouge"
    assert (first["category"], first["brand"], first["price"]) == ("Makeup", "Acme", 12.5)
    assert json.loads(first["attributes"]) == {"categories": [["Beauty", "Makeup", "Lips"]]}
    assert (second["category"], second["description"]) == ("Beauty", "A brush")


def test_2018_reviews_with_text_prices(tmp_path: Path) -> None:
    write_text(
        tmp_path / "Beauty.json",
        jsonl({"reviewerID": "R", "asin": "B1", "overall": 4.0, "unixReviewTime": 1500000000}),
    )
    write_text(
        tmp_path / "meta_Beauty.json",
        jsonl(
            {
                "asin": "B1",
                "title": "Serum",
                "category": ["Beauty & Personal Care", "Skin Care"],
                "price": "$1,299.00",
                "description": ["first", "second"],
            }
        ),
    )
    data = load_dataset(tmp_path / "Beauty.json")  # a reviews file finds its meta file
    item = data.items.to_dicts()[0]
    assert (item["category"], item["price"], item["description"]) == ("Skin Care", 1299.0, "first")
    assert data.events["value"].to_list() == [4.0]


def test_2023_reviews_use_parent_asin_and_millisecond_times(tmp_path: Path, gz: str) -> None:
    write_text(
        tmp_path / f"All_Beauty.jsonl{gz}",
        jsonl(
            {
                "user_id": "U9",
                "asin": "CHILD",
                "parent_asin": "P1",
                "rating": 2.0,
                "timestamp": 1588687728923,
            }
        ),
    )
    write_text(
        tmp_path / f"meta_All_Beauty.jsonl{gz}",
        jsonl({"parent_asin": "P1", "main_category": "All Beauty", "store": "Shop", "price": None}),
    )
    assert detect_format(tmp_path / f"All_Beauty.jsonl{gz}") == "amazon"
    data = load_dataset(tmp_path, "amazon")
    assert data.events.rows() == [("U9", "P1", "review", 1588687728.923, 2.0, None, None)]
    item = data.items.to_dicts()[0]
    assert (item["item_id"], item["category"], item["brand"], item["price"]) == (
        "P1",
        "All Beauty",
        "Shop",
        None,
    )


def test_unparseable_records_and_incomplete_reviews_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    write_text(bad / "reviews_X.json", '{"reviewerID": "A", "asin": "1", "unixReviewTime": 1}\n')
    write_text(bad / "meta_X.json", "{'asin': '1'}\n{'asin': oops}\n")
    with pytest.raises(DataError, match=r"meta_X\.json:2: not a JSON or Python dict record"):
        load_dataset(bad, "amazon")
    partial = tmp_path / "partial"
    write_text(
        partial / "reviews_Y.json",
        jsonl({"reviewerID": "A", "asin": "1", "unixReviewTime": 1}, {"asin": "2"}),
    )
    with pytest.raises(DataError, match=r"reviews_Y\.json:2: review without a reviewer"):
        load_dataset(partial, "amazon")
