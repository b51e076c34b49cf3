"""Promotions settings (``[serving.promotions]``): the coupon uplift model, the sponsored slots."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shoprec.models import default_event_weights

_Position = Annotated[int, Field(ge=0, le=999)]


class CouponModelConfig(BaseModel):
    """The expected-uplift model that ranks a shopper's coupons (see ``promotions.coupons``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    horizon_days: Annotated[float, Field(gt=0.0, le=365.0)] = 7.0
    """The "next days" the purchase probability is about."""
    half_life_days: Annotated[float, Field(gt=0.0)] = 14.0
    """An event's weight in the scope affinity halves every this many days of age."""
    event_weights: dict[str, float] = Field(default_factory=default_event_weights)
    """Weight of each event type in the scope affinity (types not listed weigh 1)."""
    prior_weight: Annotated[float, Field(ge=0.0)] = 3.0
    """Pseudo-events spread over the catalogue: a scope's affinity starts at its share of the
    available items and the shopper's own events take over as they add up."""
    prior_purchases: Annotated[float, Field(gt=0.0)] = 1.0
    """Pseudo-purchases in the shopper's purchase rate (with ``prior_days``)."""
    prior_days: Annotated[float, Field(gt=0.0)] = 30.0
    """Pseudo-days in the shopper's purchase rate: 1 purchase a month before any evidence."""
    elasticity: Annotated[float, Field(ge=0.0, le=20.0)] = 1.5
    """Price response of a shopper who never redeemed a coupon: a discount ``d`` multiplies
    their purchase rate in the scope by ``1 + elasticity * d``."""
    redeemer_elasticity: Annotated[float, Field(ge=0.0, le=20.0)] = 3.0
    """Extra elasticity of a shopper all of whose purchases were redemptions (scaled by
    their smoothed share of purchases made with a coupon)."""


class SponsoredConfig(BaseModel):
    """Sponsored slots in recommendation responses (see ``promotions.sponsored``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    positions: dict[str, Annotated[list[_Position], Field(max_length=100)]] = Field(
        default_factory=dict
    )
    """0-based positions of the sponsored slots per scenario, e.g. ``{home = [4, 9]}``; a
    scenario not named carries no ad. A slot beyond a response's ``n`` stays organic."""
    floor_rank: Annotated[int, Field(ge=1, le=1000)] = 15
    """The relevance floor: a sponsored item must be among the shopper's first
    ``floor_rank`` organic candidates for the request (after every rule and exclusion)."""
    prior_ctr: Annotated[float, Field(gt=0.0, le=1.0)] = 0.02
    """Click-through rate of a campaign before its own impressions tell."""
    prior_impressions: Annotated[float, Field(gt=0.0)] = 200.0
    """Weight of ``prior_ctr`` in impressions: a campaign's own CTR takes over after about
    this many impressions."""
    pacing_slack: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    """How far ahead of the clock an evenly paced campaign may spend, as a share of its daily
    budget (at 06:00 UTC it may have spent 25 % + this share)."""

    def slots(self, scenario: str, n: int) -> list[int]:
        """The distinct sponsored positions below ``n`` of ``scenario``, in order."""
        return sorted({p for p in self.positions.get(scenario, ()) if p < n})


class PromotionsConfig(BaseModel):
    """Coupons and sponsored products."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    coupons: CouponModelConfig = Field(default_factory=CouponModelConfig)
    """The coupon ranking model."""
    max_coupons: Annotated[int, Field(ge=1, le=100)] = 10
    """Most coupons ``GET /v1/users/{user_id}/coupons`` returns."""
    sponsored: SponsoredConfig = Field(default_factory=SponsoredConfig)
    """Sponsored slots."""
