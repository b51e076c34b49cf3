"""One PostgreSQL database reached through a psycopg 3 connection pool: errors, writes, frames.

The plumbing :class:`~shoprec.events.PostgresEventStore` and
:class:`~shoprec.events.PostgresCatalog` share, as ``database.py`` is for the SQLite stores.
Connections are pooled (``psycopg_pool``) and checked before each use, so after a server
restart the stores reconnect by themselves. They run in autocommit mode: a read is one
statement with its own snapshot, and a write opens an explicit transaction, so no connection
sits idle inside a transaction.

Errors are translated once, here: a server that cannot be reached (refused, gone, shutting
down, no free connection in time) raises :class:`~shoprec.errors.BackendUnavailableError`,
any other database failure :class:`~shoprec.errors.StoreError`. Messages name the user, host,
port and database, never the password.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from shoprec.errors import BackendUnavailableError, StoreError

Connection = psycopg.Connection[tuple[Any, ...]]

# Held while creating tables, so two processes starting at once do not race on the catalog
# (CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE of the same table).
_DDL_LOCK = 0x5_40_9E_C0
# libpq's connect timeout (whole seconds; it treats values below 2 as 2).
_CONNECT_TIMEOUT_S = 5
# A reconnection attempt backs off (1 s, 2 s, 4 s, ...) and gives up after this long; the next
# call then starts a fresh attempt at once. Bounding it keeps a store that lost its server
# within a few seconds of the server's return, however long the outage was.
_RECONNECT_S = 10.0
# SQLSTATEs meaning the server went away: class 08 (connection exception), and the server
# shutting down or not yet accepting connections (57P01-57P03).
_GONE_STATES = ("08", "57P01", "57P02", "57P03")


def _ensure_durable_commits(conn: Connection) -> None:
    """Raise ``synchronous_commit=off`` to ``on``: an acknowledged write must be flushed.

    Stronger settings (``remote_write``, ``remote_apply``) and ``local`` are kept.
    """
    row = conn.execute("SHOW synchronous_commit").fetchone()
    if row is not None and row[0] == "off":
        conn.execute("SET synchronous_commit = on")


class PostgresDatabase:
    """A PostgreSQL database with the caller's tables, a checked connection pool, frame reads.

    Args:
        url: A libpq URL, ``postgresql://user:password@host:port/dbname``.
        ddl: Idempotent ``CREATE ... IF NOT EXISTS`` statements for the caller's tables.
        max_connections: Upper bound of the pool (readers and the one writer).
        timeout_s: How long a call waits for a free (or new) connection before failing.

    Raises:
        BackendUnavailableError: The server cannot be reached.
        StoreError: The URL is invalid or the tables cannot be created.
    """

    def __init__(
        self, url: str, ddl: str, *, max_connections: int = 8, timeout_s: float = 5.0
    ) -> None:
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as error:
            # The parser's message may quote the URL, password included.
            raise StoreError(f"invalid PostgreSQL URL ({type(error).__name__})") from None
        self._password = str(params.get("password") or "")
        self.where = "PostgreSQL {}@{}:{}/{}".format(
            params.get("user", "(default user)"),
            params.get("host", "localhost"),
            params.get("port", 5432),
            params.get("dbname", "(default database)"),
        )
        self._closed = False
        # One direct connection first: it fails at once with libpq's reason when the server is
        # unreachable, where the pool would retry in the background until its timeout.
        try:
            with (
                psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True) as conn,
                conn.transaction(),
            ):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                conn.execute(ddl.encode())  # bytes: several statements, no parameters
        except psycopg.Error as error:
            raise self.failure("cannot open the store", error) from error
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT_S},
            min_size=1,
            max_size=max_connections,
            open=True,
            configure=_ensure_durable_commits,
            check=ConnectionPool.check_connection,
            timeout=timeout_s,
            reconnect_timeout=_RECONNECT_S,
            name=self.where,
        )

    def failure(self, doing: str, error: BaseException) -> StoreError:
        """The shoprec error for a psycopg (or pool) error raised while ``doing`` something.

        Args:
            doing: What failed, e.g. ``"append failed"``; starts the message.
            error: The original error.

        Returns:
            :class:`BackendUnavailableError` when the server cannot be reached, a
            :class:`StoreError` saying the store is closed after :meth:`close`, otherwise
            a :class:`StoreError` with the database's message.
        """
        if isinstance(error, StoreError):
            return type(error)(str(error))
        message = str(error).strip()
        if self._password:
            message = message.replace(self._password, "***")
        if self._closed:
            return StoreError(f"{self.where}: the store is closed")
        if isinstance(error, PoolTimeout):
            return BackendUnavailableError(
                f"{self.where}: {doing}: no connection to the server ({message})"
            )
        if isinstance(error, psycopg.OperationalError) and (
            error.sqlstate is None or error.sqlstate.startswith(_GONE_STATES)
        ):
            return BackendUnavailableError(f"{self.where}: {doing}: server unreachable: {message}")
        return StoreError(f"{self.where}: {doing}: {message}")

    @contextmanager
    def connection(self, doing: str) -> Iterator[Connection]:
        """Borrow a pooled connection (autocommit); psycopg errors become shoprec errors.

        Args:
            doing: What the caller does, named in error messages (``"read failed"``).

        Yields:
            A checked, live connection.

        Raises:
            StoreError: The store is closed or the database failed.
            BackendUnavailableError: The server cannot be reached.
        """
        if self._closed:
            raise StoreError(f"{self.where}: the store is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as error:
            raise self.failure(doing, error) from error

    @contextmanager
    def transaction(self, doing: str) -> Iterator[Connection]:
        """Borrow a connection inside one transaction, committed when the block ends normally.

        The commit returns once the server has flushed it (``synchronous_commit`` on), so a
        block that exited normally is durable. Any exception rolls everything back.

        Yields:
            A connection inside ``BEGIN``.
        """
        with self.connection(doing) as conn, conn.transaction():
            yield conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement and return all its rows."""
        with self.connection("read failed") as conn:
            return conn.execute(sql, params).fetchall()

    def query_frame(
        self, sql: str, params: Sequence[Any], schema: dict[str, pl.DataType]
    ) -> pl.DataFrame:
        """Run one read statement and return its rows as a frame with ``schema``.

        The rows travel as ``COPY (...) TO STDOUT (FORMAT csv)`` and polars parses them in
        one vectorised pass: several times faster than fetching Python tuples, and exact
        (CSV keeps NULL apart from ``""``; PostgreSQL prints floats in their shortest exact
        form). Columns must print as polars reads them (booleans as ``true``/``false``).
        One statement reads one consistent snapshot.
        """
        data = bytearray()
        # COPY takes no server-side parameters; psycopg binds them client-side.
        with (
            self.connection("read failed") as conn,
            conn.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
        ):
            for block in copy:
                data += block
        if not data:
            return pl.DataFrame(schema=schema)
        return pl.read_csv(bytes(data), has_header=False, schema=schema)

    def close(self) -> None:
        """Close the pool; later calls raise :class:`StoreError`. Idempotent."""
        self._closed = True
        self._pool.close()
