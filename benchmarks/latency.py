"""In-process single-request latency of ``recommend()`` per model on a shared dataset.

Each model is fit on the leave-one-out ``test_train`` log; then, one request at a time, it
recommends the top 10 (seen items excluded) for real test histories. Reported: p50 / p99 of
the whole ``recommend(Query)`` call (query encoding, scoring the whole catalogue, exclusion,
top-k) and of ``score_batch`` alone, after a warm-up.

Usage::

    python benchmarks/latency.py                                   # Beauty, four baselines
    python benchmarks/latency.py --models ease,covisit --requests 2000
    python benchmarks/latency.py --artifacts bench-output/compression-beauty/artifacts/*

``--artifacts`` times saved models instead of fitting baselines, exactly as the compression
benchmark's latency columns do (``shoprec.optimize.latency_ms``: the same 300 seeded test
histories, one thread): its table can be re-timed after a change without re-deriving it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from machine import describe
from rich.console import Console
from rich.table import Table

from shoprec.data import leave_one_out, load_dataset
from shoprec.models import FitOptions, create_model, load_model
from shoprec.optimize import latency_ms
from shoprec.types import HistoryEvent, Query

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    """Fit each model and time single requests."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "amazon_beauty")
    parser.add_argument("--models", default="popularity,covisit,ease,als")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--artifacts", type=Path, nargs="+", default=None)
    args = parser.parse_args()
    console = Console()
    console.print(describe(f"data: {args.data.name}"))
    split = leave_one_out(load_dataset(args.data))
    if args.artifacts:
        table = Table("artifact", "recommend p50 ms", "recommend p99 ms", title="saved models")
        for path in args.artifacts:
            timed = latency_ms(load_model(path), split.test)
            table.add_row(path.name, f"{timed['p50_ms']:.3f}", f"{timed['p99_ms']:.3f}")
        console.print(table)
        return
    cases = split.test.histories
    vocab = split.test_train.item_vocab.ids
    rows = np.random.default_rng(0).choice(len(cases), size=args.requests, replace=False)
    queries = [
        Query(
            user_id=cases.user_ids[r],
            history=tuple(HistoryEvent(vocab[i]) for i in cases.items_of(r)),
        )
        for r in rows
    ]
    table = Table(
        "model",
        "recommend p50 ms",
        "recommend p99 ms",
        "score_batch p50 ms",
        "fit s",
        title=f"single-request latency, top 10 of {split.test_train.n_items:,} items",
    )
    for key in args.models.split(","):
        model = create_model(key)
        start = time.perf_counter()
        model.fit(split.test_train, FitOptions(seed=0))
        fit_s = time.perf_counter() - start
        for query in queries[:50]:  # warm-up
            model.recommend(query, 10)
        full, core = [], []
        for query, r in zip(queries, rows, strict=True):
            t0 = time.perf_counter()
            model.recommend(query, 10)
            t1 = time.perf_counter()
            model.score_batch(cases.take([r]))
            core.append(time.perf_counter() - t1)
            full.append(t1 - t0)
        p50, p99 = _percentiles(full)
        table.add_row(
            key, f"{p50:.3f}", f"{p99:.3f}", f"{_percentiles(core)[0]:.3f}", f"{fit_s:.1f}"
        )
    console.print(table)


if __name__ == "__main__":
    main()
