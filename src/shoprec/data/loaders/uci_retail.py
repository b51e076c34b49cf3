"""UCI Online Retail (I and II): invoice lines of a UK online gift shop, as ``.xlsx`` or CSV.

Columns ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country`` (Online Retail II spells them ``Invoice``, ``Price``, ``Customer ID``). Each kept line
is a ``purchase`` of ``StockCode`` by ``CustomerID`` whose value is the quantity, with the
invoice as its ``session_id`` and unit price and country in ``context``. Dropped, as in the
published analyses of this data: cancellations (invoice numbers starting with ``C``), lines
without a customer, lines with a quantity <= 0 and non-product codes (postage, fees,
adjustments: :data:`NON_PRODUCT_CODES`). The catalogue holds every product code with its first
description and median positive unit price. ``InvoiceDate`` is UK local time, read as UTC;
text dates are ISO or ``month/day/year hour:minute`` (the UCI export's order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from shoprec.data.files import first_line, read_table
from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.errors import DataError
from shoprec.types import Columns, EventType

from .canonical import canonical_frame, pack_extra_columns

NAME = "uci"

#: Stock codes that are charges or adjustments, not products.
NON_PRODUCT_CODES = (
    "POST",
    "DOT",
    "M",
    "D",
    "C2",
    "S",
    "B",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
    "ADJUST",
    "ADJUST2",
    "TEST001",
    "TEST002",
)
_RENAMES = {
    "InvoiceNo": "invoice",
    "Invoice": "invoice",
    "StockCode": Columns.ITEM,
    "Description": Columns.TITLE,
    "Quantity": Columns.VALUE,
    "InvoiceDate": Columns.TIMESTAMP,
    "UnitPrice": "unit_price",
    "Price": "unit_price",
    "CustomerID": Columns.USER,
    "Customer ID": Columns.USER,
    "Country": "country",
}
_ORIGINAL = {Columns.TIMESTAMP: "InvoiceDate", Columns.VALUE: "Quantity"}
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")


def _source_file(path: Path) -> Path | None:
    if not path.is_dir():
        return path
    for pattern in ("*[Rr]etail*.xlsx", "*[Rr]etail*.csv*"):
        found = sorted(p for p in path.glob(pattern) if p.is_file())
        if found:
            return found[0]
    return None


def detect(path: Path) -> bool:
    """Whether ``path`` is an Online Retail workbook or CSV (or a folder holding one)."""
    source = _source_file(path)
    if source is None:
        return False
    if source.suffix.lower() == ".xlsx":
        return True
    head = first_line(source)
    return "StockCode" in head and "InvoiceDate" in head


def load(path: Path) -> Interactions:
    """Load Online Retail invoice lines as purchases (see the module docs for what is dropped).

    Raises:
        DataError: No such file, missing columns, or an unreadable date or quantity.
    """
    source = _source_file(path)
    if source is None:
        raise DataError(f"{path}: no Online Retail .xlsx or .csv")
    frame, lines = _read(source)
    frame = frame.rename({k: v for k, v in _RENAMES.items() if k in frame.columns})
    needed = ["invoice", Columns.ITEM, Columns.TITLE, Columns.VALUE, Columns.TIMESTAMP]
    needed += ["unit_price", Columns.USER]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) for {', '.join(missing)}")
    text = frame.with_columns(pl.all().cast(pl.String).str.strip_chars())
    frame = text.with_columns(
        # Workbooks store customer ids as numbers: 17850.0 -> 17850.
        pl.col(Columns.USER).str.replace(r"\.0+$", ""),
        pl.col("unit_price").cast(pl.Float64, strict=False),
        _seconds(pl.col(Columns.TIMESTAMP)),
        pl.col(Columns.VALUE).cast(pl.Float64, strict=False),
    )
    for name in (Columns.TIMESTAMP, Columns.VALUE):
        unread = frame[name].is_null() & text[name].is_not_null()
        if unread.any():
            row = int(unread.arg_max() or 0)
            raise DataError(
                f"{source}:{lines[row]} [{_ORIGINAL[name]}]: cannot read {text[name][row]!r}"
            )
    product = ~pl.col(Columns.ITEM).str.to_uppercase().is_in(NON_PRODUCT_CODES)
    kept = (
        ~pl.col("invoice").str.starts_with("C")
        & pl.col(Columns.USER).is_not_null()
        & (pl.col(Columns.USER) != "")
        & (pl.col(Columns.VALUE) > 0)
        & product
    )
    keep = frame.select(kept.fill_null(False)).to_series().to_numpy()
    events = (
        frame.filter(keep)
        .rename({"invoice": Columns.SESSION})
        .drop(Columns.TITLE)
        .with_columns(pl.lit(EventType.PURCHASE.value).alias(Columns.EVENT_TYPE))
    )
    events = pack_extra_columns(events, EVENT_SCHEMA, Columns.CONTEXT)
    events = canonical_frame(events, EVENT_SCHEMA, source=str(source), lines=lines[keep])
    items = (
        frame.filter(product)
        .group_by(Columns.ITEM, maintain_order=True)
        .agg(
            pl.col(Columns.TITLE).drop_nulls().first(),
            pl.col("unit_price").filter(pl.col("unit_price") > 0).median().alias(Columns.PRICE),
        )
    )
    return Interactions(events, canonical_frame(items, ITEM_SCHEMA, source=str(source)))


def _seconds(text: pl.Expr) -> pl.Expr:
    parsed = pl.coalesce(text.str.to_datetime(f, strict=False) for f in _DATE_FORMATS)
    return (parsed.dt.epoch("us") / 1_000_000).alias(Columns.TIMESTAMP)


def _read(source: Path) -> tuple[pl.DataFrame, np.ndarray]:
    """All cells as text, with each row's 1-based line (sheet row) number."""
    if source.suffix.lower() != ".xlsx":
        table = read_table(source, "csv")
        return table.frame, table.line_numbers
    try:
        frame = pl.read_excel(source, engine="openpyxl", infer_schema_length=0)
    except Exception as error:  # openpyxl raises many unrelated types for a bad workbook
        raise DataError(f"{source}: cannot read the workbook: {error}") from error
    return frame, np.arange(2, frame.height + 2, dtype=np.int64)
