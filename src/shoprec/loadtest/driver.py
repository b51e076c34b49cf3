"""The load: what to send (:class:`LoadSpec`), open-loop driving, batched ingest, rate search.

Every function takes the servers under load as one :class:`~shoprec.loadtest.servers.Servers`
and spreads its requests round-robin over them, so one replica and several are measured by
the same code: the ``j``-th recommendation request goes to replica ``j % N``; the ``k``-th
freshness probe posts its event to replica ``k % N`` and reads the shopper's recommendations
from replica ``(k + 1) % N`` (the same server when there is only one), so with two replicas
half the probes cross one way and half the other.
"""

from __future__ import annotations

import asyncio
import gc
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import numpy as np

from .report import per_second, percentiles
from .servers import Servers

#: Keep-alive connections of the load generator, over all replicas (requests beyond wait).
CONNECTIONS = 64


@dataclass(frozen=True)
class LoadSpec:
    """What to send.

    Attributes:
        rate: Requests per second (open loop: sent on schedule whatever the latency).
        duration: Seconds of load.
        fresh_every: Every this many requests is a freshness probe (0 = none).
        ingest_batches: Batched ``POST /v1/events`` after the load (0 = none).
        batch: Events per ingest batch.
        in_process: ``Service.recommend`` calls timed without HTTP (0 = none).
        max_rate_steps: Runs of the search for the highest sustainable rate (0 = no search).
        step_duration: Seconds of load per step of that search.
        p99_target_ms: A step is sustained when the server keeps the rate and its p99 is
            within this.
    """

    rate: float = 200.0
    duration: float = 60.0
    fresh_every: int = 20
    ingest_batches: int = 20
    batch: int = 500
    in_process: int = 2000
    max_rate_steps: int = 0
    step_duration: float = 15.0
    p99_target_ms: float = 15.0


async def drive(
    session: aiohttp.ClientSession,
    servers: Servers,
    users: list[str],
    probe: tuple[str, str],
    spec: LoadSpec,
) -> dict[str, Any]:
    """Open-loop load: request ``i`` leaves at ``i / rate`` s; latency, errors, freshness, CPU.

    Args:
        session: The client session (its connector bounds the open connections).
        servers: The replicas, loaded round-robin.
        users: Known shoppers to ask recommendations for (drawn at random).
        probe: The item a freshness probe views and its title (which the reason names).
        spec: The rate, duration and probe frequency.

    Returns:
        Requests, achieved rate, p50 / p99 / max ms, errors, freshness and probe count, the
        per-second timeline, and the CPU seconds (and cores: CPU seconds per wall second) of
        this process (the load generator) and of the servers during the run.
    """
    bases = servers.bases
    latencies: list[float] = []
    sent: list[float] = []  # when each timed request left, seconds into the run
    errors = fresh_hits = fresh_total = 0
    item, title = probe
    rng = np.random.default_rng(0)
    # Probe shoppers must be new to every server, also in a second run on the same store.
    run_id = secrets.token_hex(4)

    async def recommend(base: str, user: str) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            async with session.get(f"{base}/v1/users/{user}/recommendations?n=10") as response:
                await response.read()
                ok = response.status == 200
        except aiohttp.ClientError:
            ok = False
        latencies.append((time.perf_counter() - start) * 1000)
        sent.append(start - began)
        errors += not ok

    async def fresh(k: int) -> None:
        nonlocal errors, fresh_hits, fresh_total
        user = f"bench-fresh-{run_id}-{k}"
        event = {"user_id": user, "item_id": item, "event_type": "view"}
        writer, reader = bases[k % len(bases)], bases[(k + 1) % len(bases)]
        try:
            async with session.post(f"{writer}/v1/events", json=event) as ack:
                await ack.read()
                acked = ack.status == 200
            async with session.get(f"{reader}/v1/users/{user}/recommendations?n=10") as response:
                body = await response.json() if response.status == 200 else None
        except aiohttp.ClientError:
            errors += 1
            return
        if not acked or body is None:
            errors += 1
            return
        fresh_total += 1
        # Fresh when a reason names the viewed item: "because you viewed X" from a sequence
        # model, "bought together with X" or "similar to X" from a ranker's top feature.
        fresh_hits += bool(title) and any(title in r["reason"] for r in body["items"])

    tasks: list[asyncio.Task[None]] = []
    # The generator's own collector pauses would be billed to the server as latency: none
    # during the timed run (a minute of load leaves a few MB of garbage).
    gc.collect()
    gc.disable()
    client_cpu, server_cpu = time.process_time(), servers.cpu_seconds()
    began = time.perf_counter()
    probes = plain = 0
    try:
        for i in range(int(spec.rate * spec.duration)):
            delay = began + i / spec.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if spec.fresh_every and i % spec.fresh_every == spec.fresh_every - 1:
                tasks.append(asyncio.create_task(fresh(probes)))
                probes += 1
            else:
                user = users[int(rng.integers(len(users)))]
                tasks.append(asyncio.create_task(recommend(bases[plain % len(bases)], user)))
                plain += 1
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - client_cpu
    server_cpu = servers.cpu_seconds() - server_cpu
    return {
        "requests": len(tasks),
        "achieved_rps": len(tasks) / elapsed,
        **percentiles(latencies),
        "errors": errors,
        "freshness": fresh_hits / fresh_total if fresh_total else float("nan"),
        "fresh_probes": fresh_total,
        "client_cpu_s": client_cpu,
        "client_cores": client_cpu / elapsed,
        "server_cpu_s": server_cpu,
        "server_cores": server_cpu / elapsed,
        # What sizing needs: the server's CPU per request under load (HTTP and probes included;
        # the in-process figure leaves them out).
        "server_cpu_ms_per_request": server_cpu / len(tasks) * 1000 if tasks else float("nan"),
        "timeline": per_second(sent, latencies),
    }


