"""Durable batched ingest and training reads: SQLite vs PostgreSQL event stores.

Every append counted here is *acknowledged*: it returned after its transaction was durable
(SQLite: the WAL fsynced, ``synchronous=FULL``; PostgreSQL: COMMIT with ``synchronous_commit``
on). Client threads append concurrently to one store, so batches that arrive while a commit is
in flight share the next one (group commit). Batches are built before the timed region: one
:class:`~shoprec.events.Event` for batches of 1 (the HTTP path), polars frames for bigger ones
(the bulk path, vectorised validation). Then ``frame()`` reads the whole log of
``--read-events`` events back, and for PostgreSQL also the per-row alternative the store does
not use (fetching tuples), for comparison.

The PostgreSQL side runs in a throw-away database created on the server ``--postgres-url``
names (and dropped at the end).

Usage::

    python benchmarks/postgres_ingest.py                      # the full run (~3 minutes)
    python benchmarks/postgres_ingest.py --seconds 1 --repeats 1 --read-events 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import polars as pl
import psycopg
from event_store import as_events, make_batch  # the same synthetic batches

from shoprec.data import EVENT_SCHEMA
from shoprec.events import Event, EventStore, PostgresEventStore, SQLiteEventStore

BATCH_SIZES = (1, 100, 1000)
THREADS = (1, 4)

Batch = pl.DataFrame | list[Event]
Opener = Callable[[], EventStore]


def batches_for(rng: np.random.Generator, size: int, count: int) -> list[Batch]:
    """``count`` batches of ``size``: Event lists for single events, frames otherwise."""
    frames = [make_batch(rng, k * size, size) for k in range(count)]
    if size > 1:
        return list(frames)
    return [as_events(f) for f in frames]


def ingest_rate(open_store: Opener, size: int, threads: int, seconds: float) -> float:
    """Acknowledged events/s with ``threads`` threads appending batches of ``size``."""
    rng = np.random.default_rng(size * 10 + threads)
    # Each thread cycles through its own pre-built batches (re-appending is fine for a log).
    per_thread = [batches_for(rng, size, max(1, min(200, 20_000 // size))) for _ in range(threads)]
    done = [0] * threads
    store = open_store()
    try:
        store.append(per_thread[0][0])  # warm up: tables, connections, caches
        stop = time.perf_counter() + seconds

        def worker(t: int) -> None:
            mine = per_thread[t]
            while time.perf_counter() < stop:
                store.append(mine[done[t] % len(mine)])
                done[t] += 1

        workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    return sum(done) * size / elapsed


def best_of(runs: int, read: Callable[[], pl.DataFrame], n_events: int) -> float:
    """Best wall time (s) of ``runs`` reads, each checked to return every event."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        frame = read()
        times.append(time.perf_counter() - start)
        assert frame.height == n_events and frame.schema == pl.Schema(EVENT_SCHEMA)
    return min(times)


def read_figures(store: EventStore, n_events: int, url: str | None) -> dict[str, float]:
    """Bulk-load ``n_events`` with ``append_many``, then time ``frame()`` (and the alternative)."""
    rng = np.random.default_rng(1)
    chunks = (make_batch(rng, k, min(100_000, n_events - k)) for k in range(0, n_events, 100_000))
    start = time.perf_counter()
    store.append_many(chunks)
    figures = {"bulk load (append_many), events/s": n_events / (time.perf_counter() - start)}
    figures["frame(), s (best of 3)"] = best_of(3, store.frame, n_events)
    if url is not None:
        columns = ", ".join(EVENT_SCHEMA)

        def fetch_rows() -> pl.DataFrame:
            with psycopg.connect(url) as conn:
                rows = conn.execute(f"SELECT {columns} FROM events ORDER BY seq").fetchall()
            return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")

        figures["(not used) fetch tuples -> frame, s"] = best_of(1, fetch_rows, n_events)
    return figures


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; dropped afterwards."""
    name = f"shoprec_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per ingest run")
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs per ingest cell; the best is reported"
    )
    parser.add_argument("--read-events", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server where the benchmark may create and drop a database",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.postgres_url) as pg_url:
        folder = Path(tmp)
        with psycopg.connect(pg_url) as conn:
            server = conn.execute("SHOW server_version").fetchone()
            sync = conn.execute("SHOW synchronous_commit").fetchone()
        print(
            f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}, Python "
            f"{platform.python_version()}; SQLite {sqlite3.sqlite_version} in {folder}; "
            f"PostgreSQL {server[0] if server else '?'} (synchronous_commit="
            f"{sync[0] if sync else '?'}), psycopg {psycopg.__version__}, polars "
            f"{pl.__version__}; load average {os.getloadavg()[0]:.1f} at the start\n"
        )
        runs = iter(range(1_000_000))
        backends: dict[str, Opener] = {
            "SQLite": lambda: SQLiteEventStore(folder / f"ingest-{next(runs)}.db"),
            "PostgreSQL": lambda: PostgresEventStore(pg_url),
        }
        print(f"durable events/s, batched ingest (best of {args.repeats} runs):\n")
        header = " | ".join(
            f"{name}, {t} thread{'s' * (t > 1)}" for name in backends for t in THREADS
        )
        print(f"| batch size | {header} |")
        print("|---:|" + "---:|" * len(backends) * len(THREADS))
        for size in BATCH_SIZES:
            # The best of a few runs: on a shared machine other work only ever slows a run.
            rates = [
                max(ingest_rate(opener, size, threads, args.seconds) for _ in range(args.repeats))
                for opener in backends.values()
                for threads in THREADS
            ]
            cells = [f"{rate:,.0f}" for rate in rates]
            print(f"| {size:,} | {' | '.join(cells)} |", flush=True)

        print(f"\nreading {args.read_events:,} events back as a polars frame:\n")
        print("| measure | SQLite | PostgreSQL |")
        print("|---|---:|---:|")
        with (
            scratch_database(args.postgres_url) as read_url,
            SQLiteEventStore(folder / "read.db") as lite,
            PostgresEventStore(read_url) as pg,
        ):
            lite_figures = read_figures(lite, args.read_events, None)
            pg_figures = read_figures(pg, args.read_events, read_url)
        for name, value in pg_figures.items():
            lite_value = lite_figures.get(name)
            lite_cell = "" if lite_value is None else f"{lite_value:,.2f}"
            print(f"| {name} | {lite_cell} | {value:,.2f} |")
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
