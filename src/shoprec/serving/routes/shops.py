"""Shops, brands and tomorrow's hot items (#21).

- ``GET /v1/users/{user_id}/brands`` and ``/sellers``: a shopper's brands (sellers) from their
  history and co-engagement; the shopper's own token or a key, like the other routes under
  ``/users/{user_id}`` that reveal a shopper's data.
- ``GET /v1/items/trending``: trending items now (read key); ``?horizon=1d``: tomorrow's
  forecast demand, ordered by forecast or by rise.

``/items/trending`` is declared before the catalogue's ``/items/{item_id}`` (this router is
included first), so it is not taken for an item id.
"""

import math
from datetime import UTC, datetime
from typing import Annotated, Literal

import numpy as np
import polars as pl
from fastapi import APIRouter, Query

from shoprec.evaluation.exposure import (
    GroupExposure,
    exposure_gap,
    gini,
    group_exposure,
    long_tail_share,
    short_head,
)
from shoprec.events import Item
from shoprec.models.demand import SECONDS_PER_DAY

from ..dependencies import ADMIN, READ, SHOPPER, ItemCount, ServiceDep, StatsDep, UserIdPath
from ..errors import NotReadyError
from ..openapi import COMMON, GUARDED, errors
from ..service import Service
from ..shop_schemas import (
    AtRiskItem,
    BrandOut,
    Brands,
    Exposure,
    GroupShare,
    Trending,
    TrendingItem,
)
from ..shops import Group, interaction_weights

router = APIRouter(prefix="/v1", tags=["shops"], responses=errors(*GUARDED, *COMMON))


@router.get("/users/{user_id}/brands", dependencies=[SHOPPER])
def user_brands(user_id: UserIdPath, service: ServiceDep, n: ItemCount) -> Brands:
    """The shopper's brands, best first: their own, then those their brands' shoppers like.

    Their own brands score by their event-type weighted, recency-decayed history; brands they
    have not touched by co-engagement (shoppers of their brands also engage with them).

    Reveals the shopper's history: once any API key is configured this needs a key or the
    shopper's own token (``X-Shopper-Token``). An unknown shopper gets an empty list.
    """
    return _brands(service, user_id, "brand", n)


@router.get("/users/{user_id}/sellers", dependencies=[SHOPPER])
def user_sellers(user_id: UserIdPath, service: ServiceDep, n: ItemCount) -> Brands:
    """The shopper's sellers (items' ``attributes.seller``), ranked as brands are.

    Same access rule as ``/users/{user_id}/brands``; empty when no item names a seller.
    """
    return _brands(service, user_id, "seller", n)


@router.get("/items/trending", dependencies=[READ], responses=errors(503))
def trending(
    service: ServiceDep,
    n: ItemCount,
    horizon: Annotated[
        Literal["1d"] | None,
        Query(description="``1d``: tomorrow's forecast demand instead of trending now."),
    ] = None,
    order: Annotated[
        Literal["forecast", "rise"],
        Query(description="With a horizon: by forecast demand, or by forecast rise."),
    ] = "forecast",
) -> Trending:
    """Trending items now, or with ``horizon=1d`` the items forecast hottest tomorrow.

    Without a horizon: time-decayed weighted events, as before. With ``horizon=1d``: next-day
    weighted events forecast from each item's and its category's recent days (LightGBM),
    seen from the last complete day.

    Read key when read keys are set. 503 while the forecast is still being fitted.
    """
    if horizon is None:
        now = service.live.backends.trending.top(n, keep=service.catalog.is_available)
        return Trending(
            horizon="now",
            order="score",
            items=[
                TrendingItem(item_id=i, title=_title(service, i), score=float(s))
                for i, s in zip(now.item_ids, now.scores, strict=True)
            ],
        )
    fc = service.demand_forecast()
    frame = fc.frame().filter(
        [service.catalog.is_available(i) for i in fc.frame()["item_id"].to_list()]
    )
    frame = frame.sort([order, "item_id"], descending=[True, False]).head(n)
    peak = float(frame[order].cast(pl.Float64).max() or 0.0) if frame.height else 0.0  # type: ignore[arg-type]
    day = datetime.fromtimestamp((fc.day + 1) * SECONDS_PER_DAY, UTC).date().isoformat()
    return Trending(
        horizon="1d",
        order=order,
        day=day,
        items=[
            TrendingItem(
                item_id=row["item_id"],
                title=_title(service, row["item_id"]),
                score=row[order] / peak if peak > 0 else 0.0,
                today=row["today"],
                forecast=row["forecast"],
                rise=row["rise"],
            )
            for row in frame.iter_rows(named=True)
        ],
    )


