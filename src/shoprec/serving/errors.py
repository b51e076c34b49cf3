"""The service's own errors, and the one place every error becomes an HTTP response.

The serving errors join the tree of :mod:`shoprec.errors`::

    ShoprecError                        400 unless a more specific class below says otherwise
    ├── DataError
    │   └── ValidationError             422, ``{"detail", "errors": [{field, line, message}]}``
    ├── StoreError                      503 (BackendUnavailableError included)
    ├── ModelError
    │   └── ArtifactError               503
    ├── NotReadyError (here)            503: no model to recommend with yet
    ├── NotFoundError (here)            404: no such item
    └── BusyError (here)                409: the work is already running

The statuses live in one table, :data:`HTTP_STATUS`, not on the classes: the core errors sit
in the lowest layer and must not know about HTTP. An error takes the status of the most
specific class of its MRO found in the table. FastAPI's own request validation errors are
answered in the same shape as :class:`ValidationError` (422, each field named).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shoprec.errors import ArtifactError, ShoprecError, StoreError, ValidationError


class NotReadyError(ShoprecError):
    """The service has no model to recommend with yet (answered with 503)."""


class NotFoundError(ShoprecError):
    """The requested item does not exist (answered with 404)."""


class BusyError(ShoprecError):
    """The requested work is already running (answered with 409)."""


#: HTTP status per error class; an error takes the entry of the first class of its MRO here.
HTTP_STATUS: dict[type[ShoprecError], int] = {
    ValidationError: 422,
    NotFoundError: 404,
    BusyError: 409,
    NotReadyError: 503,
    StoreError: 503,
    ArtifactError: 503,
    ShoprecError: 400,
}

# Pydantic's tags for the two shapes of ``POST /v1/events``: not part of a field's path.
_UNION_TAGS = {"event", "batch"}


def http_status(exc: ShoprecError) -> int:
    """The HTTP status answering ``exc`` (see :data:`HTTP_STATUS`)."""
    return next(HTTP_STATUS[cls] for cls in type(exc).__mro__ if cls in HTTP_STATUS)


def _field(loc: Sequence[Any]) -> str:
    """``("body", "batch", "events", 1, "event_type")`` -> ``"body.events.1.event_type"``."""
    parts = [str(p) for i, p in enumerate(loc) if not (i == 1 and p in _UNION_TAGS)]
    return ".".join(parts)


async def shoprec_error(request: Request, exc: ShoprecError) -> JSONResponse:
    """Answer any :class:`ShoprecError` with its status and ``{"detail": message}``."""
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, ValidationError):
        body = {
            "detail": str(exc.problems[0]) if exc.problems else str(exc),
            "errors": [
                {"field": p.field, "line": p.line, "message": p.message} for p in exc.problems
            ],
        }
    return JSONResponse(body, status_code=http_status(exc))


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Answer a request FastAPI could not parse with 422, naming each field."""
    errors = [{"field": _field(e["loc"]), "line": None, "message": e["msg"]} for e in exc.errors()]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    detail = f"{first['field']}: {first['message']}"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's answer, except that a 405 lists every method of the path in ``Allow``.

    Routing stops at the first route whose path matches, so Starlette's ``Allow`` names only
    that route's methods, while ``GET``, ``PATCH`` and ``DELETE /v1/items/{id}`` are three
    routes of one resource: the OpenAPI document lists them all. Where several paths match,
    the most specific one (fewest parameters: ``/v1/items/trending`` over
    ``/v1/items/{id}``) is the resource, as it is for routing.
    """
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    path = request.url.path
    matching = {
        template: operations
        for template, operations in request.app.openapi()["paths"].items()
        if compile_path(template)[0].match(path)
    }
    fewest = min((t.count("{") for t in matching), default=0)
    allowed = sorted(
        method.upper()
        for template, operations in matching.items()
        if template.count("{") == fewest
        for method in operations
    )
    return JSONResponse(
        {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: shoprec's errors, request validation, HTTP errors."""
    app.exception_handler(ShoprecError)(shoprec_error)
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(StarletteHTTPException)(http_error)
