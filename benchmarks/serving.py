"""Serving benchmark: HTTP latency at a fixed request rate, freshness, ingest throughput.

Builds a shoprec home from a dataset folder (or the synthetic ``small`` shop), trains a model,
starts the service in a child process (uvicorn, uvloop, httptools) and drives it over loopback
from this process, open loop at ``--rate`` requests/s for ``--duration`` seconds:

- top-10 ``GET /v1/users/{id}/recommendations`` for known shoppers: p50 / p99 / max latency,
  achieved rate and errors;
- freshness: every ``--fresh-every``-th request is a view of a popular item by a new shopper,
  acknowledged, then immediately a recommendation request for that shopper; it *reflects*
  the event when an item's reason names the viewed item ("because you viewed <title>");
- ingest: ``--ingest-batches`` batched ``POST /v1/events`` of ``--batch`` events, events/s;
- in-process ``Service.recommend`` p50 / p99 (no HTTP), after the server has stopped.

The load generator shares the machine with the server: state the machine with the figures.

Usage::

    python benchmarks/serving.py                                  # synthetic shop, 200 req/s
    python benchmarks/serving.py --data ../shared/data/amazon_beauty --model ease --rate 200 \\
        --duration 60 --output bench-output/serving
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from shoprec.data import Interactions, load_dataset
from shoprec.data.synthetic import generate_shop, preset
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.pipeline import Request
from shoprec.settings import ServingSettings, Settings
from shoprec.types import Columns

console = Console()


def build_home(home: Path, data: Interactions, model: str) -> None:
    """Store the events and catalogue under ``home`` and publish a ``model`` version."""
    home.mkdir(parents=True, exist_ok=True)
    with SQLiteCatalog(home / "shoprec.db") as catalog:
        catalog.upsert(data.items)
    with SQLiteEventStore(home / "shoprec.db") as store:
        events = data.events
        store.append_many(events.slice(o, 50_000) for o in range(0, events.height, 50_000))
    versions = ModelVersions(home / "models")
    train_and_publish(data, model, {}, versions, FitOptions(device="cpu"), validate=False)


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path, port: int) -> None:
    """Child-process mode: run the service on ``home``."""
    import uvicorn

    from shoprec.serving import create_app

    settings = Settings(home=home, serving=ServingSettings(reload_interval_s=0))
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


async def wait_ready(client: httpx.AsyncClient, timeout: float = 120.0) -> None:
    """Poll ``/health/ready`` until the server answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


async def drive(
    client: httpx.AsyncClient,
    users: list[str],
    probe: tuple[str, str],
    rate: float,
    duration: float,
    fresh_every: int,
) -> dict[str, Any]:
    """Open-loop load: one request every ``1/rate`` s; returns latencies and freshness."""
    latencies: list[float] = []
    errors = 0
    fresh_hits = fresh_total = 0
    item, title = probe
    rng = np.random.default_rng(0)
    tasks: list[asyncio.Task[None]] = []

    async def recommend(user: str) -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            response = await client.get(f"/v1/users/{user}/recommendations", params={"n": 10})
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - start)
        errors += not ok

    async def fresh(i: int) -> None:
        nonlocal errors, fresh_hits, fresh_total
        user = f"bench-fresh-{i}"
        event = {"user_id": user, "item_id": item, "event_type": "view"}
        try:
            ack = await client.post("/v1/events", json=event)
            response = await client.get(f"/v1/users/{user}/recommendations", params={"n": 10})
        except httpx.HTTPError:
            errors += 1
            return
        if ack.status_code != 200 or response.status_code != 200:
            errors += 1
            return
        fresh_total += 1
        reasons = [r["reason"] for r in response.json()["items"]]
        fresh_hits += any(f"you viewed {title}" in r for r in reasons)

    start = time.perf_counter()
    n = int(rate * duration)
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if fresh_every and i % fresh_every == fresh_every - 1:
            tasks.append(asyncio.create_task(fresh(i)))
        else:
            tasks.append(asyncio.create_task(recommend(users[int(rng.integers(len(users)))])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies),
        "achieved_rps": len(tasks) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "max_ms": float(ms.max()) if len(ms) else float("nan"),
        "errors": errors,
        "freshness": fresh_hits / fresh_total if fresh_total else float("nan"),
        "fresh_probes": fresh_total,
    }


async def ingest(client: httpx.AsyncClient, items: list[str], batches: int, size: int) -> float:
    """Events/s through ``batches`` sequential batched POSTs of ``size`` events."""
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
    start = time.perf_counter()
    for body in bodies:
        response = await client.post("/v1/events", json=body)
        response.raise_for_status()
    return batches * size / (time.perf_counter() - start)


def in_process(home: Path, users: list[str], n: int) -> dict[str, float]:
    """p50/p99 of ``Service.recommend`` for top-10 without HTTP."""
    from shoprec.serving import Service

    service = Service(Settings(home=home, serving=ServingSettings(reload_interval_s=0)))
    try:
        times = []
        for i in range(n):
            request: Request = service.user_request(users[i % len(users)], n=10)
            start = time.perf_counter()
            service.recommend(request, users[i % len(users)])
            times.append((time.perf_counter() - start) * 1000)
    finally:
        service.close()
    return {
        "in_process_p50_ms": float(np.percentile(times, 50)),
        "in_process_p99_ms": float(np.percentile(times, 99)),
    }


def main() -> None:
    """Build, serve, drive, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=None, help="dataset folder (default: synthetic)"
    )
    parser.add_argument("--model", default="ease")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--fresh-every", type=int, default=20)
    parser.add_argument("--ingest-batches", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--output", type=Path, default=Path("bench-output/serving"))
    parser.add_argument("--serve-home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_home is not None:
        serve(args.serve_home, args.port)
        return
    if args.data is not None:
        data = load_dataset(args.data)
    else:
        shop = generate_shop(preset("small"))
        data = Interactions(shop.events, shop.items)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        console.print(f"building home: {data.n_events:,} events, {data.n_items:,} items")
        build_home(home, data, args.model)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve-home", str(home), "--port", str(port)]
        )
        counts = data.events.group_by(Columns.USER).len().sort("len", descending=True)
        users = counts[Columns.USER].head(2000).to_list()
        popular = data.events[Columns.ITEM].value_counts(sort=True)[Columns.ITEM][0]
        titles = dict(zip(data.items[Columns.ITEM], data.items[Columns.TITLE], strict=True))
        probe = (popular, titles.get(popular) or popular)
        try:
            result = asyncio.run(_run(args, port, users, probe, data.item_vocab.ids))
        finally:
            server.terminate()
            server.wait(timeout=30)
        result.update(in_process(home, users, 2000))
    result.update(
        {
            "model": args.model,
            "rate": args.rate,
            "duration_s": args.duration,
            "n_items": data.n_items,
            "n_events": data.n_events,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "load_avg_1m": os.getloadavg()[0],
        }
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    table = Table("metric", "value", title=f"serving: {args.model}, {args.rate:g} req/s")
    for key, value in result.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)


async def _run(
    args: argparse.Namespace, port: int, users: list[str], probe: tuple[str, str], items: list[str]
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30.0
    ) as client:
        await wait_ready(client)
        for user in users[:50]:  # warm-up: JIT-free, but loads state and touches caches
            await client.get(f"/v1/users/{user}/recommendations")
        result = await drive(client, users, probe, args.rate, args.duration, args.fresh_every)
        result["ingest_events_per_s"] = await ingest(client, items, args.ingest_batches, args.batch)
    return result


if __name__ == "__main__":
    main()
