"""Shared fixtures: a seeded random generator and paths to the optional shared datasets."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def require_service(name: str, reason: str) -> None:
    """Skip when a local service is missing, except in CI where that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@pytest.fixture
def shared_data() -> Path:
    """The licensed benchmark datasets beside the checkout.

    Skips when they are absent, except in CI, where they are provided and a missing folder
    fails (#18: the tests that need them used to skip silently there).
    """
    if not SHARED_DATA.is_dir():
        require_service("shared datasets", f"no folder at {SHARED_DATA}")
    return SHARED_DATA


#: The machine's PostgreSQL (trust auth) and Redis; override to point the tests elsewhere.
POSTGRES_ADMIN_URL = os.environ.get(
    "SHOPREC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"shoprec_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_ADMIN_URL)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's Redis, with a key prefix of this test's own (its keys deleted afterwards).

    The prefix travels as the URL's ``prefix`` query parameter, which shoprec's Redis backends
    read, so tests never see each other's keys on the shared server.
    """
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{REDIS_TEST_URL}: {exc}")
    prefix = f"shoprec-test-{uuid.uuid4().hex[:12]}:"
    separator = "&" if "?" in REDIS_TEST_URL else "?"
    yield f"{REDIS_TEST_URL}{separator}prefix={prefix}"
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


class RedisServer:
    """A Redis server of the test's own, on a free port, that the test may stop and restart."""

    def __init__(self, workdir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (no persistence: a restart comes back empty, as the machine's does)."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self._workdir)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Kill it (as a crash would)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started Redis server of this test's own (never the machine's shared one)."""
    if shutil.which("redis-server") is None:
        require_service("redis-server", "the binary is not on PATH")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
