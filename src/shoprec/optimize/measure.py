"""What a model costs and how well it ranks: size, parameters, latency, throughput, HR/NDCG."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from shoprec.data import EvalSet
from shoprec.evaluation import evaluate
from shoprec.models import BaseRecommender
from shoprec.types import Query

#: Metric cut-offs reported for every model.
KS = (10, 20)


def artifact_size_mb(path: Path) -> float:
    """Total size of an artifact directory's files in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def parameter_count(model: BaseRecommender) -> int | None:
    """The model's own parameter count, when it reports one."""
    count = getattr(model, "parameter_count", None)
    return int(count()) if callable(count) else None


def _queries(model: BaseRecommender, cases: EvalSet, n: int, seed: int) -> list[Query]:
    ids = model.item_vocab.ids
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(cases), size=min(n, len(cases)), replace=False)
    return [Query.from_items([ids[i] for i in cases.histories.items_of(int(r))]) for r in rows]


def latency_ms(
    model: BaseRecommender, cases: EvalSet, n: int = 300, seed: int = 0
) -> dict[str, float]:
    """In-process ``recommend(query, k=10)`` time for one history (seen items excluded), ms.

    The same seeded histories for every model; 20 warm-up calls are not timed. BLAS and
    OpenMP (torch's intra-op pool too) run on one thread, as in ``shoprec serve``: a single
    history is too small to split, and threads only contend (2 threads: ~5x slower here).
    """
    queries = _queries(model, cases, n, seed)
    times = []
    with threadpool_limits(limits=1):
        for q in queries[:20]:
            model.recommend(q, k=10)
        for q in queries:
            start = time.perf_counter()
            model.recommend(q, k=10)
            times.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
    }


def throughput(model: BaseRecommender, cases: EvalSet, batch: int = 512, repeats: int = 3) -> float:
    """Histories/s of ``score_batch`` on ``batch`` histories (best of ``repeats``)."""
    histories = cases.histories.take(np.arange(min(batch, len(cases))))
    model.score_batch(histories)  # warm-up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        model.score_batch(histories)
        best = min(best, time.perf_counter() - start)
    return float(len(histories) / best)


def measure_model(
    name: str,
    model: BaseRecommender,
    cases: EvalSet,
    latency_queries: int = 300,
    artifact: Path | None = None,
) -> dict[str, Any]:
    """One row: size (saved artifact), params, p50/p99 latency, throughput, HR/NDCG over ``cases``.

    Args:
        name: Row name (e.g. ``"sasrec-int8"``).
        model: A fitted model.
        cases: Evaluation cases (leave-one-out test), whole catalogue, seen items excluded.
        latency_queries: Histories timed one by one.
        artifact: Where to keep the saved artifact (default: a temporary folder).
    """
    if artifact is not None:
        model.save(artifact)
        size = artifact_size_mb(artifact)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp))
            size = artifact_size_mb(Path(tmp))
    row: dict[str, Any] = {
        "model": name,
        "key": model.key,
        "size_mb": size,
        "params": parameter_count(model),
    }
    nonzero = getattr(model, "nonzero_parameter_count", None)
    if callable(nonzero):
        row["nonzero_params"] = int(nonzero())
    row |= latency_ms(model, cases, latency_queries)
    row["histories_per_s"] = throughput(model, cases)
    start = time.perf_counter()
    row |= evaluate(model, cases, ks=KS)
    row["eval_seconds"] = time.perf_counter() - start
    return row
