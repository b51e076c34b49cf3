"""Serving: the HTTP service (FastAPI app factory, routes, security, metrics, experiments).

Owns turning HTTP requests into calls on the pipeline, the event store and the live state; it
holds no recommendation logic. May import every layer below (``pipeline``, ``settings``,
``jobs``, ``events``, ...); only ``cli`` imports it.
"""

from .app import create_app
from .experiments import RECOMMENDATION_ID, Experiment, VariantCounts
from .metrics import ServiceMetrics
from .security import API_KEY_HEADER, key_matches
from .service import (
    DEFAULT_VARIANT,
    Engine,
    NotFoundError,
    NotReadyError,
    Served,
    Service,
    TooLargeError,
)

__all__ = [
    "API_KEY_HEADER",
    "DEFAULT_VARIANT",
    "RECOMMENDATION_ID",
    "Engine",
    "Experiment",
    "NotFoundError",
    "NotReadyError",
    "Served",
    "Service",
    "ServiceMetrics",
    "TooLargeError",
    "VariantCounts",
    "create_app",
    "key_matches",
]
