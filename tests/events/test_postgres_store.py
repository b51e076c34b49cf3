"""PostgreSQL stores: group commit with per-batch savepoints, ordering across writers, outages."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from shoprec.errors import BackendUnavailableError, StoreError
from shoprec.events import Event, PostgresCatalog, PostgresEventStore
from shoprec.events.postgres import Connection
from shoprec.types import EventType

from .group_commit import queue_behind_a_commit, race


def unstorable(user: str, t: float) -> Event:
    """An event PostgreSQL refuses (a NUL in its text), as if it slipped past the API's checks."""
    good = ev(user, "placeholder", t)
    return Event.model_construct(**{**good.model_dump(), "item_id": "nul\x00byte"})


def ev(user: str, item: str, t: float) -> Event:
    return Event(user_id=user, item_id=item, event_type=EventType.VIEW, timestamp=t)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresEventStore]:
    with PostgresEventStore(postgres_url) as opened:
        yield opened


def test_the_table_has_the_indexes_and_no_sequence(store: PostgresEventStore) -> None:
    names = {row[0] for row in store._db.query("SELECT indexname FROM pg_indexes")}
    assert {"events_pkey", "events_user_seq", "events_timestamp"} <= names
    # Numbers come from the transactional counter, not a (non-transactional) sequence.
    assert store._db.query("SELECT COUNT(*) FROM pg_sequences")[0][0] == 0


