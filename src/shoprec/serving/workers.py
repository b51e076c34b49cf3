"""The app of one server process, alone or as one of ``shoprec serve --workers N``.

With several workers uvicorn starts each process itself and builds its app by importing
:func:`worker_app`, so the settings travel as a JSON file named by an environment variable
(the factory is the service's edge, where reading files and the environment belongs).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from fastapi import FastAPI
from threadpoolctl import threadpool_limits

from shoprec.errors import ConfigError
from shoprec.settings import Settings, load_settings

from .app import create_app

#: Environment variable naming the settings file of ``shoprec serve --workers N``.
SETTINGS_ENV = "SHOPREC_SERVE_SETTINGS"


def check_workers(settings: Settings) -> None:
    """Refuse several workers unless live state is shared (``state_url``).

    Raises:
        ConfigError: ``serving.workers`` > 1 with live state in process memory. (The
            embedded SQLite store is fine: processes on one machine share its file.)
    """
    workers = settings.serving.workers
    if workers == 1:
        return
    if settings.state_url is None:
        # Each process would keep its own shoppers' state: an event sent to one worker would
        # be missing from another's next answer (read-your-writes broken).
        raise ConfigError(
            f"serving.workers={workers} needs shared live state: set state_url "
            "(SHOPREC_STATE_URL=redis://...) or run one worker (docs/scaling.md)"
        )


def server_app(settings: Settings) -> FastAPI:
    """The app for this process, tuned for serving (BLAS on one thread, long-lived objects frozen).

    One request's vector work is small: threaded BLAS would only spin against the event loop
    (measured: a 12k-item cosine search took 7 ms with threads under load, 0.1 ms without).
    The catalogue mirror, vocabularies and indexes are millions of long-lived objects: left to
    the cyclic GC, each full collection walked them all (multi-second pauses with a 1M-item
    catalogue). Frozen, they are never scanned; objects made per request still are.
    """
    threadpool_limits(limits=1)
    app = create_app(settings)
    app.state.unwatch_gc = app.state.service.metrics.watch_gc()
    gc.collect()
    gc.freeze()
    return app


def worker_app() -> FastAPI:
    """The app factory uvicorn calls in each worker process (settings from :data:`SETTINGS_ENV`).

    Raises:
        ConfigError: The variable is not set or its file is unreadable or invalid.
    """
    path = os.environ.get(SETTINGS_ENV)
    if not path:
        raise ConfigError(f"{SETTINGS_ENV} is not set: start workers with `shoprec serve`")
    return server_app(load_settings(Path(path)))
