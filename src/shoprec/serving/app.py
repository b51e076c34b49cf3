"""The ASGI application factory: the service, the routers, middleware and error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import shoprec
from shoprec.settings import Settings
from shoprec.web import mount_pages

from .errors import install_error_handlers
from .metrics import MetricsMiddleware
from .openapi import document_limits
from .routes import V1_ROUTERS, health
from .security import BodyLimitMiddleware, RateLimiter, RateLimitMiddleware
from .service import Service
from .stats import LiveStats, StatsMiddleware


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """Build the service's FastAPI app.

    The routes find the service and the dashboard counters on ``app.state`` through
    dependencies (:mod:`shoprec.serving.dependencies`).

    Args:
        settings: Effective settings (home folder, serving options).
        service: An already built :class:`Service` (default: one built from ``settings``).
            The app closes the service when it shuts down.

    Returns:
        The app; OpenAPI docs at ``/docs``, the API under ``/v1``, the demo shop at ``/shop``
        (``/`` redirects there) and the operator dashboard at ``/dashboard``.
    """
    svc = service if service is not None else Service(settings)
    cfg = settings.serving

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc.start_watcher()
        try:
            yield
        finally:
            svc.close()

    app = FastAPI(
        title="shoprec",
        version=shoprec.__version__,
        description="Real-time personalised recommendations: events in, fresh results out.",
        lifespan=lifespan,
    )
    app.state.service = svc
    app.state.stats = stats = LiveStats()
    for router in V1_ROUTERS:
        app.include_router(router)
    mount_pages(app)
    app.include_router(health.router)
    install_error_handlers(app)
    document_limits(app, cfg)
    if cfg.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cfg.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=cfg.max_body_bytes)
    if cfg.rate_limit_per_s is not None:
        limiter = RateLimiter(cfg.rate_limit_per_s, cfg.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(MetricsMiddleware, metrics=svc.metrics)
    app.add_middleware(StatsMiddleware, stats=stats)
    return app
