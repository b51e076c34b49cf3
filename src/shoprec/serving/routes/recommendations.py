"""Recommendation routes: for a shopper, for explicit context, for a cart, for one item.

Every handler is ``async`` (see :mod:`shoprec.serving.routes`): it scores inline.
"""

import time
from typing import Annotated

from fastapi import APIRouter, Query

from shoprec.errors import Problem, ValidationError
from shoprec.events.schema import MAX_AMOUNT, MAX_ID_LENGTH
from shoprec.pipeline import Request
from shoprec.rules import Boosts, FilterSpec
from shoprec.types import HistoryEvent
from shoprec.types import Query as ShopperQuery

from ..dependencies import (
    READ,
    SHOPPER,
    ItemCount,
    ItemIdPath,
    ServiceDep,
    ShopperGate,
    ShopperGateDep,
    StatsDep,
    UserIdPath,
)
from ..openapi import BODY, COMMON, GUARDED, errors
from ..schemas import RecommendationQuery, Recommendations, RecommendedItemOut
from ..service import Served, Service
from ..stats import LiveStats

router = APIRouter(
    prefix="/v1", tags=["recommendations"], responses=errors(*BODY, *GUARDED, 404, *COMMON)
)


@router.get("/users/{user_id}/recommendations", dependencies=[SHOPPER])
async def user_recommendations(
    user_id: UserIdPath,
    service: ServiceDep,
    stats: StatsDep,
    n: ItemCount,
    scenario: Annotated[str, Query(max_length=MAX_ID_LENGTH)] = "home",
    category: Annotated[str | None, Query(max_length=MAX_ID_LENGTH)] = None,
    min_price: Annotated[float | None, Query(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)] = None,
    max_price: Annotated[float | None, Query(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)] = None,
    # At most 10 values of 256 characters: the whole URL must stay under the HTTP server's
    # 64 KiB limit even when every character is percent-encoded.
    exclude: Annotated[
        list[Annotated[str, Query(max_length=MAX_ID_LENGTH)]],
        Query(max_length=10, description="Items never to return (repeat, or comma-separated)."),
    ] = [],  # noqa: B006 - FastAPI copies defaults
) -> Recommendations:
    """Recommendations for a shopper from their live state (the latest event included).

    Their reasons reveal the shopper's history: once any API key is configured this needs a
    key or the shopper's own token (``X-Shopper-Token``).
    """
    spec = FilterSpec(category, min_price, max_price, _exclusions(exclude))
    request = service.user_request(user_id, n=n, scenario=scenario, filters=spec)
    return _respond(service.recommend(request, user_id), service, stats)


@router.post("/recommendations")
async def recommendations(
    body: RecommendationQuery, service: ServiceDep, stats: StatsDep, gate: ShopperGateDep
) -> Recommendations:
    """Recommendations from explicit context: session events, cart, current item, search.

    With a ``user_id`` the shopper's live state joins the context: once any API key is
    configured that needs a key or the shopper's own token.
    """
    _require_shopper(body, gate)
    default = "product" if body.item_id else "home"
    return _respond(_contextual(body, service, default, use_cart_state=False), service, stats)


@router.post("/cart/recommendations")
async def cart_recommendations(
    body: RecommendationQuery, service: ServiceDep, stats: StatsDep, gate: ShopperGateDep
) -> Recommendations:
    """Items that complete the cart (the shopper's live cart when the body has none).

    With a ``user_id``, as for ``POST /v1/recommendations``: a key or the shopper's token.
    """
    _require_shopper(body, gate)
    return _respond(_contextual(body, service, "cart", use_cart_state=True), service, stats)


@router.get("/items/{item_id}/similar", dependencies=[READ])
async def similar(
    item_id: ItemIdPath, service: ServiceDep, stats: StatsDep, n: ItemCount
) -> Recommendations:
    """Items similar to one item, by behaviour and by text."""
    request = service.item_request(item_id, n, "similar")
    return _respond(service.recommend(request, None), service, stats)


@router.get("/items/{item_id}/bought-together", dependencies=[READ])
async def bought_together(
    item_id: ItemIdPath, service: ServiceDep, stats: StatsDep, n: ItemCount
) -> Recommendations:
    """Items bought or viewed together with one item."""
    request = service.item_request(item_id, n, "bought_together")
    return _respond(service.recommend(request, None), service, stats)


def _require_shopper(body: RecommendationQuery, gate: ShopperGate) -> None:
    """A named shopper's key or token; else a read key when read keys are set."""
    if body.user_id is not None:
        gate.require([body.user_id])
    else:
        gate.require_read()


def _exclusions(values: list[str]) -> frozenset[str]:
    """``?exclude=a&exclude=b`` and ``?exclude=a,b`` alike."""
    return frozenset(part for value in values for part in value.split(",") if part)


def _contextual(
    body: RecommendationQuery, service: Service, scenario: str, use_cart_state: bool
) -> Served:
    """Answer a body of explicit context, completed by the shopper's live state if named."""
    max_n = service.config.max_n
    if body.n > max_n:
        message = f"n={body.n} is above the limit {max_n}"
        raise ValidationError([Problem("body", None, "n", message)])
    history: tuple[HistoryEvent, ...] = ()
    cart = tuple(body.cart)
    purchased: frozenset[str] = frozenset()
    if body.user_id is not None:
        state = service.shopper(body.user_id)
        history, purchased = state.history, state.purchased
        if use_cart_state and not cart:
            cart = state.cart
    history += tuple(HistoryEvent(e.item_id, e.event_type.value, e.timestamp) for e in body.events)
    context = ((body.item_id,) if body.item_id else ()) + cart
    request = Request(
        query=ShopperQuery(body.user_id, history, context, time.time()),
        n=body.n,
        scenario=body.scenario or scenario,
        cart=cart,
        purchased=purchased,
        filters=FilterSpec(body.category, body.min_price, body.max_price, frozenset(body.exclude)),
        boosts=Boosts(body.boost_items, body.boost_categories),
        pins=body.pins,
        search=body.search,
    )
    return service.recommend(request, body.user_id or body.session_id)


def _respond(served: Served, service: Service, stats: LiveStats) -> Recommendations:
    """The response body, after counting what was served for the dashboard."""
    listed = [service.catalog.get(r.item_id) for r in served.items]
    stats.served(
        served.scenario,
        [r.item_id for r in served.items],
        [item.category if item else None for item in listed],
    )
    return Recommendations(
        items=[
            RecommendedItemOut(
                item_id=r.item_id,
                score=r.score,
                source=r.source,
                reason=r.reason,
                title=item.title if item else None,
                sponsored=position in served.sponsored,
                campaign_id=served.sponsored.get(position),
            )
            for position, (r, item) in enumerate(zip(served.items, listed, strict=True))
        ],
        recommendation_id=served.recommendation_id,
        variant=served.variant,
        model_version=served.model_version,
        scenario=served.scenario,
    )
