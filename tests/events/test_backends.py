"""Stores opened by URL, and durability across a SIGKILL for every durable backend."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from shoprec.errors import ConfigError
from shoprec.events import (
    PostgresCatalog,
    PostgresEventStore,
    SQLiteCatalog,
    SQLiteEventStore,
    open_catalog,
    open_event_store,
)

# A writer that prints "batch last_seq" only after append() returned, i.e. once acknowledged.
WRITER = """
import sys
from pathlib import Path
from shoprec.events import Event, open_event_store

store = open_event_store(sys.argv[1] or None, Path(sys.argv[2]))
size = int(sys.argv[3])
batch = 0
while True:
    events = [
        Event(user_id=f"u{batch}", item_id=f"i{j}", event_type="view", timestamp=batch * size + j)
        for j in range(size)
    ]
    print(batch, store.append(events), flush=True)
    batch += 1
"""


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str | None:
    """The URL of a durable backend's empty store (``None``: SQLite)."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


def parse_ack(line: str) -> tuple[int, int]:
    batch, last = line.split()
    return int(batch), int(last)


def test_every_acknowledged_batch_survives_sigkill(url: str | None, tmp_path: Path) -> None:
    path, size, wanted = tmp_path / "events.db", 25, 40
    with (tmp_path / "stderr.txt").open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, url or "", str(path), str(size)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        watchdog = threading.Timer(60, child.kill)  # never hang the suite on a stuck child
        watchdog.start()
        assert child.stdout is not None
        acked: list[tuple[int, int]] = []
        try:
            while len(acked) < wanted and (line := child.stdout.readline()):
                acked.append(parse_ack(line))
        finally:
            child.send_signal(signal.SIGKILL)  # mid-stream: the child is inside its next append
            rest, _ = child.communicate(timeout=30)
            watchdog.cancel()
    assert len(acked) == wanted, (tmp_path / "stderr.txt").read_text()
    assert child.returncode == -signal.SIGKILL
    # Lines already in the pipe when the kill landed were acknowledged too; the kill may cut
    # the last one short (its batch was stored, but its numbers cannot be read).
    lines = rest.splitlines(keepends=True)
    torn = int(bool(lines) and not lines[-1].endswith("\n"))
    acked += [parse_ack(line) for line in lines[: len(lines) - torn]]

    store = open_event_store(url, path)
    try:
        log = store.since(0)
    finally:
        store.close()
    for batch, last in acked:
        block = log.filter(pl.col("seq").is_between(last - size + 1, last))
        assert block["user_id"].to_list() == [f"u{batch}"] * size
        assert block["item_id"].to_list() == [f"i{j}" for j in range(size)]
    # Nothing torn: the log is whole batches 0, 1, 2, ... (at most one unacknowledged extra,
    # after the one whose line was cut).
    n_batches = log.height // size
    assert log.height == n_batches * size
    assert len(acked) + torn <= n_batches <= len(acked) + torn + 1
    assert log["user_id"].to_list() == [f"u{b}" for b in range(n_batches) for _ in range(size)]


def test_no_url_opens_the_embedded_sqlite_file(tmp_path: Path) -> None:
    store = open_event_store(None, tmp_path / "shop.db")
    catalog = open_catalog(None, tmp_path / "shop.db")
    try:
        assert isinstance(store, SQLiteEventStore) and isinstance(catalog, SQLiteCatalog)
        assert store.path == catalog.path == tmp_path / "shop.db"
    finally:
        store.close()
        catalog.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_urls_open_the_postgres_stores(
    scheme: str, postgres_url: str, tmp_path: Path
) -> None:
    url = postgres_url.replace("postgresql://", f"{scheme}://", 1)
    store = open_event_store(url, tmp_path / "unused.db")
    catalog = open_catalog(url, tmp_path / "unused.db")
    try:
        assert isinstance(store, PostgresEventStore) and isinstance(catalog, PostgresCatalog)
        assert not (tmp_path / "unused.db").exists()
    finally:
        store.close()
        catalog.close()


@pytest.mark.parametrize("url", ["mysql://shop:hunter2@db/shop", "sqlite:///x.db", "db:5432"])
def test_other_urls_are_a_config_error_naming_the_schemes(url: str, tmp_path: Path) -> None:
    for opener in (open_event_store, open_catalog):
        with pytest.raises(ConfigError, match=r"postgresql://.*postgres://") as caught:
            opener(url, tmp_path / "shop.db")
        assert "hunter2" not in str(caught.value)
    assert not (tmp_path / "shop.db").exists()