def _brands(service: Service, user_id: str, group_by: Group, n: int) -> Brands:
    ranked = service.user_brands(user_id, group_by, n)
    return Brands(
        user_id=user_id,
        group_by=group_by,
        brands=[
            BrandOut(name=b.name, score=b.score, source=b.source, because=b.because)  # type: ignore[arg-type]
            for b in ranked
        ],
    )


def _title(service: Service, item_id: str) -> str | None:
    item = service.catalog.get(item_id)
    return item.title if item is not None else None


admin = APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[ADMIN], responses=errors(*GUARDED, *COMMON)
)


@admin.get("/exposure")
def exposure(service: ServiceDep, stats: StatsDep) -> Exposure:
    """Fair exposure of what was served since the start, and tomorrow's demand outlook.

    Exposure Gini over the listed items, long-tail share, each brand's (and seller's) share of
    impressions against its share of interactions; the items forecast to rise most tomorrow
    and the in-stock items whose forecast demand exceeds their ``attributes.stock``. Admin key.
    """
    listed = service.live.listed_items()
    ids = [i.item_id for i in listed]
    served = stats.served_counts()
    shown = np.asarray([served.get(i, 0) for i in ids], dtype=np.float64)
    try:
        popular = next(iter(service.engine.pipelines.values())).popular
    except (NotReadyError, StopIteration):
        popular = None
    engaged = np.asarray(interaction_weights(popular, ids), dtype=np.float64)
    brands = group_exposure(shown, engaged, [i.brand or None for i in listed])
    sellers = group_exposure(shown, engaged, [i.seller for i in listed])
    rising: list[TrendingItem] = []
    at_risk: list[AtRiskItem] = []
    ready = True
    try:
        fc = service.demand_forecast()
    except NotReadyError:
        ready = False
    else:
        frame = fc.frame()
        for row in frame.sort(["rise", "item_id"], descending=[True, False]).iter_rows(named=True):
            if len(rising) == RISING_SHOWN or row["rise"] <= 0:
                break
            if service.catalog.is_available(row["item_id"]):
                rising.append(
                    TrendingItem(
                        item_id=row["item_id"],
                        title=_title(service, row["item_id"]),
                        score=row["rise"],
                        today=row["today"],
                        forecast=row["forecast"],
                        rise=row["rise"],
                    )
                )
        forecast = dict(zip(frame["item_id"].to_list(), frame["forecast"].to_list(), strict=True))
        at_risk = _at_risk(listed, forecast)
    return Exposure(
        impressions=int(shown.sum()),
        gini=gini(shown),
        long_tail_share=_finite(long_tail_share(shown, short_head(engaged))),
        exposure_gap_brand=exposure_gap(brands),
        brands=[_share(r) for r in brands[:GROUPS_SHOWN]],
        sellers=[_share(r) for r in sellers[:GROUPS_SHOWN]],
        rising=rising,
        at_risk=at_risk,
        forecast_ready=ready,
    )


#: Brands (sellers), rising items and items at risk listed by ``/v1/admin/exposure``.
GROUPS_SHOWN = 10
RISING_SHOWN = 10


def _at_risk(listed: list[Item], forecast: dict[str, float]) -> list[AtRiskItem]:
    """In-stock items with a numeric ``attributes.stock`` below their forecast, worst first."""
    rows = []
    for item in listed:
        stock = item.attributes.get("stock")
        demand = forecast.get(item.item_id, 0.0)
        if not item.in_stock or isinstance(stock, bool) or not isinstance(stock, int | float):
            continue
        if demand > stock:
            rows.append(
                AtRiskItem(item_id=item.item_id, title=item.title, stock=stock, forecast=demand)
            )
    rows.sort(key=lambda r: (-(r.forecast - r.stock), r.item_id))
    return rows[:RISING_SHOWN]


def _share(row: GroupExposure) -> GroupShare:
    return GroupShare(
        name=row.group,
        exposure_share=row.exposure_share,
        interaction_share=row.interaction_share,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
