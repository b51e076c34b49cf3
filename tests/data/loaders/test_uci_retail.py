"""UCI Online Retail: kept invoice lines become purchases; cancellations and guests are dropped."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from shoprec.data.loaders import detect_format, load_dataset
from shoprec.errors import DataError

from .conftest import write_text

HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
LINES = [
    [
        "536365",
        "85123A",
        "WHITE HANGING HEART ",
        6,
        datetime(2010, 12, 1, 8, 26),
        2.55,
        17850.0,
        "UK",
    ],
    [
        "536365",
        "71053",
        "WHITE METAL LANTERN",
        6,
        datetime(2010, 12, 1, 8, 26),
        3.39,
        17850.0,
        "UK",
    ],
    [
        "C536379",
        "85123A",
        "WHITE HANGING HEART",
        -1,
        datetime(2010, 12, 1, 9, 41),
        2.55,
        14527.0,
        "UK",
    ],
    ["536380", "71053", "WHITE METAL LANTERN", 2, datetime(2010, 12, 1, 9, 45), 3.45, None, "UK"],
    ["536381", "POST", "POSTAGE", 1, datetime(2010, 12, 1, 9, 50), 18.0, 12583.0, "France"],
    [
        "536382",
        "71053",
        "WHITE METAL LANTERN",
        0,
        datetime(2010, 12, 1, 9, 51),
        3.39,
        12583.0,
        "FR",
    ],
    ["536383", "71053", "WHITE METAL LANTERN", 1, datetime(2010, 12, 1, 9, 52), 3.1, 12583.0, "FR"],
]
KEPT = [
    ("17850", "85123A", "purchase", 1291191960.0, 6.0, "536365"),
    ("17850", "71053", "purchase", 1291191960.0, 6.0, "536365"),
    ("12583", "71053", "purchase", 1291197120.0, 1.0, "536383"),
]


def test_workbook_purchases_drop_cancellations_guests_and_charges(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *LINES]:
        sheet.append(row)
    path = tmp_path / "Online Retail.xlsx"
    book.save(path)
    assert detect_format(path) == "uci"
    data = load_dataset(tmp_path)
    columns = ["user_id", "item_id", "event_type", "timestamp", "value", "session_id"]
    assert data.events.select(columns).rows() == KEPT
    assert json.loads(data.events["context"][0]) == {"unit_price": 2.55, "country": "UK"}
    items = {row["item_id"]: row for row in data.items.to_dicts()}
    assert set(items) == {"85123A", "71053"}  # POST is not a product
    assert items["85123A"]["title"] == "WHITE HANGING HEART"
    assert items["71053"]["price"] == 3.39  # median of 3.39, 3.45, 3.39, 3.1


def test_csv_export_with_us_dates(tmp_path: Path, gz: str) -> None:
    rows = [",".join(HEADER)]
    for line in LINES:
        date, customer_id = line[4], line[6]
        assert isinstance(date, datetime)
        when = f"{date.month}/{date.day}/{date.year} {date.hour}:{date.minute:02d}"
        customer = "" if customer_id is None else str(int(str(customer_id).split(".")[0]))
        rows.append(",".join(str(v) for v in [*line[:4], when, line[5], customer, line[7]]))
    path = write_text(tmp_path / f"OnlineRetail.csv{gz}", "\n".join(rows) + "\n")
    assert detect_format(path) == "uci"
    data = load_dataset(path)
    columns = ["user_id", "item_id", "event_type", "timestamp", "value", "session_id"]
    assert data.events.select(columns).rows() == KEPT


def test_an_unreadable_date_is_named(tmp_path: Path) -> None:
    text = (
        ",".join(HEADER) + "\n536365,1,A,1,12/1/2010 8:26,1.0,1,UK\n536366,1,A,1,someday,1,2,UK\n"
    )
    path = write_text(tmp_path / "retail.csv", text)
    with pytest.raises(DataError, match=r"retail\.csv:3 \[InvoiceDate\]: cannot read 'someday'"):
        load_dataset(path, "uci")
