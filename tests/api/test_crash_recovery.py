"""SIGKILL the server mid-ingest, restart: every acknowledged event and its effect are back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from shoprec.events import SQLiteEventStore

from .conftest import make_home

SERVER = """
import sys, uvicorn
from pathlib import Path
from shoprec.serving import create_app
from shoprec.settings import ServingSettings, Settings
settings = Settings(home=Path(sys.argv[1]), serving=ServingSettings(reload_interval_s=0))
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[2]), log_level="error")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(home: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(home), str(port)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(home, port)
    acknowledged: list[int] = []
    stop = threading.Event()

    def ingest() -> None:
        with httpx.Client(base_url=url) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                event = {"user_id": f"k{i}", "item_id": "a", "event_type": "addtocart"}
                try:
                    if client.post("/v1/events", json=event).status_code == 200:
                        acknowledged.append(i)
                except httpx.TransportError:
                    return

    worker = threading.Thread(target=ingest)
    worker.start()
    while len(acknowledged) < 20:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    worker.join()
    with SQLiteEventStore(home / "shoprec.db") as store:
        stored = set(store.frame()["user_id"].to_list())
    assert {f"k{i}" for i in acknowledged} <= stored
    proc = _start(home, port)
    try:
        last = acknowledged[-1]
        body = httpx.post(f"{url}/v1/cart/recommendations", json={"user_id": f"k{last}", "n": 1})
        assert body.json()["items"][0]["item_id"] == "b"  # the cart {a} survived the crash
    finally:
        proc.terminate()
        proc.wait()
