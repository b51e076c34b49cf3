"""Process-level metrics of the service."""

from __future__ import annotations

import gc

from prometheus_client import generate_latest

from shoprec.serving.metrics import ServiceMetrics


def _collections(metrics: ServiceMetrics, generation: str) -> float:
    value = metrics.registry.get_sample_value(
        "shoprec_gc_pause_seconds_count", {"generation": generation}
    )
    return value or 0.0


def test_gc_pauses_are_timed_per_generation_until_unwatched() -> None:
    metrics = ServiceMetrics()
    unwatch = metrics.watch_gc()
    try:
        gc.collect()
        gc.collect(0)
        assert _collections(metrics, "2") >= 1 and _collections(metrics, "0") >= 1
        assert b"shoprec_gc_pause_seconds_bucket" in generate_latest(metrics.registry)
    finally:
        unwatch()
    before = _collections(metrics, "2")
    gc.collect()
    assert _collections(metrics, "2") == before
