"""MovieLens 100K / 1M / 25M: ratings become ``rating`` events, the first genre a category."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoprec.data.loaders import detect_format, load_dataset
from shoprec.errors import DataError

from .conftest import write_text


def test_100k_reads_tab_ratings_and_latin1_items_with_genre_flags(tmp_path: Path) -> None:
    write_text(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    flags_242 = ["0"] * 19
    flags_242[3] = flags_242[5] = "1"  # Animation, Comedy
    items = (
        f"242|Kolya (1996)|24-Jan-1997||http://x|{'|'.join(flags_242)}\n"
        f"302|Café Society (1997)|01-Jan-1997||http://y|{'|'.join(['1'] + ['0'] * 18)}\n"
    )
    write_text(tmp_path / "u.item", items, encoding="latin-1")
    assert detect_format(tmp_path) == "movielens"
    data = load_dataset(tmp_path)
    assert data.events.rows()[0] == ("196", "242", "rating", 881250949.0, 3.0, None, None)
    kolya, cafe = data.items.to_dicts()
    assert (kolya["category"], cafe["title"], cafe["category"]) == (
        "Animation",
        "Café Society (1997)",
        "unknown",
    )
    assert json.loads(kolya["attributes"]) == {
        "release_date": "24-Jan-1997",
        "genres": "Animation|Comedy",
    }


def test_1m_reads_double_colon_files(tmp_path: Path, gz: str) -> None:
    write_text(tmp_path / f"ratings.dat{gz}", "1::1193::5::978300760\n2::661::3::978302109\n")
    write_text(
        tmp_path / "movies.dat",
        '1193::One Flew Over the Cuckoo\'s Nest (1975)::Drama\n661::Señor "X" (1996)::Comedy|War\n',
        encoding="latin-1",
    )
    data = load_dataset(tmp_path / f"ratings.dat{gz}")
    assert data.events["item_id"].to_list() == ["1193", "661"]
    assert data.events["value"].to_list() == [5.0, 3.0]
    assert data.items.select("item_id", "title", "category").rows() == [
        ("1193", "One Flew Over the Cuckoo's Nest (1975)", "Drama"),
        ("661", 'Señor "X" (1996)', "Comedy"),
    ]


def test_25m_reads_csv_with_headers(tmp_path: Path) -> None:
    write_text(
        tmp_path / "ratings.csv",
        "userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n1,307,3.5,1147868828\n",
    )
    write_text(
        tmp_path / "movies.csv",
        'movieId,title,genres\n296,"Pulp Fiction, The (1994)",Comedy|Crime\n'
        "307,Unknown (2000),(no genres listed)\n",
    )
    assert detect_format(tmp_path) == "movielens"
    data = load_dataset(tmp_path)
    assert data.events["value"].to_list() == [5.0, 3.5]
    assert data.items.select("title", "category").rows() == [
        ("Pulp Fiction, The (1994)", "Comedy"),
        ("Unknown (2000)", None),
    ]


def test_a_bad_rating_names_its_line(tmp_path: Path) -> None:
    write_text(tmp_path / "u.data", "1\t2\t3\t100\n1\t3\tfive\t101\n")
    with pytest.raises(DataError, match=r"u\.data:2 \[value\]: cannot read 'five' as Float64"):
        load_dataset(tmp_path)
