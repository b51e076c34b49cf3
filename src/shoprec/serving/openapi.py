"""What the OpenAPI document says beyond the routes' own types: error statuses and live limits.

Every error the API returns has one body shape, :class:`ErrorBody`; each router lists the
statuses its routes can answer with (:func:`errors`), so a client generated from the document
knows every outcome. Limits that are settings (``max_n``, ``max_batch_size``, the scenarios,
the clock skew of event times) are written into the document of each app as it is served, so
the document states the limits this service enforces, not the defaults. (One limit is the
HTTP server's, not the app's: a request line or header over 64 KiB gets uvicorn's plain 400.)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from shoprec.settings import ServingSettings

from .live import EARLIEST_TIMESTAMP, latest_event_time


class FieldError(BaseModel):
    """One problem with the request: where it is and what is wrong."""

    field: str | None
    """Dotted location (``body.events.1.timestamp``, ``query.n``), when it is one field."""
    line: int | None = None
    """Row within a batch, when the problem is in one."""
    message: str
    """What is wrong."""


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str
    """One line saying what went wrong (the first problem, for a 422)."""
    errors: list[FieldError] | None = None
    """Every problem found (422 only)."""


_MEANING = {
    400: "The body is not parseable JSON (or not UTF-8).",
    401: "An API key (X-API-Key) or shopper token (X-Shopper-Token) is needed.",
    403: "The key or token does not allow this (or this kind of route is closed).",
    404: "No such item in the catalogue (or known to the model).",
    409: "The work is already running.",
    413: "The body, or the number of events or items in it, is over the limit.",
    422: "A field is invalid: each problem is named in `errors`.",
    429: "Too many requests from this client: retry after the `Retry-After` seconds.",
    503: "Not ready: no model is loaded yet, or a backend (PostgreSQL, Redis) is gone.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting ``statuses`` with :class:`ErrorBody`."""
    return {s: {"model": ErrorBody, "description": _MEANING[s]} for s in statuses}


#: Statuses every ``/v1`` route may answer with.
COMMON = (422, 429, 503)
#: Statuses of routes that take a JSON body.
BODY = (400, 413)
#: Statuses of routes behind a key or a shopper token.
GUARDED = (401, 403)


def document_limits(app: FastAPI, config: ServingSettings) -> None:
    """Make ``app.openapi()`` state this service's configured limits.

    The document is built once; only the latest event time allowed (now plus the clock
    skew) is refreshed each time it is served.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        schemas = document["components"]["schemas"]
        for name in ("Event",):
            stamp = schemas[name]["properties"]["timestamp"]
            stamp["minimum"] = EARLIEST_TIMESTAMP
            stamp["maximum"] = latest_event_time(config.max_clock_skew_s)
        schemas["EventBatch"]["properties"]["events"]["maxItems"] = config.max_batch_size
        schemas["ItemBatch"]["properties"]["items"]["maxItems"] = config.max_batch_size
        for batch, field in (("CouponBatch", "coupons"), ("CampaignBatch", "campaigns")):
            schemas[batch]["properties"][field]["maxItems"] = config.max_batch_size
        query = schemas["RecommendationQuery"]["properties"]
        query["n"]["maximum"] = config.max_n
        scenarios = sorted(config.pipeline.scenarios)
        query["scenario"] = {"anyOf": [{"enum": scenarios}, {"type": "null"}]}
        for path in document["paths"].values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] != "query":
                        continue
                    if parameter["name"] == "n":
                        parameter["schema"]["maximum"] = config.max_n
                    elif parameter["name"] == "scenario":
                        parameter["schema"] = {"enum": scenarios, "default": "home"}
        return document

    app.openapi = openapi  # type: ignore[method-assign]
