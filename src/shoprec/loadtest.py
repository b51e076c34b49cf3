"""``shoprec bench-serve``: the service under load, measured from outside over loopback.

Builds a home from a dataset (events in the store, the catalogue, a published model), starts
``shoprec serve`` on it in a child process and drives it open loop at a fixed rate:

- top-10 ``GET /v1/users/{id}/recommendations`` for known shoppers: p50 / p99 / max latency,
  achieved rate, errors;
- freshness, measured: every ``fresh_every``-th request is a view of a popular item by a new
  shopper, acknowledged, then at once a recommendation request for that shopper; it reflects
  the event when an item's reason names the viewed item ("because you viewed <title>");
- durable ingest: sequential batched ``POST /v1/events``, events/s;
- in-process ``Service.recommend`` p50 / p99 (no HTTP), after the server has stopped.

The client is aiohttp (far less CPU per request than httpx), because on a small machine the
load generator shares the cores with the server.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from threadpoolctl import threadpool_limits

from shoprec.data import Interactions
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import train_and_publish
from shoprec.models import (
    BaseRecommender,
    EmbeddingModel,
    FitOptions,
    ModelVersions,
    read_artifact_meta,
)
from shoprec.serving import Service
from shoprec.settings import ServingSettings, Settings
from shoprec.types import Columns

#: Keep-alive connections of the load generator (requests beyond wait for one).
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


def build_home(
    home: Path,
    data: Interactions,
    model: str,
    model_dir: Path | None,
    progress: Callable[[str], None],
) -> None:
    """Store ``data`` under ``home``; publish ``model_dir`` (a copy) or a new ``model``."""
    home.mkdir(parents=True, exist_ok=True)
    progress(f"storing {data.n_events:,} events and {data.n_items:,} items")
    with SQLiteCatalog(home / "shoprec.db") as catalog:
        catalog.upsert(data.items)
    with SQLiteEventStore(home / "shoprec.db") as store:
        events = data.events
        store.append_many(events.slice(o, 50_000) for o in range(0, events.height, 50_000))
    versions = ModelVersions(home / "models")
    if model_dir is not None:
        progress(f"publishing a copy of {model_dir}")
        target = versions.new_version(read_artifact_meta(model_dir)["model"])
        shutil.copytree(model_dir, target)
        versions.publish(target)
    else:
        progress(f"training {model}")
        train_and_publish(data, model, {}, versions, FitOptions(), validate=False)


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    """``shoprec serve`` on ``home`` in a child process (model reloads off: nothing changes)."""
    env = {
        **os.environ,
        "SHOPREC_HOME": str(home),
        "SHOPREC_SERVING__RELOAD_INTERVAL_S": "0",
    }
    command = [sys.executable, "-m", "shoprec", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


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


def _percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    values = np.asarray(ms)
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
    }


async def drive(
    session: aiohttp.ClientSession,
    base: str,
    users: list[str],
    probe: tuple[str, str],
    spec: LoadSpec,
) -> dict[str, Any]:
    """Open-loop load: request ``i`` leaves at ``i / rate`` s; latency, errors, freshness."""
    latencies: list[float] = []
    sent: list[float] = []  # when each timed request left, seconds into the run
    errors = fresh_hits = fresh_total = 0
    item, title = probe
    rng = np.random.default_rng(0)

    async def recommend(user: str) -> None:
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

    async def fresh(i: int) -> None:
        nonlocal errors, fresh_hits, fresh_total
        user = f"bench-fresh-{i}"
        event = {"user_id": user, "item_id": item, "event_type": "view"}
        try:
            async with session.post(f"{base}/v1/events", json=event) as ack:
                await ack.read()
                acked = ack.status == 200
            async with session.get(f"{base}/v1/users/{user}/recommendations?n=10") as response:
                body = await response.json() if response.status == 200 else None
        except aiohttp.ClientError:
            errors += 1
            return
        if not acked or body is None:
            errors += 1
            return
        fresh_total += 1
        fresh_hits += any(f"you viewed {title}" in r["reason"] for r in body["items"])

    tasks: list[asyncio.Task[None]] = []
    # The generator's own collector pauses would be billed to the server as latency: none
    # during the timed run (a minute of load leaves a few MB of garbage).
    gc.collect()
    gc.disable()
    began = time.perf_counter()
    try:
        for i in range(int(spec.rate * spec.duration)):
            delay = began + i / spec.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if spec.fresh_every and i % spec.fresh_every == spec.fresh_every - 1:
                tasks.append(asyncio.create_task(fresh(i)))
            else:
                user = users[int(rng.integers(len(users)))]
                tasks.append(asyncio.create_task(recommend(user)))
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    elapsed = time.perf_counter() - began
    return {
        "requests": len(tasks),
        "achieved_rps": len(tasks) / elapsed,
        **_percentiles(latencies),
        "errors": errors,
        "freshness": fresh_hits / fresh_total if fresh_total else float("nan"),
        "fresh_probes": fresh_total,
        "timeline": per_second(sent, latencies),
    }


def per_second(sent: list[float], ms: list[float]) -> list[dict[str, float]]:
    """Latency per second of the run (by send time): a stall shows as one bad second."""
    seconds = np.floor(np.asarray(sent)).astype(int)
    values = np.asarray(ms)
    return [
        {"second": int(t), "requests": int(n), **_percentiles(values[seconds == t].tolist())}
        for t, n in zip(*np.unique(seconds, return_counts=True), strict=True)
    ]


def plot_timeline(timeline: list[dict[str, float]], title: str, path: Path) -> None:
    """p50 / p99 / max latency per second of the run, as a PNG (log scale: stalls stand out)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import ScalarFormatter

    fig = Figure(figsize=(9, 3.5), layout="constrained")
    ax = fig.add_subplot()
    t = [row["second"] for row in timeline]
    for key, style in (("max_ms", ":"), ("p99_ms", "-"), ("p50_ms", "--")):
        ax.plot(t, [row[key] for row in timeline], style, label=key.removesuffix("_ms"))
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())  # 5, 10, 50 rather than 5x10^0 ...
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel("second of the run")
    ax.set_ylabel("HTTP latency (ms)")
    ax.set_title(title)
    ax.legend()
    FigureCanvasAgg(fig)  # attaches the Agg canvas savefig draws with
    fig.savefig(path, dpi=110)