async def ingest(
    session: aiohttp.ClientSession, servers: Servers, items: list[str], batches: int, size: int
) -> float:
    """Events/s through ``batches`` batched POSTs of ``size`` events each.

    Each replica gets every ``N``-th batch, posted one after another; the replicas are fed at
    the same time, as a load balancer would spread the writers.
    """
    rng = np.random.default_rng(1)
    bodies = [
        {
            "events": [
                {"user_id": f"ingest-{b}-{j % 50}", "item_id": items[int(k)], "event_type": "view"}
                for j, k in enumerate(rng.integers(len(items), size=size))
            ]
        }
        for b in range(batches)
    ]

    async def post_each(base: str, share: list[dict[str, Any]]) -> None:
        for body in share:
            async with session.post(f"{base}/v1/events", json=body) as response:
                response.raise_for_status()

    n = len(servers.bases)
    start = time.perf_counter()
    await asyncio.gather(*(post_each(base, bodies[r::n]) for r, base in enumerate(servers.bases)))
    return batches * size / (time.perf_counter() - start)


#: The figures of each run of the rate search kept in the results.
_STEP_KEYS = (
    "achieved_rps",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "errors",
    "client_cores",
    "server_cores",
)


async def max_sustainable_rate(
    session: aiohttp.ClientSession,
    servers: Servers,
    users: list[str],
    probe: tuple[str, str],
    spec: LoadSpec,
) -> dict[str, Any]:
    """The highest rate the servers sustain: they keep up and p99 stays within the target.

    From ``spec.rate``, the rate grows by half until a step fails, then the gap between the
    best sustained and the first failed rate is bisected; ``spec.max_rate_steps`` runs of
    ``spec.step_duration`` s in all (recommendation requests only).
    """
    good, bad = 0.0, float("inf")
    rate = spec.rate
    steps = []
    for _ in range(spec.max_rate_steps):
        step = replace(spec, rate=rate, duration=spec.step_duration, fresh_every=0)
        run = await drive(session, servers, users, probe, step)
        kept = run["achieved_rps"] >= 0.98 * rate and run["errors"] == 0
        sustained = kept and run["p99_ms"] <= spec.p99_target_ms
        steps.append({"rate": rate, "sustained": sustained} | {k: run[k] for k in _STEP_KEYS})
        good, bad = (max(good, rate), bad) if sustained else (good, min(bad, rate))
        rate = 1.5 * rate if bad == float("inf") else (good + bad) / 2
    return {"max_sustainable_rps": good, "rate_steps": steps}
