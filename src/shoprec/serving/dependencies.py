"""FastAPI dependencies of the routes: the app's service and stats, API keys, the ``n`` limit.

Handlers receive the :class:`Service` as ``service: ServiceDep``; tests may replace it with
``app.dependency_overrides[get_service]``. Key checks and limits read the service's settings
at request time, so no route captures configuration when it is defined.

Every dependency is ``async``: each is far cheaper than the hop to the threadpool and back
that FastAPI takes for a plain ``def`` dependency, on every request that uses it.
"""

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from shoprec.types import UserId

from .security import API_KEY_HEADER, TOKEN_HEADER, Access, check_key, check_shopper
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
_ApiKey = Annotated[
    str | None, Header(alias=API_KEY_HEADER, description="API key (see docs/security.md).")
]
_Token = Annotated[
    str | None,
    Header(alias=TOKEN_HEADER, description="A shopper token for this shopper's own data."),
]


async def read_key(service: ServiceDep, x_api_key: _ApiKey = None) -> None:
    """Demand a key when ``read_keys`` are set (write and admin keys may read too)."""
    check_key(x_api_key, service.config, Access.READ)


async def write_key(service: ServiceDep, x_api_key: _ApiKey = None) -> None:
    """Demand a write or admin key once any key is configured."""
    check_key(x_api_key, service.config, Access.WRITE)


async def admin_key(service: ServiceDep, x_api_key: _ApiKey = None) -> None:
    """Demand an admin key once any key is configured."""
    check_key(x_api_key, service.config, Access.ADMIN)


#: Route guards, for ``dependencies=[...]``.
READ = Depends(read_key)
WRITE = Depends(write_key)
ADMIN = Depends(admin_key)


class ShopperGate:
    """Checks a request's key or shopper token against the shoppers it reads or acts for."""

    def __init__(self, service: Service, key: str | None, token: str | None) -> None:
        self._config = service.config
        self._key = key
        self._token = token

    def require(self, user_ids: Sequence[UserId], access: Access = Access.READ) -> None:
        """Raise 401/403 unless the request may ``access`` these shoppers' data."""
        check_shopper(user_ids, self._key, self._token, self._config, access)

    def require_read(self) -> None:
        """Raise 401/403 unless the request may read what is not a shopper's (see READ)."""
        check_key(self._key, self._config, Access.READ)


async def shopper_gate(
    service: ServiceDep, x_api_key: _ApiKey = None, x_shopper_token: _Token = None
) -> ShopperGate:
    """The request's :class:`ShopperGate`."""
    return ShopperGate(service, x_api_key, x_shopper_token)


async def shopper_in_path(user_id: UserIdPath, gate: "ShopperGateDep") -> None:
    """Demand a server key or the token of the shopper the path names."""
    gate.require([user_id])


ShopperGateDep = Annotated[ShopperGate, Depends(shopper_gate)]
#: Guard of routes under ``/users/{user_id}`` that reveal the shopper's data.
SHOPPER = Depends(shopper_in_path)


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
