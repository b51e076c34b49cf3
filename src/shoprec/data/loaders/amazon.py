"""Amazon product reviews (McAuley lab): the 2014, 2018 and 2023 releases, reviews plus metadata.

One record per line, optionally gzip'd:

* 2014: ``reviews_<Category>[_5].json`` (``reviewerID, asin, overall, unixReviewTime``) and
  ``meta_<Category>.json`` (``asin, title, brand, price, categories``, nested lists of category
  paths). The 2014 files are often Python dict literals rather than JSON; those lines are read
  with :func:`ast.literal_eval`, the one per-line Python step.
* 2018: ``<Category>[_5].json`` (same review fields) and ``meta_<Category>.json`` (``category``
  list, ``main_cat``, ``price`` as text such as ``"$12.99"``).
* 2023: ``<Category>.jsonl`` (``user_id, parent_asin, rating, timestamp`` in milliseconds) and
  ``meta_<Category>.jsonl`` (``main_category, store, price``).

Every review is an event of type ``review`` whose value is the star rating. Items are keyed by
``parent_asin`` when the record has one (2023), else by ``asin``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import polars as pl

from shoprec.data.files import first_line, read_lines
from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.errors import DataError
from shoprec.types import Columns, EventType

from .canonical import canonical_frame

NAME = "amazon"

_RECORD_FILE = re.compile(r"\.(json|jsonl)(\.gz)?$", re.IGNORECASE)
_CORE_SUFFIX = re.compile(r"_5$")
_PRICE_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"


def _is_record_file(path: Path) -> bool:
    return path.is_file() and _RECORD_FILE.search(path.name) is not None


def _category_of(path: Path) -> str:
    """``reviews_Beauty_5.json.gz`` -> ``Beauty``; ``All_Beauty.jsonl`` -> ``All_Beauty``."""
    name = _RECORD_FILE.sub("", path.name).removeprefix("reviews_").removeprefix("meta_")
    return _CORE_SUFFIX.sub("", name)


def _review_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    return [
        p for p in sorted(path.iterdir()) if _is_record_file(p) and not p.name.startswith("meta_")
    ]


def _meta_files(reviews: list[Path]) -> list[Path]:
    found: dict[Path, None] = {}
    for review in reviews:
        for candidate in sorted(review.parent.glob(f"meta_{_category_of(review)}.*")):
            if _is_record_file(candidate):
                found[candidate] = None
    return list(found)


def detect(path: Path) -> bool:
    """Whether ``path`` holds Amazon review records (a folder of them, or one file)."""
    files = _review_files(path) if path.is_dir() else [path]
    if not files or not _is_record_file(files[0]):
        return False
    head = first_line(files[0])
    return "reviewerID" in head or ("user_id" in head and "parent_asin" in head)


def load(path: Path) -> Interactions:
    """Load Amazon reviews (a folder, or one reviews file) with their ``meta_`` files.

    Raises:
        DataError: No reviews file, a record cannot be parsed, or a review lacks its
            reviewer, item or time (the message names the file and line).
    """
    reviews = _review_files(path)
    if not reviews:
        raise DataError(f"{path}: no Amazon reviews file (*.json[l][.gz])")
    events = pl.concat([_read_reviews(p) for p in reviews])
    metas = [_read_meta(p) for p in _meta_files(reviews)]
    return Interactions(events, pl.concat(metas) if metas else None)


def _records(path: Path) -> tuple[pl.Series, np.ndarray]:
    """The file's records as JSON text and their 1-based line numbers (blank lines skipped)."""
    lines = read_lines(path)
    present = (lines.str.strip_chars().str.len_bytes() > 0).fill_null(False)
    numbers = np.flatnonzero(present.to_numpy()).astype(np.int64) + 1
    records = lines.filter(present).str.strip_chars()
    literal = records.str.starts_with("{'").to_numpy()
    if literal.any():
        records = records.scatter(
            np.flatnonzero(literal),
            _literals_as_json(path, records.filter(literal), numbers[literal]),
        )
    return records, numbers


def _literals_as_json(path: Path, texts: pl.Series, numbers: np.ndarray) -> list[str]:
    """Python dict literals (the 2014 files) re-written as JSON, one line at a time."""
    out = []
    for text, number in zip(texts, numbers, strict=True):
        try:
            out.append(json.dumps(ast.literal_eval(text)))
        except (ValueError, SyntaxError, MemoryError, RecursionError) as error:
            raise DataError(
                f"{path}:{number}: not a JSON or Python dict record: {error}"
            ) from error
    return out


def _field(*paths: str) -> pl.Expr:
    """The first of several JSON paths that the record has, as text."""
    return pl.coalesce(pl.col("r").str.json_path_match(p) for p in paths)


def _read_reviews(path: Path) -> pl.DataFrame:
    records, numbers = _records(path)
    unix = _field("$.unixReviewTime").cast(pl.Float64, strict=False)
    millis = _field("$.timestamp").cast(pl.Float64, strict=False) / 1000
    dated = _field("$.reviewTime").str.to_datetime("%m %d, %Y", strict=False).dt.epoch("s")
    frame = pl.DataFrame({"r": records}).select(
        _field("$.reviewerID", "$.user_id").alias(Columns.USER),
        _field("$.parent_asin", "$.asin").alias(Columns.ITEM),
        pl.lit(EventType.REVIEW.value).alias(Columns.EVENT_TYPE),
        pl.coalesce(unix, millis, dated.cast(pl.Float64)).alias(Columns.TIMESTAMP),
        _field("$.overall", "$.rating").alias(Columns.VALUE),
    )
    incomplete = frame.select(
        pl.any_horizontal(pl.col(Columns.USER, Columns.ITEM, Columns.TIMESTAMP).is_null())
    ).to_series()
    if incomplete.any():
        rows = np.flatnonzero(incomplete.to_numpy())
        raise DataError(
            f"{path}:{numbers[rows[0]]}: review without a reviewer, item or time "
            f"({len(rows)} such record(s))"
        )
    return canonical_frame(frame, EVENT_SCHEMA, source=str(path), lines=numbers)


def _read_meta(path: Path) -> pl.DataFrame:
    records, numbers = _records(path)
    price = _field("$.price").str.extract(_PRICE_NUMBER).str.replace_all(",", "").cast(pl.Float64)
    categories = _field("$.categories", "$.category")
    frame = pl.DataFrame({"r": records}).select(
        _field("$.parent_asin", "$.asin").alias(Columns.ITEM),
        _field("$.title").alias(Columns.TITLE),
        _field("$.description[0]", "$.description").alias(Columns.DESCRIPTION),
        # Most specific first: 2023's main category, then the level below the root of the
        # first category path (2014 nests paths in a list, 2018 has one flat path).
        _field(
            "$.main_category",
            "$.categories[0][1]",
            "$.categories[0][0]",
            "$.category[1]",
            "$.category[0]",
            "$.main_cat",
        ).alias(Columns.CATEGORY),
        _field("$.brand", "$.store").alias(Columns.BRAND),
        price.alias(Columns.PRICE),
        pl.when(categories.is_not_null())
        .then(pl.concat_str(pl.lit('{"categories":'), categories, pl.lit("}")))
        .alias(Columns.ATTRIBUTES),
    )
    keep = frame[Columns.ITEM].is_not_null()
    return canonical_frame(
        frame.filter(keep), ITEM_SCHEMA, source=str(path), lines=numbers[keep.to_numpy()]
    )
