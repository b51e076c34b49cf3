"""Drive a group commit by hand: queue batches while the commit lock is held, then release it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from shoprec.errors import StoreError
from shoprec.events import Event, PostgresEventStore, SQLiteEventStore


def queue_behind_a_commit(
    store: SQLiteEventStore | PostgresEventStore,
    batches: Sequence[Sequence[Event]],
    meanwhile: Callable[[], None] = lambda: None,
) -> dict[int, int | StoreError]:
    """Hold the commit lock while one thread per batch appends, run ``meanwhile``, release.

    Every batch is queued before the lock is released, so they all share the next commit.

    Returns:
        Each batch's outcome by index: its last sequence number, or the error it raised.
    """
    outcomes: dict[int, int | StoreError] = {}

    def append(k: int) -> None:
        try:
            outcomes[k] = store.append(batches[k])
        except StoreError as error:
            outcomes[k] = error

    threads = [threading.Thread(target=append, args=(k,)) for k in range(len(batches))]
    with store._commit_lock:  # as if an earlier commit were still in flight
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(store._queue) < len(batches) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(store._queue) == len(batches)
        meanwhile()
    for t in threads:
        t.join()
    return outcomes


def race(write: Callable[[int], None], read: Callable[[threading.Event], None], n: int) -> None:
    """Run ``n`` threads of ``write(thread)`` and one of ``read(writing)`` alongside.

    ``writing`` is set while any writer runs, so ``read`` can loop until they are done.
    """
    writing = threading.Event()
    writers = [threading.Thread(target=write, args=(t,)) for t in range(n)]
    reader = threading.Thread(target=read, args=(writing,))
    writing.set()
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    writing.clear()
    reader.join()
