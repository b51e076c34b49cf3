"""kill -9 of `shoprec serve` mid-ingest with concurrent clients: acknowledged vs stored events.

    python benchmarks/crash_ingest.py [--clients 4] [--seconds 5] [--rounds 3]
        [--events-url postgresql://postgres@127.0.0.1:5432/postgres]

Each round builds a fresh home with the synthetic shop, starts `shoprec serve`, lets
``--clients`` threads POST batches of 1-20 events as fast as the server acknowledges them,
kills the server with SIGKILL after ``--seconds`` and counts, from the store, how many of the
acknowledged events are there. With ``--events-url`` the events go to a scratch schema of that
PostgreSQL (dropped afterwards) instead of the embedded SQLite file. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from shoprec.data import Interactions
from shoprec.data.synthetic import generate_shop, preset
from shoprec.events import open_catalog, open_event_store
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scratch_schema(url: str) -> tuple[str, str]:
    """A new schema in ``url``'s database, and the URL whose connections use it."""
    name = f"shoprec_crash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    separator = "&" if "?" in url else "?"
    return name, f"{url}{separator}options={quote(f'-csearch_path={name}')}"


def one_round(clients: int, seconds: float, events_url: str | None) -> dict[str, int]:
    """One crash: the counts of acknowledged and stored events."""
    with tempfile.TemporaryDirectory(prefix="shoprec-crash-") as tmp:
        home = Path(tmp) / "home"
        shop = generate_shop(preset("small"))
        with open_catalog(events_url, home / "shoprec.db") as catalogue:
            catalogue.upsert(shop.items)
        with open_event_store(events_url, home / "shoprec.db") as store:
            store.append_many([shop.events])
        data = Interactions(shop.events, shop.items)
        versions = ModelVersions(home / "models")
        train_and_publish(data, "covisit", {}, versions, FitOptions(), validate=False)
        items = data.item_vocab.ids
        port = _port()
        env = {**os.environ, "SHOPREC_HOME": str(home), "SHOPREC_SERVING__RELOAD_INTERVAL_S": "0"}
        if events_url is not None:
            env["SHOPREC_EVENTS_URL"] = events_url
        command = [sys.executable, "-m", "shoprec", "serve", "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        acknowledged: list[str] = []
        lock = threading.Lock()

        def post(client: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                for batch in range(1_000_000):
                    size = 1 + (batch * 7 + client) % 20
                    users = [f"crash-{client}-{batch}-{j}" for j in range(size)]
                    body = {
                        "events": [
                            {"user_id": u, "item_id": items[j % len(items)], "event_type": "view"}
                            for j, u in enumerate(users)
                        ]
                    }
                    try:
                        if http.post("/v1/events", json=body).status_code != 200:
                            return
                    except httpx.TransportError:
                        return
                    with lock:
                        acknowledged.extend(users)

        threads = [threading.Thread(target=post, args=(c,)) for c in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        for thread in threads:
            thread.join()
        with open_event_store(events_url, home / "shoprec.db") as store:
            users = store.frame()["user_id"]
            stored = set(users.filter(users.str.starts_with("crash-")).to_list())
        lost = sum(u not in stored for u in acknowledged)
        return {"acknowledged": len(acknowledged), "stored": len(stored), "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events-url", default=None)
    args = parser.parse_args()
    table = Table("backend", "round", "acknowledged", "stored", "acknowledged but lost")
    for r in range(args.rounds):
        schema, url = _scratch_schema(args.events_url) if args.events_url else (None, None)
        try:
            counts = one_round(args.clients, args.seconds, url)
        finally:
            if schema is not None:
                with psycopg.connect(args.events_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        backend = "PostgreSQL" if url else "SQLite"
        table.add_row(backend, str(r + 1), *(f"{counts[k]:,}" for k in counts))
    Console().print(table)


if __name__ == "__main__":
    main()
