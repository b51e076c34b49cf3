"""Request and response bodies of the coupon and campaign routes (shown in the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shoprec.events import Campaign, Coupon, CouponScope

_STRICT = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class CouponBatch(BaseModel):
    """Coupons to register or replace (a replaced coupon keeps its redemption counts)."""

    model_config = _STRICT

    coupons: list[Coupon]
    """The coupons; a later one with the same id wins."""


class CampaignBatch(BaseModel):
    """Sponsored-product campaigns to register or replace (counters and spend stay)."""

    model_config = _STRICT

    campaigns: list[Campaign]
    """The campaigns; a later one with the same id wins."""


class Upserted(BaseModel):
    """Acknowledgement of a write: durable when answered."""

    upserted: int
    """Number of records written."""


class CouponStatus(Coupon):
    """A registered coupon with its counters."""

    redeemed: int
    """Redemptions in all (``coupon_redeem`` events quoting it)."""
    budget_left: int | None
    """Redemptions still allowed (``null``: unlimited)."""
    impressions: int
    """Times it was offered (``GET /v1/users/{user_id}/coupons``) since the service started."""
    redemptions: int
    """Redemptions since the service started (``redemptions / impressions`` is its rate)."""


class CouponList(BaseModel):
    """Every registered coupon, in registration order."""

    coupons: list[CouponStatus]
    """The coupons."""


class CouponOfferOut(BaseModel):
    """A coupon offered to one shopper, with the model's figures."""

    coupon_id: str
    """The coupon."""
    title: str | None
    """What the shopper is shown."""
    scope: CouponScope
    """What ``targets`` name."""
    targets: list[str]
    """The items, categories or brands it applies to."""
    discount: float
    """Share taken off the price."""
    valid_until: float | None
    """When it expires (seconds since the epoch; ``null``: never)."""
    p_without: float
    """Probability of a purchase in its scope within the horizon without it."""
    p_with: float
    """The same probability with its discount."""
    uplift: float
    """``p_with - p_without``: what the offers are ranked by."""


class CouponOffers(BaseModel):
    """The coupons a shopper can use now, by expected uplift (largest first)."""

    user_id: str
    """The shopper."""
    horizon_days: float
    """The days the probabilities are about."""
    coupons: list[CouponOfferOut]
    """The offers; never an expired, exhausted or used-up coupon, nor one whose scope has
    no available item."""


class CampaignStatus(Campaign):
    """A campaign with its counters."""

    impressions: int
    """Impressions charged, all days."""
    clicks: int
    """Clicks quoting it (``click`` events with ``context.campaign_id``), all days."""
    ctr: float
    """``clicks / impressions`` (0 before the first impression)."""
    spent_today: float
    """Spent in the current UTC day."""
    paced_budget_now: float
    """What it may have spent by now today under its pacing."""


class CampaignList(BaseModel):
    """Campaigns, in registration order."""

    campaigns: list[CampaignStatus]
    """The campaigns."""
