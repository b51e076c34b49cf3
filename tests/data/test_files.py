"""Reading tabular files: format detection, ids kept as text, every row's file line."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from shoprec.data.files import detect_table_format, first_line, read_lines, read_table
from shoprec.errors import DataError, UnknownFormatError


def write(path: Path, text: str, *, gz: bool = False) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_csv_keeps_ids_as_text_and_numbers_rows_by_file_line(tmp_path: Path, gz: bool) -> None:
    name = "events.csv.gz" if gz else "events.csv"
    path = write(tmp_path / name, "user_id,item_id\n007,1.50\n\n008,2\n", gz=gz)
    table = read_table(path)
    assert table.format == "csv"
    assert table.frame.to_dict(as_series=False) == {
        "user_id": ["007", "008"],
        "item_id": ["1.50", "2"],
    }
    # The blank line 3 is not a record; the next row keeps its own line number.
    assert table.line_numbers.tolist() == [2, 4]
    assert table.unit == "line"


def test_a_quoted_field_spanning_lines_pushes_later_rows_down(tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", 'item_id,title\na,"two\nlines"\nb,plain\n')
    table = read_table(path)
    assert table.frame["title"].to_list() == ["two\nlines", "plain"]
    assert table.line_numbers.tolist() == [2, 4]


@pytest.mark.parametrize(("sep", "text"), [("\t", "a\tb\n1\t2\n"), (";", "a;b\n1;2\n")])
def test_the_separator_is_sniffed_from_the_header(tmp_path: Path, sep: str, text: str) -> None:
    table = read_table(write(tmp_path / "data.csv", text))
    assert table.frame.columns == ["a", "b"], sep


def test_headerless_csv_gets_the_given_names_and_lines_from_one(tmp_path: Path) -> None:
    path = write(tmp_path / "u.data", "1\t2\n3\t4\n")
    table = read_table(path, "csv", has_header=False, columns=["u", "i"], separator="\t")
    assert table.frame["i"].to_list() == ["2", "4"]
    assert table.line_numbers.tolist() == [1, 2]


@pytest.mark.parametrize("gz", [False, True])
def test_json_lines_skip_blank_lines_but_keep_line_numbers(tmp_path: Path, gz: bool) -> None:
    text = '{"user_id": "u", "n": 1}\n\n   \n{"user_id": "v", "n": 2}\n'
    path = write(tmp_path / ("events.jsonl.gz" if gz else "events.jsonl"), text, gz=gz)
    table = read_table(path)
    assert table.format == "jsonl"
    assert table.frame["n"].to_list() == [1, 2]
    assert table.line_numbers.tolist() == [1, 4]


def test_a_broken_json_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", '{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match=r"events\.jsonl:2: not a JSON object per line"):
        read_table(path)


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pl.DataFrame({"user_id": ["a", "b", "c"]}).write_parquet(path)
    table = read_table(path)
    assert table.unit == "row"
    assert table.line_numbers.tolist() == [1, 2, 3]
    assert table.line(2) == 3


def test_magic_bytes_decide_when_the_name_does_not(tmp_path: Path) -> None:
    parquet = tmp_path / "export.bin"
    pl.DataFrame({"x": [1]}).write_parquet(parquet)
    jsonl = write(tmp_path / "dump", '  {"x": 1}\n', gz=True)
    csv = write(tmp_path / "noext", "x,y\n1,2\n", gz=True)
    assert detect_table_format(parquet) == "parquet"
    assert detect_table_format(jsonl) == "jsonl"
    assert detect_table_format(csv) == "csv"
    assert read_table(csv).frame.to_dict(as_series=False) == {"x": ["1"], "y": ["2"]}
    assert first_line(csv) == "x,y"


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="blob: cannot tell the file format"):
        read_table(write(tmp_path / "blob", "just words\n"))
    with pytest.raises(DataError, match="missing.csv: no such file"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read as Parquet"):
        read_table(write(tmp_path / "bad.parquet", "not parquet"))
    with pytest.raises(UnknownFormatError, match="unknown table format 'xml'"):
        read_table(write(tmp_path / "x.csv", "a\n1\n"), "xml")


def test_read_lines_marks_blank_lines_null(tmp_path: Path) -> None:
    lines = read_lines(write(tmp_path / "f.txt", "a\n\nb\n", gz=True))
    assert lines.to_list() == ["a", None, "b"]
