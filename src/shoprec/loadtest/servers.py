"""The servers under load: how they are deployed, started, awaited, timed and read back.

A :class:`Deployment` names the backends and the number of replicas; :func:`start_servers`
runs one ``shoprec serve`` child process per replica, each on its own port, and returns them
as :class:`Servers`. Their CPU time is read from ``/proc`` (no psutil) and their
``/metrics`` samples are scraped (``report`` turns them into figures).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from shoprec.errors import ConfigError

#: The environment variables naming the shared backends (``Settings.events_url`` / ``state_url``).
EVENTS_ENV, STATE_ENV = "SHOPREC_EVENTS_URL", "SHOPREC_STATE_URL"

# utime and stime are fields 14 and 15 of /proc/<pid>/stat, counted in clock ticks.
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Deployment:
    """Where the live side of the served home keeps its events and state, and how many replicas.

    The default is the embedded single process: events in the home's SQLite file, live state
    in the server's memory.

    Attributes:
        replicas: ``shoprec serve`` processes, each on its own port.
        events_url: PostgreSQL URL of the event store and catalogue (``None``: SQLite).
        state_url: Redis URL of the live state (``None``: each process's memory).

    Raises:
        ConfigError: Several replicas without shared live state (each would see only the
            events posted to itself).
    """

    replicas: int = 1
    events_url: str | None = None
    state_url: str | None = None

    def __post_init__(self) -> None:
        if self.replicas > 1 and self.state_url is None:
            raise ConfigError(
                f"{self.replicas} replicas need shared live state: give --state redis://..."
            )

    @property
    def name(self) -> str:
        """A short label, e.g. ``"embedded"`` or ``"2 replicas, PostgreSQL + Redis"``."""
        if self.events_url is None and self.state_url is None:
            return "embedded"
        events = "SQLite" if self.events_url is None else "PostgreSQL"
        state = "memory" if self.state_url is None else "Redis"
        replicas = "1 process" if self.replicas == 1 else f"{self.replicas} replicas"
        return f"{replicas}, {events} + {state}"

    def environment(self) -> dict[str, str]:
        """The ``SHOPREC_*`` variables that point a server at these backends."""
        env = {EVENTS_ENV: self.events_url, STATE_ENV: self.state_url}
        return {key: url for key, url in env.items() if url is not None}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            stat = file.read()
    except FileNotFoundError:
        return 0.0
    # The command name (field 2) may hold spaces: count the fields after its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclass(frozen=True)
class Servers:
    """Running replicas: their base URLs and processes.

    Attributes:
        bases: ``http://127.0.0.1:<port>`` of each replica.
        processes: The child processes, in the same order.
    """

    bases: list[str]
    processes: list[subprocess.Popen[bytes]]

    def cpu_seconds(self) -> float:
        """CPU seconds all replicas have used so far."""
        return sum(process_cpu_seconds(p.pid) for p in self.processes)

    def stop(self) -> None:
        """Terminate every replica and wait for it to exit."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


def free_ports(n: int) -> list[int]:
    """``n`` distinct unused TCP ports on the loopback interface."""
    with ExitStack() as stack:
        # Held open together, so the kernel cannot hand out the same port twice.
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def start_servers(home: Path, deployment: Deployment) -> Servers:
    """``shoprec serve`` on ``home`` for each replica (model reloads off: nothing changes).

    The children get this environment less any backend URL of the user's own, plus the
    deployment's: a server must never write to backends the bench did not choose.
    """
    env = {k: v for k, v in os.environ.items() if k not in (EVENTS_ENV, STATE_ENV)}
    env |= deployment.environment()
    env |= {"SHOPREC_HOME": str(home), "SHOPREC_SERVING__RELOAD_INTERVAL_S": "0"}
    ports = free_ports(deployment.replicas)
    command = [sys.executable, "-m", "shoprec", "serve", "--host", "127.0.0.1", "--port"]
    processes = [
        subprocess.Popen([*command, str(port)], env=env, stdout=subprocess.DEVNULL)
        for port in ports
    ]
    return Servers([f"http://127.0.0.1:{port}" for port in ports], processes)


async def wait_ready(session: aiohttp.ClientSession, base: str, timeout: float = 1800.0) -> None:
    """Poll ``/health/ready`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/health/ready") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.25)
    raise TimeoutError(f"the server at {base} was not ready after {timeout:.0f} s")


async def server_samples(session: aiohttp.ClientSession, servers: Servers) -> list[Sample]:
    """Every sample the replicas' ``/metrics`` expose now, all replicas together."""
    samples: list[Sample] = []
    for base in servers.bases:
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
        samples += [s for family in text_string_to_metric_families(text) for s in family.samples]
    return samples
