"""Serving: the HTTP service (FastAPI app factory, routes, security, metrics, experiments).

Owns turning HTTP requests into calls on the pipeline, the event store and the live state; it
holds no recommendation logic. :class:`Service` is a facade over the live side
(:class:`LiveData` on the stores :func:`open_backends` opens), the models in service
(:class:`ModelEngine`) and :class:`Retraining`; ``routes/`` has one router per resource. May
import every layer below (``pipeline``, ``settings``, ``jobs``, ``events``, ...); only ``cli``
and ``loadtest`` import it.
"""

from .app import create_app
from .backends import DEFAULT_VARIANT, Backends, configured_variants, open_backends
from .dependencies import get_service
from .engine import Engine, ModelEngine
from .errors import (
    HTTP_STATUS,
    BusyError,
    NotFoundError,
    NotReadyError,
    http_status,
)
from .experiments import (
    RECOMMENDATION_ID,
    Experiment,
    ExperimentCounters,
    MemoryCounters,
    RedisCounters,
    VariantCounts,
)
from .live import LiveData
from .metrics import ServiceMetrics
from .retraining import Retraining
from .security import API_KEY_HEADER, key_matches
from .service import Served, Service
from .workers import SETTINGS_ENV, check_workers, server_app, worker_app

__all__ = [
    "API_KEY_HEADER",
    "DEFAULT_VARIANT",
    "HTTP_STATUS",
    "RECOMMENDATION_ID",
    "SETTINGS_ENV",
    "Backends",
    "BusyError",
    "Engine",
    "Experiment",
    "ExperimentCounters",
    "LiveData",
    "MemoryCounters",
    "ModelEngine",
    "NotFoundError",
    "NotReadyError",
    "RedisCounters",
    "Retraining",
    "Served",
    "Service",
    "ServiceMetrics",
    "VariantCounts",
    "check_workers",
    "configured_variants",
    "create_app",
    "get_service",
    "http_status",
    "key_matches",
    "open_backends",
    "server_app",
    "worker_app",
]
