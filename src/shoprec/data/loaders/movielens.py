"""MovieLens ratings from the GroupLens archives: 100K, 1M/10M and 20M/25M/32M/latest layouts.

* 100K: ``u.data`` (tab-separated ``user item rating timestamp``) and ``u.item``
  (``|``-separated, Latin-1, 19 genre flags).
* 1M / 10M: ``ratings.dat`` and ``movies.dat`` (``::``-separated; 1M's movies are Latin-1).
* 20M and later: ``ratings.csv`` and ``movies.csv`` with headers.

Every rating is an event of type ``rating`` whose value is the stars; an item's category is its
first genre and its genres (and 100K's release date) go to ``attributes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from shoprec.data.files import Table, first_line, read_bytes, read_table
from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions
from shoprec.errors import DataError
from shoprec.types import Columns, EventType

from .canonical import canonical_frame, pack_extra_columns

NAME = "movielens"

#: Genre flags of ``u.item``, in column order (as listed in ``u.genre``).
GENRES_100K = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
_RATING_COLUMNS = [Columns.USER, Columns.ITEM, Columns.VALUE, Columns.TIMESTAMP]
_RATINGS_FILES = ("u.data", "ratings.dat", "ratings.csv")
_MOVIES_FILES = {"u.data": "u.item", "ratings.dat": "movies.dat", "ratings.csv": "movies.csv"}
_NO_GENRES = "(no genres listed)"
_CSV_NAMES = {"userId": Columns.USER, "movieId": Columns.ITEM, "rating": Columns.VALUE}
# Stands in for "::" (polars splits on single bytes only); no MovieLens text contains it.
_SEPARATOR = "\x1f"


def _base_name(path: Path) -> str:
    """The file name without a ``.gz`` suffix (every file may be gzip'd)."""
    return path.name.removesuffix(".gz")


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _ratings_file(path: Path) -> Path | None:
    if not path.is_dir():
        return path if _base_name(path) in _RATINGS_FILES else None
    for name in _RATINGS_FILES:
        found = _find(path, name)
        if found is not None:
            return found
    return None


def detect(path: Path) -> bool:
    """Whether ``path`` is a MovieLens folder or ratings file."""
    ratings = _ratings_file(path)
    if ratings is None:
        return False
    return _base_name(ratings) != "ratings.csv" or first_line(ratings).startswith("userId")


def load(path: Path) -> Interactions:
    """Load MovieLens ratings (a folder, or its ratings file) and its movies, if present.

    Raises:
        DataError: No ratings file, or a file cannot be read or converted.
    """
    ratings = _ratings_file(path)
    if ratings is None:
        raise DataError(f"{path}: no MovieLens ratings file (u.data, ratings.dat, ratings.csv)")
    kind = _base_name(ratings)
    if kind == "u.data":
        table = read_table(
            ratings, "csv", has_header=False, columns=_RATING_COLUMNS, separator="\t"
        )
        frame = table.frame
    elif kind == "ratings.dat":
        table = _read_text_table(ratings, "::", _RATING_COLUMNS)
        frame = table.frame
    else:
        table = read_table(ratings, "csv")
        frame = table.frame.rename(_CSV_NAMES, strict=False)
    events = frame.with_columns(pl.lit(EventType.RATING.value).alias(Columns.EVENT_TYPE))
    events = canonical_frame(events, EVENT_SCHEMA, source=str(ratings), lines=table.line_numbers)
    return Interactions(events, _movies(ratings))


def _movies(ratings: Path) -> pl.DataFrame | None:
    """The catalogue beside ``ratings`` (``u.item``, ``movies.dat`` or ``movies.csv``), if any."""
    kind = _base_name(ratings)
    path = _find(ratings.parent, _MOVIES_FILES[kind])
    if path is None:
        return None
    if kind == "u.data":
        flags = [f"_genre{k}" for k in range(len(GENRES_100K))]
        columns = [Columns.ITEM, Columns.TITLE, "release_date", "video_release_date", "url"]
        frame = _read_text_table(path, "|", [*columns, *flags]).frame
        genres = pl.concat_str(
            [
                pl.when(pl.col(f) == "1").then(pl.lit(g))
                for f, g in zip(flags, GENRES_100K, strict=True)
            ],
            separator="|",
            ignore_nulls=True,
        )
        frame = frame.with_columns(genres.alias("genres")).drop(flags, "video_release_date", "url")
    elif kind == "ratings.dat":
        frame = _read_text_table(path, "::", [Columns.ITEM, Columns.TITLE, "genres"]).frame
    else:
        frame = read_table(path, "csv").frame.rename(_CSV_NAMES, strict=False)
    genres = pl.col("genres").replace({_NO_GENRES: None, "": None})
    frame = frame.with_columns(genres, genres.str.split("|").list.first().alias(Columns.CATEGORY))
    frame = pack_extra_columns(frame, ITEM_SCHEMA, Columns.ATTRIBUTES)
    return canonical_frame(frame, ITEM_SCHEMA, source=str(path))


def _read_text_table(path: Path, separator: str, columns: list[str]) -> Table:
    """Read a headerless, unquoted text table in UTF-8 or, failing that, Latin-1."""
    raw = read_bytes(path)
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = raw.decode("latin-1").encode("utf-8")
    single = separator
    if len(separator) > 1:
        raw = raw.replace(separator.encode(), _SEPARATOR.encode())
        single = _SEPARATOR
    try:
        frame = pl.read_csv(
            raw,
            has_header=False,
            new_columns=columns,
            separator=single,
            quote_char=None,
            infer_schema=False,
        )
    except pl.exceptions.PolarsError as error:
        raise DataError(f"{path}: cannot read as {separator!r}-separated text: {error}") from error
    return Table(path, "csv", frame, np.arange(1, frame.height + 1, dtype=np.int64))
