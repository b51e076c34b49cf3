"""FastAPI dependencies of the routes: the app's service and stats, API keys, the ``n`` limit.

Handlers receive the :class:`Service` as ``service: ServiceDep``; tests may replace it with
``app.dependency_overrides[get_service]``. Key checks and limits read the service's settings
at request time, so no route captures configuration when it is defined.

Every dependency is ``async``: each is far cheaper than the hop to the threadpool and back
that FastAPI takes for a plain ``def`` dependency, on every request that uses it.
"""

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from .security import API_KEY_HEADER, check_key
from .service import Service
from .stats import LiveStats


async def get_service(request: Request) -> Service:
    """The service of the app serving the request (``app.state.service``)."""
    service: Service = request.app.state.service
    return service


async def get_stats(request: Request) -> LiveStats:
    """The dashboard's live counters of the app serving the request (``app.state.stats``)."""
    stats: LiveStats = request.app.state.stats
    return stats


_PathId = Annotated[str, Path(min_length=1, max_length=256)]
#: An item id in a route's path.
ItemIdPath = _PathId
#: A user id in a route's path.
UserIdPath = _PathId

ServiceDep = Annotated[Service, Depends(get_service)]
StatsDep = Annotated[LiveStats, Depends(get_stats)]
_ApiKey = Annotated[str | None, Header(alias=API_KEY_HEADER)]


async def read_key(service: ServiceDep, x_api_key: _ApiKey = None) -> None:
    """Demand a read key when ``read_keys`` are set (write and admin keys may read too)."""
    cfg = service.config
    check_key(x_api_key, cfg.read_keys, [*cfg.write_keys, *cfg.admin_keys])


async def write_key(service: ServiceDep, x_api_key: _ApiKey = None) -> None:
    """Demand a write key when ``write_keys`` are set (admin keys may write too)."""
    cfg = service.config
    check_key(x_api_key, cfg.write_keys, cfg.admin_keys)


async def admin_key(service: ServiceDep, x_api_key: _ApiKey = None) -> None:
    """Demand an admin key when ``admin_keys`` are set."""
    check_key(x_api_key, service.config.admin_keys)


#: Route guards, for ``dependencies=[...]``.
READ = Depends(read_key)
WRITE = Depends(write_key)
ADMIN = Depends(admin_key)


async def item_count(
    request: Request,
    service: ServiceDep,
    n: Annotated[int, Query(ge=1, description="How many items.")] = 10,
) -> int:
    """``?n=``, at most ``serving.max_n``.

    The upper bound is a setting, so it is checked here rather than declared on the type; as a
    declared bound would, it applies to an ``n`` the client sent (not to the default) and its
    422 reads like FastAPI's own.
    """
    max_n = service.config.max_n
    if n > max_n and "n" in request.query_params:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal",
                    "loc": ("query", "n"),
                    "msg": f"Input should be less than or equal to {max_n}",
                    "input": n,
                    "ctx": {"le": max_n},
                }
            ]
        )
    return n


#: How many items a ``GET`` recommendation route returns.
ItemCount = Annotated[int, Depends(item_count)]
