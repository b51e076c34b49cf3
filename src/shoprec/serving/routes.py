"""The versioned ``/v1`` API: thin handlers that parse, call the :class:`Service`, respond.

Handlers that write (durable appends wait for the disk) are plain ``def`` functions, which
FastAPI runs in its threadpool. Recommendation handlers are ``async`` and score inline: they
only use the CPU, which the GIL would serialise anyway, and a hop to the threadpool and back
cost about as much as a request's whole pipeline. (No ``from __future__ import annotations``:
FastAPI reads the handlers' annotations, some of which are local to ``build_router``.)
"""

import json
import time
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from shoprec.errors import Problem, ShoprecError, ValidationError
from shoprec.events import Event, Item
from shoprec.jobs import METRICS_FILE
from shoprec.pipeline import Request
from shoprec.rules import Boosts, FilterSpec, in_category
from shoprec.types import HistoryEvent
from shoprec.types import Query as ShopperQuery

from .schemas import (
    AdminStats,
    Categories,
    CategoryCount,
    EventBatch,
    EventsAck,
    EventsBody,
    Experiments,
    Forgotten,
    ItemBatch,
    ItemList,
    ItemOut,
    ItemPatch,
    ItemsAck,
    ModelInfo,
    RecommendationQuery,
    Recommendations,
    RecommendedItemOut,
    Reloaded,
    RetrainStarted,
    Shoppers,
    VariantStats,
)
from .security import require_key
from .service import NotFoundError, Served, Service
from .stats import LiveStats, RecentEvent

_ItemId = Annotated[str, Path(min_length=1, max_length=256)]
_UserId = Annotated[str, Path(min_length=1, max_length=256)]


def _exclusions(values: list[str]) -> frozenset[str]:
    """``?exclude=a&exclude=b`` and ``?exclude=a,b`` alike."""
    return frozenset(part for value in values for part in value.split(",") if part)


def _matches(item: Item, terms: list[str]) -> bool:
    """Whether every search term occurs in the item's id, title, brand or category."""
    text = " ".join(filter(None, (item.item_id, item.title, item.brand, item.category))).lower()
    return all(term in text for term in terms)


def _item_out(item: Item) -> ItemOut:
    return ItemOut(
        item_id=item.item_id,
        title=item.title,
        category=item.category,
        brand=item.brand,
        price=item.price,
        in_stock=item.in_stock,
    )