async def ingest(
    session: aiohttp.ClientSession, base: str, items: list[str], batches: int, size: int
) -> float:
    """Events/s through ``batches`` sequential batched POSTs of ``size`` events each."""
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
        async with session.post(f"{base}/v1/events", json=body) as response:
            response.raise_for_status()
    return batches * size / (time.perf_counter() - start)


def in_process(home: Path, users: list[str], n: int) -> dict[str, float]:
    """p50 / p99 of ``Service.recommend`` (top 10) without HTTP, BLAS on one thread as served."""
    service = Service(Settings(home=home, serving=ServingSettings(reload_interval_s=0)))
    gc.collect()
    gc.freeze()  # as `shoprec serve` does after start-up
    times = []
    try:
        with threadpool_limits(limits=1):
            for user in users[:50]:  # warm-up
                service.recommend(service.user_request(user, n=10), user)
            for i in range(n):
                user = users[i % len(users)]
                request = service.user_request(user, n=10)
                start = time.perf_counter()
                service.recommend(request, user)
                times.append((time.perf_counter() - start) * 1000)
        recall = _index_recall(service, users[:200])
    finally:
        gc.unfreeze()
        service.close()
    return {
        "in_process_p50_ms": float(np.percentile(times, 50)),
        "in_process_p99_ms": float(np.percentile(times, 99)),
        **recall,
    }


def _index_recall(service: Service, users: list[str]) -> dict[str, float]:
    """Recall@10 of the model source's vector index against brute force, when it has one."""
    source = next(iter(service.engine.pipelines.values())).sources["model"]
    index = getattr(source, "index", None)
    model = getattr(source, "model", None)
    if index is None or not isinstance(model, BaseRecommender):
        return {}
    assert isinstance(model, EmbeddingModel)  # the source indexes only such models
    histories = [service.state.get(u).query() for u in users]
    known = [q for q in histories if any(e.item_id in model.item_vocab for e in q.history)]
    queries = np.concatenate([model.query_embeddings(model.encode(q)) for q in known])
    return {"index_recall@10": index.recall(queries, k=10), "index_items": len(index.rows)}


async def _load(
    port: int, users: list[str], probe: tuple[str, str], items: list[str], spec: LoadSpec
) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await wait_ready(session, base)
        for user in users[:200]:  # warm-up: loads these shoppers' state, touches caches
            async with session.get(f"{base}/v1/users/{user}/recommendations") as response:
                await response.read()
        before = await _server_samples(session, base)
        result = await drive(session, base, users, probe, spec)
        after = await _server_samples(session, base)
        result["server_p99_ms_at_most"] = _bucket_quantile(
            _route_buckets(after), _route_buckets(before), 0.99
        )
        result |= _gc_pauses(after, before)
        if spec.ingest_batches:
            result["ingest_events_per_s"] = await ingest(
                session, base, items, spec.ingest_batches, spec.batch
            )
        if spec.max_rate_steps:
            result |= await max_sustainable_rate(session, base, users, probe, spec)
    return result


