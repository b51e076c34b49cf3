"""Coupon routes: the shop registers, lists and removes coupons (admin key); a shopper's offers.

``GET /v1/users/{user_id}/coupons`` reveals what the shopper's history says of them: a server
key or that shopper's own token, as for their recommendations. All ``def``: the coupon store
is read and written on the disk.
"""

from fastapi import APIRouter

from shoprec.errors import Problem, ValidationError

from ..dependencies import ADMIN, SHOPPER, ServiceDep, UserIdPath
from ..openapi import BODY, COMMON, GUARDED, errors
from ..promotion_schemas import (
    CouponBatch,
    CouponList,
    CouponOfferOut,
    CouponOffers,
    CouponStatus,
    Upserted,
)
from ..promotions import CouponReport

router = APIRouter(prefix="/v1", tags=["coupons"], responses=errors(*BODY, *GUARDED, *COMMON))


@router.put("/coupons", dependencies=[ADMIN])
def put_coupons(body: CouponBatch, service: ServiceDep) -> Upserted:
    """Register or replace coupons (admin key). Redemption counts of a replaced one stay.

    A coupon is offered from the next request on, while it is valid, has budget left and its
    scope holds an available item.
    """
    limit = service.config.max_batch_size
    if len(body.coupons) > limit:
        message = f"{len(body.coupons)} coupons in one request; at most {limit} allowed"
        raise ValidationError([Problem("body", None, "coupons", message)])
    return Upserted(upserted=service.promotions.put_coupons(body.coupons))


@router.get("/coupons", dependencies=[ADMIN])
def list_coupons(service: ServiceDep) -> CouponList:
    """Every coupon with its counters (admin key).

    Redemptions in all and budget left, and offers and redemptions since the service started.
    """
    return CouponList(coupons=[_status(r) for r in service.promotions.coupon_reports()])


@router.delete("/coupons/{coupon_id}", dependencies=[ADMIN], status_code=204, responses=errors(404))
def delete_coupon(coupon_id: UserIdPath, service: ServiceDep) -> None:
    """Remove a coupon and its counts (admin key); 404 when there is none."""
    service.promotions.delete_coupon(coupon_id)


@router.get("/users/{user_id}/coupons", dependencies=[SHOPPER])
def user_coupons(user_id: UserIdPath, service: ServiceDep) -> CouponOffers:
    """The coupons this shopper can use now, ranked by expected uplift (largest first).

    The uplift is the probability they buy in the coupon's scope within the horizon with its
    discount less the probability without it, from their live history (docs/promotions.md).
    Expired, exhausted, used-up coupons and those whose scope has no available item are
    never offered. Reveals the shopper's history: once any API key is configured this needs a
    key or the shopper's own token (``X-Shopper-Token``).
    """
    offers = service.coupon_offers(user_id)
    return CouponOffers(
        user_id=user_id,
        horizon_days=service.promotions.config.coupons.horizon_days,
        coupons=[
            CouponOfferOut(
                coupon_id=o.coupon.coupon_id,
                title=o.coupon.title,
                scope=o.coupon.scope,
                targets=list(o.coupon.targets),
                discount=o.coupon.discount,
                valid_until=o.coupon.valid_until,
                p_without=o.p_without,
                p_with=o.p_with,
                uplift=o.uplift,
            )
            for o in offers
        ],
    )


def _status(report: CouponReport) -> CouponStatus:
    stored = report.stored
    return CouponStatus(
        **stored.coupon.model_dump(),
        redeemed=stored.redeemed,
        budget_left=stored.budget_left,
        impressions=report.impressions,
        redemptions=report.redemptions,
    )
