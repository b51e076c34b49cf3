"""One SQLite database file opened for durable writes: WAL, ``synchronous=FULL``, a locked writer.

Why these settings is explained in ``docs/storage.md``. In short: in WAL mode a commit appends
to the write-ahead log, and ``synchronous=FULL`` fsyncs the log before ``COMMIT`` returns, so a
transaction that returned survives a process crash or power loss. Readers never block the writer
and see only committed transactions.

Threads: one writer connection, used under a lock (SQLite admits one writer at a time anyway);
each reading thread gets its own connection, so a long read (the training frame) does not stall
appends and a request thread sees every transaction committed before its read began. A
thread's connection is closed when the thread ends, so thread-per-request servers do not leak.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from shoprec.errors import StoreError

#: Layout version of the tables shoprec writes (``PRAGMA user_version``). 2 added the event id
#: and tombstone tables (#18): a shoprec reading only 1 would store a forgotten shopper's events
#: again, so it must refuse a file at 2. Opening a file at 1 adds the tables.
SCHEMA_VERSION = 2
# Rows fetched per step when building a frame: bounds the Python objects alive at once.
_FETCH_ROWS = 65_536
# How long a writer waits for another process's write lock before failing (seconds).
_BUSY_TIMEOUT_S = 30.0


class _ThreadReader:
    """One thread's read connection, closed once the thread (and its thread-local) is gone."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        weakref.finalize(self, conn.close)


class Database:
    """A SQLite file with durable settings, a locked writer connection and per-thread readers.

    Args:
        path: The database file; created (with its parent directories) if missing.
        ddl: ``CREATE ... IF NOT EXISTS`` statements for the caller's tables, run atomically.

    Raises:
        StoreError: The file cannot be opened, is not a SQLite database, was written by a
            newer shoprec, or its filesystem does not support WAL.
    """

    def __init__(self, path: str | Path, ddl: str) -> None:
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: weakref.WeakSet[_ThreadReader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._connect()
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"{self.path}: cannot open the store: {error}") from error
        try:
            version = self._writer.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: written by a newer shoprec (schema {version}, "
                    f"this version reads up to {SCHEMA_VERSION})"
                )
            self._writer.executescript(
                f"BEGIN IMMEDIATE; {ddl}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        except (sqlite3.Error, StoreError) as error:
            self._writer.close()
            if isinstance(error, StoreError):
                raise
            raise StoreError(f"{self.path}: cannot create the tables: {error}") from error

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; we issue BEGIN/COMMIT ourselves.
        # check_same_thread=False: close() may close another thread's reader.
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL here (journal mode {mode!r})")
            conn.execute("PRAGMA synchronous=FULL")
            # Deleted rows (forget_user) are overwritten with zeros, not left in free pages.
            conn.execute("PRAGMA secure_delete=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock and one ``BEGIN IMMEDIATE`` transaction; commit on success.

        When the block exits normally the transaction has been committed durably. Any
        exception rolls it back; SQLite errors are re-raised as :class:`StoreError`.

        Yields:
            The writer connection, inside the transaction.

        Raises:
            StoreError: The store is closed or SQLite failed (nothing was written).
        """
        with self._write_lock:
            self._check_open()
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise StoreError(f"{self.path}: write failed: {error}") from error
                raise

    def _reader(self) -> sqlite3.Connection:
        self._check_open()
        reader: _ThreadReader | None = getattr(self._local, "reader", None)
        if reader is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            reader = _ThreadReader(conn)
            self._local.reader = reader
            with self._readers_lock:
                self._readers.add(reader)
        return reader.conn

    @property
    def n_readers(self) -> int:
        """Number of open per-thread read connections."""
        with self._readers_lock:
            return len(self._readers)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement on this thread's reader and return all its rows.

        Raises:
            StoreError: The store is closed or SQLite failed.
        """
        try:
            return self._reader().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: read failed: {error}") from error

    def query_frame(
        self, sql: str, params: Sequence[Any], schema: dict[str, pl.DataType]
    ) -> pl.DataFrame:
        """Run one read statement and return its rows as a frame with ``schema``.

        One statement reads one consistent snapshot, however long the fetch takes.

        Raises:
            StoreError: The store is closed or SQLite failed.
        """
        parts = []
        try:
            cursor = self._reader().execute(sql, params)
            while chunk := cursor.fetchmany(_FETCH_ROWS):
                parts.append(pl.DataFrame(chunk, schema=schema, orient="row"))
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: read failed: {error}") from error
        if not parts:
            return pl.DataFrame(schema=schema)
        return pl.concat(parts, rechunk=True)

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and truncate it (best effort).

        A checkpoint cannot finish while another connection reads an older snapshot; then the
        log is truncated at a later checkpoint instead.
        """
        with self._write_lock:
            self._check_open()
            try:
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:
                raise StoreError(f"{self.path}: checkpoint failed: {error}") from error

    def close(self) -> None:
        """Close every connection; later calls raise :class:`StoreError`. Idempotent."""
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
            for reader in self._readers:
                reader.conn.close()
            self._readers.clear()