def build_router(service: Service, stats: LiveStats | None = None) -> APIRouter:
    """The ``/v1`` routes bound to ``service``.

    Args:
        service: The running service.
        stats: Where responses and events are counted for the dashboard (default: a new one).
    """
    live = stats if stats is not None else LiveStats()
    records: dict[str, dict[str, object]] = {}  # training record per model version
    cfg = service.config
    read = Depends(require_key(cfg.read_keys, [*cfg.write_keys, *cfg.admin_keys]))
    write = Depends(require_key(cfg.write_keys, cfg.admin_keys))
    admin = Depends(require_key(cfg.admin_keys))
    n_param = Annotated[int, Query(ge=1, le=cfg.max_n, description="How many items.")]
    router = APIRouter(prefix="/v1")

    def respond(served: Served) -> Recommendations:
        catalog = service.catalog
        live.served(
            served.scenario,
            [r.item_id for r in served.items],
            [item.category if (item := catalog.get(r.item_id)) else None for r in served.items],
        )
        return Recommendations(
            items=[
                RecommendedItemOut(
                    item_id=r.item_id,
                    score=r.score,
                    source=r.source,
                    reason=r.reason,
                    title=item.title if (item := service.catalog.get(r.item_id)) else None,
                )
                for r in served.items
            ],
            recommendation_id=served.recommendation_id,
            variant=served.variant,
            model_version=served.model_version,
            scenario=served.scenario,
        )

    # -- events ----------------------------------------------------------------------------
    @router.post("/events", tags=["events"], dependencies=[write])
    def post_events(body: EventsBody) -> EventsAck:
        """Store one event or a batch durably and update the shoppers' state, then acknowledge.

        A batch is all or nothing: if one event is invalid, none is stored (422 names it).
        """
        events: list[Event] = body.events if isinstance(body, EventBatch) else [body]
        last_seq = service.ingest(events)
        live.events(
            [
                RecentEvent(
                    e.timestamp,
                    e.user_id,
                    e.item_id,
                    e.event_type.value,
                    service.catalog.title(e.item_id),
                )
                for e in events
            ]
        )
        return EventsAck(accepted=len(events), last_seq=last_seq)

    # -- recommendations -------------------------------------------------------------------
    @router.get("/users/{user_id}/recommendations", tags=["recommendations"], dependencies=[read])
    async def user_recommendations(
        user_id: _UserId,
        n: n_param = 10,
        scenario: str = "home",
        category: str | None = None,
        min_price: Annotated[float | None, Query(ge=0)] = None,
        max_price: Annotated[float | None, Query(ge=0)] = None,
        exclude: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    ) -> Recommendations:
        """Recommendations for a shopper from their live state (the latest event included)."""
        spec = FilterSpec(category, min_price, max_price, _exclusions(exclude))
        request = service.user_request(user_id, n=n, scenario=scenario, filters=spec)
        return respond(service.recommend(request, user_id))

    def contextual(body: RecommendationQuery, scenario: str, use_cart_state: bool) -> Served:
        if body.n > cfg.max_n:
            raise _n_too_large(body.n, cfg.max_n)
        history: tuple[HistoryEvent, ...] = ()
        cart = tuple(body.cart)
        purchased: frozenset[str] = frozenset()
        if body.user_id is not None:
            state = service.shopper(body.user_id)
            history, purchased = state.history, state.purchased
            if use_cart_state and not cart:
                cart = state.cart
        history += tuple(HistoryEvent(e.item_id, e.event_type, e.timestamp) for e in body.events)
        context = ((body.item_id,) if body.item_id else ()) + cart
        request = Request(
            query=ShopperQuery(body.user_id, history, context, time.time()),
            n=body.n,
            scenario=body.scenario or scenario,
            cart=cart,
            purchased=purchased,
            filters=FilterSpec(
                body.category, body.min_price, body.max_price, frozenset(body.exclude)
            ),
            boosts=Boosts(body.boost_items, body.boost_categories),
            pins=body.pins,
            search=body.search,
        )
        return service.recommend(request, body.user_id or body.session_id)

    @router.post("/recommendations", tags=["recommendations"], dependencies=[read])
    async def recommendations(body: RecommendationQuery) -> Recommendations:
        """Recommendations from explicit context: session events, cart, current item, search."""
        default = "product" if body.item_id else "home"
        return respond(contextual(body, default, use_cart_state=False))

    @router.post("/cart/recommendations", tags=["recommendations"], dependencies=[read])
    async def cart_recommendations(body: RecommendationQuery) -> Recommendations:
        """Items that complete the cart (the shopper's live cart when the body has none)."""
        return respond(contextual(body, "cart", use_cart_state=True))

    def item_based(item_id: str, n: int, scenario: str) -> Recommendations:
        if not service.is_known_item(item_id):
            raise NotFoundError(f"unknown item {item_id!r}")
        query = ShopperQuery(context_items=(item_id,), time=time.time())
        return respond(service.recommend(Request(query, n=n, scenario=scenario), None))

    @router.get("/items/{item_id}/similar", tags=["recommendations"], dependencies=[read])
    async def similar(item_id: _ItemId, n: n_param = 10) -> Recommendations:
        """Items similar to one item, by behaviour and by text."""
        return item_based(item_id, n, "similar")

    @router.get("/items/{item_id}/bought-together", tags=["recommendations"], dependencies=[read])
    async def bought_together(item_id: _ItemId, n: n_param = 10) -> Recommendations:
        """Items bought or viewed together with one item."""
        return item_based(item_id, n, "bought_together")

    # -- catalogue -------------------------------------------------------------------------
    @router.get("/items", tags=["catalogue"], dependencies=[read])
    def list_items(
        q: Annotated[
            str | None, Query(max_length=200, description="Words that must all occur.")
        ] = None,
        category: Annotated[
            str | None, Query(max_length=256, description="This category or one below it.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 48,
        offset: Annotated[int, Query(ge=0, description="Matches to skip.")] = 0,
    ) -> ItemList:
        """Browse the catalogue (read-only): search words and a category, paged."""
        terms = (q or "").lower().split()
        matched = [
            item
            for item in map(service.catalog.get, service.catalog.item_ids())
            if item is not None
            and (category is None or in_category(item.category, category))
            and _matches(item, terms)
        ]
        page = matched[offset : offset + limit]
        return ItemList(items=[_item_out(i) for i in page], total=len(matched), offset=offset)

    @router.get("/items/{item_id}", tags=["catalogue"], dependencies=[read])
    def get_item(item_id: _ItemId) -> ItemOut:
        """One catalogue item (404 when it is not listed)."""
        item = service.catalog.get(item_id)
        if item is None:
            raise NotFoundError(f"no item {item_id!r} in the catalogue")
        return _item_out(item)

    @router.get("/categories", tags=["catalogue"], dependencies=[read])
    def categories() -> Categories:
        """Every category with its number of listed items, the largest first."""
        counts = Counter(
            item.category
            for item in map(service.catalog.get, service.catalog.item_ids())
            if item is not None and item.category
        )
        return Categories(
            categories=[CategoryCount(name=n, items=c) for n, c in counts.most_common()]
        )

    @router.put("/items", tags=["catalogue"], dependencies=[write])
    def put_items(body: ItemBatch) -> ItemsAck:
        """Insert or replace items; new ones are recommendable from the next request."""
        return ItemsAck(upserted=service.upsert_items(body.items))

    @router.patch("/items/{item_id}", tags=["catalogue"], dependencies=[write])
    def patch_item(item_id: _ItemId, body: ItemPatch) -> ItemsAck:
        """Change some fields of an item (e.g. ``{"in_stock": false}``), effective at once."""
        service.patch_item(item_id, body.model_dump(exclude_unset=True))
        return ItemsAck(upserted=1)

    @router.delete("/items/{item_id}", tags=["catalogue"], dependencies=[write], status_code=204)
    def delete_item(item_id: _ItemId) -> None:
        """Remove an item: it leaves every result from the next request on."""
        service.delete_item(item_id)

    # -- shoppers and admin ----------------------------------------------------------------
    @router.get("/users", tags=["shoppers"], dependencies=[read])
    def shoppers(
        limit: Annotated[int, Query(ge=1, le=1000, description="How many user ids.")] = 20,
    ) -> Shoppers:
        """Shoppers with stored events, the earliest first (a sample to try the API with)."""
        return Shoppers(users=service.store.users()[:limit])

    @router.delete("/users/{user_id}", tags=["shoppers"], dependencies=[admin])
    def forget_user(user_id: _UserId) -> Forgotten:
        """Forget a shopper: their stored events and live state."""
        return Forgotten(user_id=user_id, events_deleted=service.forget(user_id))

    @router.post("/admin/reload", tags=["admin"], dependencies=[admin])
    def reload(force: bool = False) -> Reloaded:
        """Load the version ``CURRENT`` points at and swap it in without failing a request."""
        version, changed = service.reload(force=force)
        return Reloaded(model_version=version, changed=changed)

    @router.post("/admin/retrain", tags=["admin"], dependencies=[admin], status_code=202)
    def retrain() -> RetrainStarted:
        """Train the next model version from the event log in the background (409 if running).

        The new version is swapped in once it is published; ``/health/ready`` and ``/metrics``
        show the model version serving.
        """
        return RetrainStarted(pid=service.start_retrain())

    @router.get("/admin/experiments", tags=["admin"], dependencies=[admin])
    def experiments() -> Experiments:
        """Impressions, clicks, CTR and conversions per A/B variant."""
        return Experiments(
            variants=[
                VariantStats(
                    name=name,
                    weight=weight,
                    impressions=shown,
                    clicks=clicks,
                    conversions=conversions,
                    ctr=clicks / shown if shown else 0.0,
                    conversion_rate=conversions / shown if shown else 0.0,
                )
                for name, weight, shown, clicks, conversions in service.experiment_counts()
            ]
        )

    def model_info() -> ModelInfo:
        try:
            version = service.engine.version
        except ShoprecError:
            return ModelInfo(version=None)
        if version not in records:
            path = service.versions.root / version / METRICS_FILE
            records[version] = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        return ModelInfo.model_validate({"version": version, "record": records[version]})

    @router.get("/admin/stats", tags=["admin"], dependencies=[admin])
    def admin_stats() -> AdminStats:
        """What the operator dashboard shows: traffic, latency, events, model, A/B, coverage."""
        return AdminStats.model_validate(
            {
                "model": model_info(),
                "variants": experiments().variants,
                "live_users": service.state.size(),
                "traffic": live.snapshot(len(service.catalog)),
            }
        )

    return router


def _n_too_large(n: int, max_n: int) -> ValidationError:
    return ValidationError([Problem("body", None, "n", f"n={n} is above the limit {max_n}")])
