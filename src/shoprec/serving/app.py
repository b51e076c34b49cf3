"""The ASGI application factory: routes, middleware, error mapping, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import shoprec
from shoprec.errors import ArtifactError, ShoprecError, StoreError, ValidationError
from shoprec.settings import Settings
from shoprec.web import mount_pages

from .metrics import MetricsMiddleware
from .routes import build_router
from .security import BodyLimitMiddleware
from .service import BusyError, NotFoundError, NotReadyError, Service, TooLargeError
from .stats import LiveStats, StatsMiddleware

# Pydantic's tags for the two shapes of ``POST /v1/events``: not part of a field's path.
_UNION_TAGS = {"event", "batch"}


def _field(loc: Sequence[Any]) -> str:
    """``("body", "batch", "events", 1, "event_type")`` -> ``"body.events.1.event_type"``."""
    parts = [str(p) for i, p in enumerate(loc) if not (i == 1 and p in _UNION_TAGS)]
    return ".".join(parts)


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": p.field, "line": p.line, "message": p.message} for p in exc.problems]


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """Build the service's FastAPI app.

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
    app.include_router(build_router(svc, stats))
    mount_pages(app)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}"
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(ShoprecError)
    async def shoprec_error(request: Request, exc: ShoprecError) -> JSONResponse:
        if isinstance(exc, ValidationError):
            return JSONResponse(
                {
                    "detail": str(exc.problems[0]) if exc.problems else str(exc),
                    "errors": _problems(exc),
                },
                status_code=422,
            )
        status = 400
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, BusyError):
            status = 409
        elif isinstance(exc, TooLargeError):
            status = 413
        elif isinstance(exc, NotReadyError | ArtifactError | StoreError):
            status = 503
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/health/live", tags=["health"])
    def live() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"])
    def ready() -> JSONResponse:
        """A model is loaded and the store answers (503 otherwise)."""
        try:
            version = svc.engine.version
            svc.store.last_seq()
        except ShoprecError as exc:
            return JSONResponse({"status": "not ready", "detail": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": version})

    @app.get("/metrics", tags=["health"])
    def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if cfg.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cfg.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=cfg.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=svc.metrics)
    app.add_middleware(StatsMiddleware, stats=stats)
    return app
