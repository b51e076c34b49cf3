"""Reading tabular files: CSV, Parquet and JSON Lines, each optionally gzip'd, format detected.

:func:`read_table` returns the rows as read (CSV columns as text by default, so ids such as
``007`` survive) together with the file's 1-based line number of every row, which is what
error messages and reject files point at. The format comes from the extension (``.gz``
stripped) or, failing that, from the first bytes: gzip ``1f 8b``, Parquet ``PAR1``, a first
non-blank ``{`` for JSON Lines, a delimiter in the first line for CSV.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.errors import DataError, UnknownFormatError

#: Formats :func:`read_table` reads.
TABLE_FORMATS = ("csv", "parquet", "jsonl")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_BYTES = 64 * 1024
# Unit separator: JSON and Python literals escape control characters, so no line contains it.
_NO_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Table:
    """The rows of one file as read, and where each row is in the file.

    Attributes:
        path: The file read.
        format: One of :data:`TABLE_FORMATS`.
        frame: The rows, columns as read.
        line_numbers: 1-based line of every row (for Parquet: 1-based row number).
    """

    path: Path
    format: str
    frame: pl.DataFrame
    line_numbers: npt.NDArray[np.int64]

    @property
    def unit(self) -> str:
        """What :attr:`line_numbers` count: ``"line"``, or ``"row"`` for Parquet."""
        return "row" if self.format == "parquet" else "line"

    def line(self, row: int) -> int:
        """The 1-based file line (Parquet: row number) of frame row ``row``."""
        return int(self.line_numbers[row])


def detect_table_format(path: Path) -> str:
    """The format of ``path``: from its extension, else from its first bytes.

    Raises:
        DataError: The file cannot be read.
        UnknownFormatError: Neither the name nor the content says which format it is.
    """
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    head = _text_head(path)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    text = head.decode("utf-8", errors="replace").lstrip()
    if text.startswith("{"):
        return "jsonl"
    head_line = text.split("\n", 1)[0]
    if any(d in head_line for d in _DELIMITERS):
        return "csv"
    raise UnknownFormatError(
        f"{path}: cannot tell the file format (expected CSV, Parquet or JSON Lines, "
        "optionally gzip'd)"
    )


def read_table(
    path: Path,
    fmt: str = "auto",
    *,
    has_header: bool = True,
    columns: Sequence[str] | None = None,
    separator: str | None = None,
) -> Table:
    """Read a CSV, Parquet or JSON Lines file (optionally gzip'd) into a frame.

    CSV columns are all read as text: ids keep their leading zeros and a bad value reaches
    validation as written, to be reported with its line.

    Args:
        path: The file.
        fmt: ``"auto"`` or one of :data:`TABLE_FORMATS`.
        has_header: CSV only: whether the first line names the columns.
        columns: CSV only: column names for a file without a header.
        separator: CSV only: the delimiter (default: sniffed from the first line).

    Returns:
        The rows and their line numbers.

    Raises:
        UnknownFormatError: The format cannot be detected or ``fmt`` is unknown.
        DataError: The file is missing or cannot be parsed as that format (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = detect_table_format(path) if fmt == "auto" else fmt
    if fmt == "csv":
        return _read_csv(path, has_header, columns, separator)
    if fmt == "jsonl":
        return _read_jsonl(path)
    if fmt == "parquet":
        return _read_parquet(path)
    raise UnknownFormatError(f"{path}: unknown table format {fmt!r}; use one of {TABLE_FORMATS}")


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, gunzipped when it is gzip'd.

    Raises:
        DataError: The file cannot be read or is a corrupt gzip file.
    """
    try:
        raw = Path(path).read_bytes()
        return gzip.decompress(raw) if raw.startswith(_GZIP_MAGIC) else raw
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read: {error}") from error


def read_lines(path: Path) -> pl.Series:
    """Every line of a text file (optionally gzip'd) as a string Series; blank lines are null.

    Raises:
        DataError: The file cannot be read or is not UTF-8 text.
    """
    return _split_lines(read_bytes(path), path)


def _split_lines(raw: bytes, path: Path) -> pl.Series:
    try:
        frame = pl.read_csv(
            raw,
            has_header=False,
            separator=_NO_SEPARATOR,
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
        )
    except pl.exceptions.NoDataError:
        return pl.Series("line", [], dtype=pl.String)
    except pl.exceptions.PolarsError as error:
        raise DataError(f"{path}: cannot read as text lines: {_message_head(error)}") from error
    return frame["line"]


def first_line(path: Path) -> str:
    """The first line of a text file (gunzipped if needed), without its line break.

    Raises:
        DataError: The file cannot be read.
    """
    return _text_head(path).decode("utf-8", errors="replace").split("\n", 1)[0].rstrip("\r")


def _head(path: Path, n: int) -> bytes:
    try:
        with Path(path).open("rb") as file:
            return file.read(n)
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error}") from error


def _text_head(path: Path) -> bytes:
    """The first bytes of the file's content (gunzipped if needed)."""
    head = _head(path, _SNIFF_BYTES)
    if not head.startswith(_GZIP_MAGIC):
        return head
    try:
        with gzip.open(path, "rb") as file:
            return file.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip file: {error}") from error


def _sniff_separator(path: Path) -> str:
    header = first_line(path)
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(
    path: Path,
    has_header: bool,
    columns: Sequence[str] | None,
    separator: str | None,
) -> Table:
    sep = separator if separator is not None else _sniff_separator(path)
    try:
        frame = pl.read_csv(
            read_bytes(path),
            has_header=has_header,
            new_columns=list(columns) if columns is not None else None,
            separator=sep,
            infer_schema=False,
        )
    except pl.exceptions.NoDataError:
        frame = pl.DataFrame(schema={c: pl.String() for c in columns or ()})
    except pl.exceptions.PolarsError as error:
        raise DataError(f"{path}: cannot read as CSV: {_message_head(error)}") from error
    first = 2 if has_header else 1
    lines = first + np.arange(frame.height, dtype=np.int64)
    # A quoted field may span lines; push every later row down by the newlines it held.
    if frame.width and frame.height:
        newlines = frame.select(
            pl.sum_horizontal(pl.all().str.count_matches("\n").fill_null(0))
        ).to_series()
        if newlines.sum():
            before = np.concatenate([[0], np.cumsum(newlines.to_numpy())[:-1]])
            lines = lines + before.astype(np.int64)
    return Table(path, "csv", _drop_blank_rows(frame), lines[_non_blank_rows(frame)])


def _non_blank_rows(frame: pl.DataFrame) -> npt.NDArray[np.bool_]:
    if not frame.width:
        return np.ones(frame.height, dtype=bool)
    return frame.select(~pl.all_horizontal(pl.all().is_null())).to_series().to_numpy()


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    # An empty line in a CSV reads as a row of nulls; it is not a record.
    if not frame.width:
        return frame
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))


def _read_jsonl(path: Path) -> Table:
    raw = read_bytes(path)
    lines = _split_lines(raw, path)
    present = (lines.str.strip_chars().str.len_bytes() > 0).fill_null(False)
    numbers = np.flatnonzero(present.to_numpy()).astype(np.int64) + 1
    try:
        frame = pl.read_ndjson(raw, infer_schema_length=None) if len(numbers) else pl.DataFrame()
    except pl.exceptions.PolarsError as error:
        where = _first_bad_json_line(lines.filter(present), numbers)
        raise DataError(
            f"{path}:{where}: not a JSON object per line: {_message_head(error)}"
        ) from error
    if frame.height != len(numbers):
        raise DataError(f"{path}: expected one JSON object per line")
    return Table(path, "jsonl", frame, numbers)


def _first_bad_json_line(records: pl.Series, numbers: npt.NDArray[np.int64]) -> str:
    """The line number of the first record that is not a JSON object (error path only)."""
    for number, text in zip(numbers, records, strict=True):
        try:
            ok = isinstance(json.loads(text), dict)
        except json.JSONDecodeError:
            ok = False
        if not ok:
            return str(number)
    return "?"


def _read_parquet(path: Path) -> Table:
    try:
        frame = pl.read_parquet(io.BytesIO(read_bytes(path)))
    except (pl.exceptions.PolarsError, OSError) as error:
        raise DataError(f"{path}: cannot read as Parquet: {_message_head(error)}") from error
    return Table(path, "parquet", frame, np.arange(1, frame.height + 1, dtype=np.int64))


def _message_head(error: BaseException) -> str:
    return str(error).strip().split("\n", 1)[0]
