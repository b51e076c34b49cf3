"""Event store throughput: durable appends per batch size, and reading the log into polars.

Every append is one SQLite transaction that returns only after the write-ahead log is fsynced
(``synchronous=FULL``), so the append rates below are *acknowledged, durable* events per
second. Batches are pre-built outside the timed region, once as polars frames (the bulk path:
vectorised validation) and once as ``Event`` objects (the API path).

Usage::

    python benchmarks/event_store.py                       # the full run (1M events read)
    python benchmarks/event_store.py --read-events 100000 --seconds 1   # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl

from shoprec.events import Event, SQLiteEventStore
from shoprec.types import EventType

BATCH_SIZES = (1, 100, 1000, 10_000)
TYPES = np.array([t.value for t in (EventType.VIEW, EventType.CLICK, EventType.ADDTOCART)])


def make_batch(rng: np.random.Generator, start: int, size: int) -> pl.DataFrame:
    """``size`` events shaped like a shop's log: 50k users, 20k items, sessions, few values."""
    n = np.arange(start, start + size)
    return pl.DataFrame(
        {
            "user_id": [f"user-{u}" for u in rng.integers(0, 50_000, size)],
            "item_id": [f"sku-{i}" for i in rng.integers(0, 20_000, size)],
            "event_type": TYPES[rng.integers(0, len(TYPES), size)],
            "timestamp": 1_700_000_000.0 + n * 0.5,
            "value": np.where(n % 10 == 0, 1.0, np.nan),
            "session_id": [f"s-{k // 20}" for k in n],
        }
    ).with_columns(pl.col("value").fill_nan(None))


def as_events(frame: pl.DataFrame) -> list[Event]:
    """The same batch as validated ``Event`` objects."""
    return [Event.model_validate(row) for row in frame.iter_rows(named=True)]


def append_rate(
    folder: Path, size: int, seconds: float, rng: np.random.Generator, objects: bool
) -> tuple[float, float]:
    """Durable events/s and mean ms per batch, appending batches of ``size`` for ~``seconds``."""
    # Enough batches for the time budget at a generous rate, but at least 3 and 200k events.
    n_batches = max(3, min(2000, 200_000 // size))
    frames = [make_batch(rng, k * size, size) for k in range(n_batches)]
    batches: list[pl.DataFrame] | list[list[Event]] = (
        [as_events(f) for f in frames] if objects else frames
    )
    path = folder / f"append-{size}-{'objects' if objects else 'frames'}.db"
    with SQLiteEventStore(path) as store:
        store.append(batches[0])  # warm up: tables, connection, page cache
        done, start = 0, time.perf_counter()
        for batch in batches[1:]:
            store.append(batch)
            done += 1
            if time.perf_counter() - start > seconds:
                break
        elapsed = time.perf_counter() - start
    return done * size / elapsed, 1000 * elapsed / done


def concurrent_single_rate(folder: Path, threads: int, seconds: float) -> float:
    """Durable events/s when ``threads`` threads each append one ``Event`` at a time."""
    done = [0] * threads
    with SQLiteEventStore(folder / f"concurrent-{threads}.db") as store:
        stop = time.perf_counter() + seconds

        def worker(t: int) -> None:
            while time.perf_counter() < stop:
                store.append([Event(user_id=f"u{t}", item_id=str(done[t]), event_type="view")])
                done[t] += 1

        workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
    return sum(done) / elapsed


def read_figures(folder: Path, n_events: int, rng: np.random.Generator) -> dict[str, float]:
    """Bulk-load ``n_events`` in 10k batches, then time frame(), latest() and count()."""
    figures: dict[str, float] = {}
    with SQLiteEventStore(folder / "read.db") as store:
        start = time.perf_counter()
        for k in range(0, n_events, 10_000):
            store.append(make_batch(rng, k, min(10_000, n_events - k)))
        figures["bulk load events/s"] = n_events / (time.perf_counter() - start)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            frame = store.frame()
            times.append(time.perf_counter() - start)
        assert frame.height == n_events
        figures["frame() s (best of 3)"] = min(times)
        figures["frame() s (median of 3)"] = statistics.median(times)
        users = frame["user_id"].unique().sample(200, seed=0).to_list()
        latencies = []
        for user in users:
            start = time.perf_counter()
            store.latest(user, 50)
            latencies.append(time.perf_counter() - start)
        figures["latest(user, 50) median ms"] = 1000 * statistics.median(latencies)
        start = time.perf_counter()
        store.count()
        figures["count() ms"] = 1000 * (time.perf_counter() - start)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per append row")
    parser.add_argument("--read-events", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the stores go (a temp dir)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        print(
            f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, polars "
            f"{pl.__version__}; stores in {folder}\n"
        )
        print("| batch size | events/s (frames) | ms/batch | events/s (Event objects) | ms/batch |")
        print("|---:|---:|---:|---:|---:|")
        for size in BATCH_SIZES:
            frame_rate, frame_ms = append_rate(folder, size, args.seconds, rng, objects=False)
            obj_rate, obj_ms = append_rate(folder, size, args.seconds, rng, objects=True)
            cells = f"{frame_rate:,.0f} | {frame_ms:.2f} | {obj_rate:,.0f} | {obj_ms:.2f}"
            print(f"| {size:,} | {cells} |", flush=True)
        print("\nsingle-event appends from concurrent threads (group commit):\n")
        print("| threads | events/s |")
        print("|---:|---:|")
        for threads in (1, 8, 32):
            rate = concurrent_single_rate(folder, threads, args.seconds)
            print(f"| {threads} | {rate:,.0f} |", flush=True)
        print(f"\nread path, {args.read_events:,} events:\n")
        print("| measure | value |")
        print("|---|---:|")
        for name, value in read_figures(folder, args.read_events, rng).items():
            print(f"| {name} | {value:,.3f} |" if value < 100 else f"| {name} | {value:,.0f} |")


if __name__ == "__main__":
    main()
