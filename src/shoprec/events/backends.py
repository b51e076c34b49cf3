"""Open the event store and the catalogue a URL names: embedded SQLite, or shared PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from shoprec.errors import ConfigError

from .catalog import Catalog, SQLiteCatalog
from .postgres_catalog import PostgresCatalog
from .postgres_store import PostgresEventStore
from .sqlite_store import SQLiteEventStore
from .store import EventStore

#: URL schemes that name a PostgreSQL server (libpq accepts both).
POSTGRES_SCHEMES = ("postgresql", "postgres")


def _check_scheme(url: str) -> None:
    """Raise :class:`ConfigError` unless ``url`` names a PostgreSQL server."""
    scheme = urlsplit(url).scheme
    if scheme in POSTGRES_SCHEMES:
        return
    # Name only the scheme: the rest of the URL may hold a password.
    raise ConfigError(
        f"unsupported store URL scheme {scheme!r}: expected postgresql:// or postgres://, "
        "or no URL for the embedded SQLite file"
    )


def open_event_store(url: str | None, sqlite_path: Path) -> EventStore:
    """Open the event store ``url`` names, or the embedded SQLite one.

    Args:
        url: ``None`` for SQLite at ``sqlite_path``; a ``postgresql://`` or ``postgres://``
            URL for :class:`~shoprec.events.PostgresEventStore`.
        sqlite_path: The SQLite file used when ``url`` is ``None``.

    Returns:
        The opened store.

    Raises:
        ConfigError: The URL's scheme is not supported (the message names the accepted ones).
        StoreError: The store cannot be opened.
        BackendUnavailableError: The PostgreSQL server cannot be reached.
    """
    if url is None:
        return SQLiteEventStore(sqlite_path)
    _check_scheme(url)
    return PostgresEventStore(url)


def open_catalog(url: str | None, sqlite_path: Path) -> Catalog:
    """Open the catalogue ``url`` names, or the embedded SQLite one (see :func:`open_event_store`).

    Args:
        url: ``None`` for SQLite at ``sqlite_path``; a ``postgresql://`` or ``postgres://`` URL.
        sqlite_path: The SQLite file used when ``url`` is ``None``.

    Returns:
        The opened catalogue.

    Raises:
        ConfigError: The URL's scheme is not supported.
        StoreError: The catalogue cannot be opened.
        BackendUnavailableError: The PostgreSQL server cannot be reached.
    """
    if url is None:
        return SQLiteCatalog(sqlite_path)
    _check_scheme(url)
    return PostgresCatalog(url)