def test_a_bad_batch_in_a_group_commit_fails_alone(
    store: PostgresEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits: list[str] = []
    real = store._db.transaction

    @contextmanager
    def counted(doing: str) -> Iterator[Connection]:
        with real(doing) as conn:
            yield conn
        commits.append(doing)

    monkeypatch.setattr(store._db, "transaction", counted)
    batches = [[ev(f"t{k}", f"{k}-{j}", j) for j in range(3)] for k in range(3)]
    batches[1][2] = unstorable("t1", 2)
    outcomes = queue_behind_a_commit(store, batches)

    assert commits == ["append failed"]  # all three shared one transaction
    failed = outcomes[1]
    assert isinstance(failed, StoreError) and "0x00" in str(failed)
    assert not isinstance(failed, BackendUnavailableError)
    lasts = {k: v for k, v in outcomes.items() if isinstance(v, int)}
    assert sorted(lasts.values()) == [3, 6]  # the rejected batch spent no numbers
    log = store.since(0)
    assert log["seq"].to_list() == list(range(1, 7))
    for k, last in lasts.items():
        assert log.slice(last - 3, 3)["item_id"].to_list() == [f"{k}-{j}" for j in range(3)]
    assert store.last_seq() == 6
    assert store.latest("t1", 5) == []


def test_a_lone_batch_the_server_rejects_stores_nothing(store: PostgresEventStore) -> None:
    store.append([ev("u", "1", 1)])
    with pytest.raises(StoreError, match="0x00") as caught:
        store.append([ev("u", "2", 2), unstorable("u", 3)])
    assert not isinstance(caught.value, BackendUnavailableError)
    assert store.frame()["item_id"].to_list() == ["1"]
    assert store.append([ev("u", "3", 4)]) == 2


def test_a_failed_group_commit_fails_every_batch_in_it(postgres_url: str) -> None:
    store = PostgresEventStore(postgres_url)
    batches = [[ev(f"t{k}", f"{k}-{j}", j) for j in range(3)] for k in range(3)]
    outcomes = queue_behind_a_commit(store, batches, meanwhile=store.close)
    assert len(outcomes) == 3
    assert all(isinstance(o, StoreError) and "closed" in str(o) for o in outcomes.values())
    with PostgresEventStore(postgres_url) as reopened:
        assert reopened.count() == 0


def test_writers_in_two_stores_commit_in_seq_order_for_a_tailing_reader(
    postgres_url: str,
) -> None:
    # Two stores have two pools and two group-commit locks, as two processes would.
    n_threads, n_batches, size = 4, 25, 5
    seen: list[int] = []
    with PostgresEventStore(postgres_url) as first, PostgresEventStore(postgres_url) as second:

        def write(t: int) -> None:
            target = first if t % 2 else second
            for b in range(n_batches):
                target.append([ev(f"t{t}", f"{b}-{j}", j) for j in range(size)])

        def tail(writing: threading.Event) -> None:
            # A reader that asks only for numbers above the last one it saw: if a higher
            # batch became visible before a lower one, the lower one would be skipped.
            last = 0
            while writing.is_set() or last < first.last_seq():
                page = first.since(last)["seq"].to_list()
                seen.extend(page)
                last = page[-1] if page else last

        race(write, tail, n_threads)
        log = second.since(0)

    total = n_threads * n_batches * size
    assert seen == list(range(1, total + 1))
    for block in range(0, total, size):  # every batch whole and consecutive
        assert log.slice(block, size)["user_id"].n_unique() == 1


def test_durable_commits_even_when_the_database_turns_them_off(postgres_url: str) -> None:
    name = urlsplit(postgres_url).path.lstrip("/")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    with PostgresEventStore(postgres_url) as store:
        assert store._db.query("SHOW synchronous_commit") == [("on",)]


def test_an_unreachable_server_raises_backend_unavailable_naming_the_host() -> None:
    url = "postgresql://shop:s3cret-pw@127.0.0.1:1/shop"  # nothing listens on port 1
    for opener in (PostgresEventStore, PostgresCatalog):
        with pytest.raises(BackendUnavailableError) as caught:
            opener(url)
        message = str(caught.value)
        assert "127.0.0.1:1/shop" in message and "shop@" in message
        assert "s3cret-pw" not in message


def test_dropped_connections_are_replaced_by_themselves(
    store: PostgresEventStore, postgres_url: str
) -> None:
    store.append([ev("u", "1", 1)])
    name = urlsplit(postgres_url).path.lstrip("/")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    assert killed is not None and killed[0] >= 1  # the pool's connection(s) are gone
    assert store.append([ev("u", "2", 2)]) == 2
    assert store.frame()["item_id"].to_list() == ["1", "2"]


class Relay:
    """A TCP relay to the PostgreSQL server that a test cuts and restores (the server 'down')."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._running = threading.Event()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.05)  # accept() wakes up to notice stop()
        self._running.set()
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a crashed server would."""
        self._running.clear()
        for sock in self._sockets:
            with suppress(OSError):  # already closed by the other end
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        self._threads.clear()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._running.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                upstream = socket.create_connection(self.target)
                self._sockets += [client, upstream]
                self._spawn(self._pump, client, upstream)
                self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # the relay was cut
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def test_a_server_outage_refuses_calls_then_the_store_recovers_by_itself(
    postgres_url: str,
) -> None:
    parts = urlsplit(postgres_url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    relay.start()
    via_relay = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}"))
    store = PostgresEventStore(via_relay, timeout_s=1.0)
    try:
        assert store.append([ev("u", "before", 1)]) == 1
        relay.stop()
        with pytest.raises(BackendUnavailableError, match=f"127.0.0.1:{relay.port}"):
            store.append([ev("u", "lost", 2)])
        with pytest.raises(BackendUnavailableError):
            store.frame()
        relay.start()
        deadline = time.monotonic() + 30
        while True:  # the pool reconnects on its own schedule (backoff of about 1, 2, 4 s)
            try:
                last = store.append([ev("u", "after", 3)])
                break
            except BackendUnavailableError:
                assert time.monotonic() < deadline, "the store did not reconnect"
        assert last == 2  # the refused batch spent no number
        assert store.frame()["item_id"].to_list() == ["before", "after"]
    finally:
        store.close()
        relay.stop()


def test_two_replicas_sending_one_event_id_store_it_once(postgres_url: str) -> None:
    """#18: the id check holds across processes: writers read ids only under the counter lock."""
    stores = [PostgresEventStore(postgres_url) for _ in range(2)]
    start = threading.Barrier(8)
    news: list[int] = []

    def send(k: int) -> None:
        event = ev("u", "same", 1).model_copy(update={"event_id": "dup"})
        start.wait()
        news.append(stores[k % 2].append_new([event]).new)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(news) == [0] * 7 + [1]
    assert stores[0].count() == 1 and stores[1].last_seq() == 1
    for opened in stores:
        opened.close()


def test_a_tombstone_on_one_replica_holds_for_the_other(postgres_url: str) -> None:
    """#18: an append on another replica after the tombstone stores nothing of the shopper."""
    with PostgresEventStore(postgres_url) as a, PostgresEventStore(postgres_url) as b:
        a.append([ev("gone", "x", 1)])
        b.tombstone("gone")
        b.forget_user("gone")
        assert a.append_new([ev("gone", "y", 2), ev("kept", "z", 3)]).new == 1
        assert a.latest("gone", 5) == [] and b.users() == ["kept"]
        assert a.last_seq() == 2  # the dropped event took no number
