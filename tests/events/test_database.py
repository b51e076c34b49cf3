"""Database: durable pragmas, atomic transactions, clear errors for unusable files."""

from __future__ import annotations

import gc
import sqlite3
import threading
from pathlib import Path

import polars as pl
import pytest

from shoprec.errors import StoreError
from shoprec.events.database import SCHEMA_VERSION, Database

DDL = "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)"


def test_writer_is_wal_with_full_sync_and_secure_delete(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", DDL)
    with db.transaction() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert db.query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
    db.close()


def test_an_exception_rolls_the_whole_transaction_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", DDL)
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1, 'kept')")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (2, 'lost')")
        raise RuntimeError("boom")
    with pytest.raises(StoreError, match="write failed"), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (3, 'lost')")
        conn.execute("INSERT INTO t VALUES (1, 'duplicate key')")
    assert db.query("SELECT k, v FROM t") == [(1, "kept")]
    db.close()


def test_query_frame_reads_in_chunks_and_keeps_the_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", DDL)
    schema: dict[str, pl.DataType] = {"k": pl.Int64(), "v": pl.String()}
    assert db.query_frame("SELECT k, v FROM t", (), schema).schema == pl.Schema(schema)
    n = 70_000  # more than one fetch chunk
    with db.transaction() as conn:
        conn.executemany("INSERT INTO t VALUES (?, ?)", ((k, str(k)) for k in range(n)))
    frame = db.query_frame("SELECT k, v FROM t WHERE k >= ? ORDER BY k", (5,), schema)
    assert frame["k"].to_list() == list(range(5, n))
    assert frame["v"][-1] == str(n - 1)
    db.close()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the pages you are looking for " * 100)
    with pytest.raises(StoreError, match="notes.db"):
        Database(path, DDL)


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer shoprec"):
        Database(path, DDL)


def test_bad_sql_in_a_read_is_a_store_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", DDL)
    with pytest.raises(StoreError, match="read failed"):
        db.query("SELECT nope FROM t")
    with pytest.raises(StoreError, match="read failed"):
        db.query_frame("SELECT nope FROM t", (), {"nope": pl.String()})
    db.close()
    with pytest.raises(StoreError, match="closed"):
        db.checkpoint()


def test_each_reading_thread_gets_a_connection_that_ends_with_it(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", DDL)
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1, 'a')")
    seen: list[list[tuple[int, str]]] = []
    for _ in range(20):  # thread-per-request: 20 short-lived readers
        worker = threading.Thread(target=lambda: seen.append(db.query("SELECT k, v FROM t")))
        worker.start()
        worker.join()
    gc.collect()
    assert seen == [[(1, "a")]] * 20
    assert db.n_readers == 0  # closed when their threads ended, not kept until close()
    assert db.query("SELECT COUNT(*) FROM t") == [(1,)]
    assert db.n_readers == 1  # this thread's
    db.close()
    assert db.n_readers == 0