async def max_sustainable_rate(
    session: aiohttp.ClientSession,
    base: str,
    users: list[str],
    probe: tuple[str, str],
    spec: LoadSpec,
) -> dict[str, Any]:
    """The highest rate the server sustains: it keeps up and p99 stays within the target.

    From ``spec.rate``, the rate grows by half until a step fails, then the gap between the
    best sustained and the first failed rate is bisected; ``spec.max_rate_steps`` runs of
    ``spec.step_duration`` s in all (recommendation requests only).
    """
    good, bad = 0.0, float("inf")
    rate = spec.rate
    steps = []
    for _ in range(spec.max_rate_steps):
        step = replace(spec, rate=rate, duration=spec.step_duration, fresh_every=0)
        run = await drive(session, base, users, probe, step)
        kept = run["achieved_rps"] >= 0.98 * rate and run["errors"] == 0
        sustained = kept and run["p99_ms"] <= spec.p99_target_ms
        steps.append({"rate": rate, "sustained": sustained} | {k: run[k] for k in _STEP_KEYS})
        good, bad = (max(good, rate), bad) if sustained else (good, min(bad, rate))
        rate = 1.5 * rate if bad == float("inf") else (good + bad) / 2
    return {"max_sustainable_rps": good, "rate_steps": steps}


_STEP_KEYS = ("achieved_rps", "p50_ms", "p99_ms", "max_ms", "errors")


#: The route whose server-side time is read back from ``/metrics``.
_ROUTE = "/v1/users/{user_id}/recommendations"


async def _server_samples(session: aiohttp.ClientSession, base: str) -> list[Sample]:
    """Every sample the server's ``/metrics`` exposes now."""
    async with session.get(f"{base}/metrics") as response:
        text = await response.text()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _route_buckets(samples: list[Sample]) -> dict[float, float]:
    """Cumulative bucket counts (upper bound in s -> requests) of the route's handler time."""
    return {
        float(s.labels["le"]): s.value
        for s in samples
        if s.name == "shoprec_http_request_seconds_bucket" and s.labels.get("route") == _ROUTE
    }


def _gc_pauses(after: list[Sample], before: list[Sample]) -> dict[str, float]:
    """The server's full (generation 2) collections in between: how many, total pause ms."""

    def total(samples: list[Sample], name: str) -> float:
        key = f"shoprec_gc_pause_seconds_{name}"
        return sum(s.value for s in samples if s.name == key and s.labels["generation"] == "2")

    return {
        "server_full_gcs": total(after, "count") - total(before, "count"),
        "server_full_gc_ms": 1000 * (total(after, "sum") - total(before, "sum")),
    }


def _bucket_quantile(after: dict[float, float], before: dict[float, float], q: float) -> float:
    """The smallest bucket bound (ms) holding the ``q`` quantile of the requests in between.

    Server-side time (routing to response) against the client's: the gap is time spent
    queued (in the event loop, the kernel or the client), not in the handler.
    """
    counts = {le: n - before.get(le, 0.0) for le, n in sorted(after.items())}
    total = counts.get(float("inf"), 0.0)
    for le, n in counts.items():
        if total and n >= q * total:
            return le * 1000
    return float("nan")


def bench_serve(
    data: Interactions,
    home: Path,
    spec: LoadSpec,
    model: str = "ease",
    model_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Build a home for ``data``, serve it in a child process, load it; the figures as a dict.

    Args:
        data: The dataset (events and catalogue).
        home: An empty folder for the service's store and models.
        spec: The load.
        model: Model to train when ``model_dir`` is not given.
        model_dir: An already trained model artifact to serve.
        progress: Receives one line per phase.
    """
    build_home(home, data, model, model_dir, progress)
    counts = data.events.group_by(Columns.USER).len().sort("len", descending=True)
    users = counts[Columns.USER].head(2000).to_list()
    popular = data.events[Columns.ITEM].value_counts(sort=True)[Columns.ITEM][0]
    titles = dict(zip(data.items[Columns.ITEM], data.items[Columns.TITLE], strict=True))
    probe = (popular, titles.get(popular) or popular)
    port = free_port()
    progress(f"serving on 127.0.0.1:{port}; {spec.rate:g} req/s for {spec.duration:g} s")
    server = start_server(home, port)
    try:
        result = asyncio.run(_load(port, users, probe, data.item_vocab.ids, spec))
    finally:
        server.terminate()
        server.wait(timeout=60)
    if spec.in_process:
        progress("timing in-process recommend")
        result |= in_process(home, users, spec.in_process)
    return {
        "model": model_dir.name if model_dir is not None else model,
        "rate": spec.rate,
        "duration_s": spec.duration,
        **result,
        "n_items": data.n_items,
        "n_events": data.n_events,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_avg_1m": os.getloadavg()[0],
    }
