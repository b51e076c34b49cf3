"""``bench_serve``: one load, run against each configuration of the service in turn.

The embedded single process (SQLite + memory) always runs first; a :class:`Deployment` on
shared backends, when given, runs second on the same home (the same model folder) inside
scratch space of its backends, and is compared with the first. After each configuration's
servers stop, ``Service.recommend`` is timed in process on the same backends.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from threadpoolctl import threadpool_limits

from shoprec.data import Interactions
from shoprec.events import open_event_store
from shoprec.models import BaseRecommender, EmbeddingModel
from shoprec.serving import Service
from shoprec.settings import Settings

from .driver import CONNECTIONS, LoadSpec, drive, ingest, max_sustainable_rate
from .home import build_home, fill_stores, home_settings, scratch_prefix, scratch_schema, workload
from .machine import machine
from .report import bucket_quantile, compare, gc_pauses, route_buckets
from .servers import Deployment, Servers, server_samples, start_servers, wait_ready


def in_process(settings: Settings, users: list[str], n: int) -> dict[str, float]:
    """p50 / p99 of ``Service.recommend`` (top 10) without HTTP, BLAS on one thread as served."""
    service = Service(settings)
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
    servers: Servers,
    users: list[str],
    probe: tuple[str, str],
    items: list[str],
    spec: LoadSpec,
) -> dict[str, Any]:
    """Warm every replica up, then the timed load, the ingest and the rate search."""
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for base in servers.bases:
            await wait_ready(session, base)
        # Every shopper once before the timed run, round-robin: on Redis a shopper's state is
        # loaded from the event store at first sight (the memory state is rebuilt at start),
        # and each replica's caches get touched.
        for i, user in enumerate(users):
            base = servers.bases[i % len(servers.bases)]
            async with session.get(f"{base}/v1/users/{user}/recommendations") as response:
                await response.read()
        before = await server_samples(session, servers)
        result = await drive(session, servers, users, probe, spec)
        after = await server_samples(session, servers)
        result["server_p99_ms_at_most"] = bucket_quantile(
            route_buckets(after), route_buckets(before), 0.99
        )
        result |= gc_pauses(after, before)
        if spec.ingest_batches:
            result["ingest_events_per_s"] = await ingest(
                session, servers, items, spec.ingest_batches, spec.batch
            )
        if spec.max_rate_steps:
            result |= await max_sustainable_rate(session, servers, users, probe, spec)
    return result


def _run(
    data: Interactions,
    home: Path,
    deployment: Deployment,
    spec: LoadSpec,
    progress: Callable[[str], None],
    common: dict[str, Any],
) -> dict[str, Any]:
    """Serve ``home`` as ``deployment`` says, load it, then time it in process.

    ``common`` (what every configuration shares: model, load, dataset size) leads the figures
    after the configuration's own name and backends.
    """
    users, probe = workload(data)
    servers = start_servers(home, deployment)
    where = ", ".join(servers.bases)
    progress(f"{deployment.name}: serving on {where}; {spec.rate:g} req/s for {spec.duration:g} s")
    try:
        result = asyncio.run(_load(servers, users, probe, data.item_vocab.ids, spec))
    finally:
        servers.stop()
    settings = home_settings(home, deployment)
    if spec.in_process:
        progress(f"{deployment.name}: timing in-process recommend")
        result |= in_process(settings, users, spec.in_process)
    with closing(open_event_store(settings.events_url, settings.store_path)) as store:
        result["events_stored"] = store.count()
    return {
        "configuration": deployment.name,
        "replicas": deployment.replicas,
        "events": "sqlite" if deployment.events_url is None else "postgresql",
        "state": "memory" if deployment.state_url is None else "redis",
        **common,
        **result,
        "load_avg_1m": os.getloadavg()[0],
    }


def bench_serve(
    data: Interactions,
    home: Path,
    spec: LoadSpec,
    model: str = "ease",
    model_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
    deployment: Deployment | None = None,
) -> list[dict[str, Any]]:
    """Build a home for ``data``, serve it in child processes, load it; the figures per run.

    Args:
        data: The dataset (events and catalogue).
        home: An empty folder for the embedded store and the models.
        spec: The load, the same for every configuration.
        model: Model to train when ``model_dir`` is not given.
        model_dir: An already trained model artifact to serve.
        progress: Receives one line per phase.
        deployment: Shared backends and replicas to measure after the embedded default
            (``None``: the embedded default only). Its servers run in a scratch PostgreSQL
            schema and under a scratch Redis prefix, both removed afterwards.

    Returns:
        One dict per configuration: its name, backends and figures; the shared one also
        has ``scratch`` (the schema and prefix it used) and ``targets`` (:func:`compare`).
    """
    build_home(home, data, model, model_dir, progress)
    common = {
        "model": model_dir.name if model_dir is not None else model,
        "rate": spec.rate,
        "duration_s": spec.duration,
        "n_items": data.n_items,
        "n_events": data.n_events,
        "machine": machine(),
    }
    runs = [_run(data, home, Deployment(), spec, progress, common)]
    if deployment is None:
        return runs
    with ExitStack() as stack:
        events = state = None
        if deployment.events_url is not None:
            events = stack.enter_context(scratch_schema(deployment.events_url))
        if deployment.state_url is not None:
            state = stack.enter_context(scratch_prefix(deployment.state_url))
        shared = Deployment(
            deployment.replicas,
            events.url if events is not None else None,
            state.url if state is not None else None,
        )
        if events is not None:
            fill_stores(data, home_settings(home, shared), progress)
        run = _run(data, home, shared, spec, progress, common)
    run["scratch"] = {
        "schema": events.name if events is not None else None,
        "prefix": state.name if state is not None else None,
    }
    run["targets"] = compare(runs[0], run)
    return [*runs, run]
