"""The HTTP API: one router per resource, each handler a translation to one service call.

Handlers take the :class:`~shoprec.serving.service.Service` from a dependency
(:mod:`shoprec.serving.dependencies`), call it, and answer with a response model of
:mod:`shoprec.serving.schemas`; errors are mapped centrally (:mod:`shoprec.serving.errors`).

Handlers that write (durable appends wait for the disk) are plain ``def`` functions, which
FastAPI runs in its threadpool. Recommendation handlers are ``async`` and score inline: they
only use the CPU, which the GIL would serialise anyway, and a hop to the threadpool and back
cost about as much as a request's whole pipeline.
"""

from . import admin, campaigns, catalogue, coupons, events, health, recommendations, shoppers, shops

#: The versioned API under ``/v1``, one router per resource. (Each router carries the whole
#: prefix itself: the metrics label a request by its route's own path.)
V1_ROUTERS = (
    events.router,
    recommendations.router,
    # Before the catalogue: its /items/{item_id} would take "trending" for an item id.
    shops.router,
    catalogue.router,
    shoppers.router,
    coupons.router,
    campaigns.router,
    admin.router,
    shops.admin,
)

__all__ = ["V1_ROUTERS", "health"]
