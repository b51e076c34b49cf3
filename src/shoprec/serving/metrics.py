"""Prometheus metrics of the service: requests, latency, events, errors, model, state sizes."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Fine buckets at the low end: the targets are single-digit milliseconds.
LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0)


class ServiceMetrics:
    """The service's metrics in their own registry (one per app, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "shoprec_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "shoprec_http_request_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "shoprec_http_errors", "Responses with status >= 500", ["route"], registry=r
        )
        self.events = Counter("shoprec_events_ingested", "Events acknowledged", registry=r)
        self.model = Gauge(
            "shoprec_model_info", "The model version serving (value 1)", ["version"], registry=r
        )
        self.impressions = Counter(
            "shoprec_experiment_impressions", "Responses per variant", ["variant"], registry=r
        )
        self.clicks = Counter(
            "shoprec_experiment_clicks", "Clicked responses per variant", ["variant"], registry=r
        )
        self.conversions = Counter(
            "shoprec_experiment_conversions",
            "Responses with a purchase per variant",
            ["variant"],
            registry=r,
        )
        self.item_learning_failures = Counter(
            "shoprec_item_learning_failures",
            "Catalogue writes a variant's model could not learn (it keeps its model)",
            ["variant"],
            registry=r,
        )
        self.state_size = Gauge("shoprec_live_state_users", "Shoppers held in memory", registry=r)
        self.catalog_size = Gauge("shoprec_catalog_items", "Items in the catalogue", registry=r)

    def watch_gc(self) -> Callable[[], None]:
        """Time every cyclic garbage collection of this process; returns the un-watch call.

        A full collection stops the event loop: its pauses show up as latency stalls, and
        this histogram tells them apart from slow handlers. The collector's callbacks are
        process-wide, so the server registers this once (tests build many apps).
        """
        pauses = Histogram(
            "shoprec_gc_pause_seconds",
            "Cyclic garbage collector pauses",
            ["generation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        started = 0.0

        def callback(phase: str, info: dict[str, int]) -> None:
            nonlocal started
            if phase == "start":
                started = time.perf_counter()
            else:
                pauses.labels(str(info["generation"])).observe(time.perf_counter() - started)

        gc.callbacks.append(callback)
        return lambda: gc.callbacks.remove(callback)

    def watch_sizes(self, state: Callable[[], int], catalog: Callable[[], int]) -> None:
        """Read the live-state and catalogue sizes at each scrape."""
        self.state_size.set_function(lambda: float(state()))
        self.catalog_size.set_function(lambda: float(catalog()))

    def model_version(self, version: str) -> None:
        """Report ``version`` as the one serving."""
        self.model.clear()
        self.model.labels(version=version).set(1)


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request by its route template.

    Args:
        app: The wrapped application.
        metrics: Where to record.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request and record its route, status and latency."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - start)
            self.metrics.requests.labels(route, method, str(status)).inc()
            if status >= 500:
                self.metrics.errors.labels(route).inc()
