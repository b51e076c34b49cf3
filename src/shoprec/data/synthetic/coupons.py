"""Planted coupon sensitivity: some shoppers respond to discounts in the categories they like.

With ``coupon_sensitive_share > 0`` the shop gets ``n_coupons`` coupons (one category each, a
discount between 5 % and 50 %) and every shopper a planted response, written to the truth:
the probability that shopper ``u`` redeems coupon ``c`` (category ``k``, discount ``d``) when
it is offered is

    p(u, c) = r_u * a_u(k) * d / (d + 0.1)

where ``r_u`` is 0.8 for a coupon-sensitive shopper (a ``coupon_sensitive_share`` of them)
and 0.05 for the others, ``a_u(k)`` the share of the shopper's browsing that goes to ``k``
among their three favourite categories (0.02 for any other category), and ``d / (d + 0.1)``
a response that saturates with the discount. A coupon in a category the shopper does not like
is rarely redeemed however deep its discount, which is what an offline evaluation of coupon
ranking can measure (``benchmarks/coupons.py``).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from .behaviour import Shoppers
from .catalog import Catalog, padded_ids
from .config import SyntheticShopConfig

#: Redemption scale of a coupon-sensitive shopper and of any other.
SENSITIVE_RESPONSE, BASE_RESPONSE = 0.8, 0.05
#: Affinity of a category outside the shopper's favourites.
OTHER_AFFINITY = 0.02
#: Discount at which the response reaches half its maximum.
HALF_DISCOUNT = 0.1
#: The discounts coupons are drawn from.
DISCOUNTS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
#: Key of the response to categories outside a shopper's favourites.
OTHER = "*"


class CouponTruth(BaseModel):
    """One planted coupon (scope: one category)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    coupon_id: str
    """Its id."""
    category: str
    """The category it applies to."""
    discount: float
    """Share taken off the price."""


class CouponPlan(BaseModel):
    """The planted coupons and each shopper's response to them."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    coupons: tuple[CouponTruth, ...] = ()
    """The coupons."""
    response: dict[str, dict[str, float]] = {}
    """User id -> category -> ``r_u * a_u(k)`` (key ``"*"``: any other category)."""

    def redemption_probability(self, user_id: str, category: str, discount: float) -> float:
        """The planted probability that the shopper redeems such a coupon when offered it."""
        response = self.response.get(user_id)
        if response is None:
            return 0.0
        scale = response.get(category, response[OTHER])
        return scale * discount / (discount + HALF_DISCOUNT)


def plan_coupons(
    config: SyntheticShopConfig, catalog: Catalog, shoppers: Shoppers, rng: np.random.Generator
) -> CouponPlan:
    """Draw the coupons and every shopper's response (empty when the share is 0)."""
    if config.coupon_sensitive_share <= 0:
        return CouponPlan()
    names = [c.name for c in catalog.categories]
    counts = np.bincount(catalog.category, minlength=len(names)).astype(np.float64)
    chosen = rng.choice(len(names), size=config.n_coupons, p=counts / counts.sum())
    discounts = rng.choice(np.array(DISCOUNTS), size=config.n_coupons)
    ids = padded_ids("cp", config.n_coupons).to_list()
    coupons = tuple(
        CouponTruth(coupon_id=i, category=names[c], discount=float(d))
        for i, c, d in zip(ids, chosen.tolist(), discounts.tolist(), strict=True)
    )
    sensitive = rng.random(config.n_users) < config.coupon_sensitive_share
    scale = np.where(sensitive, SENSITIVE_RESPONSE, BASE_RESPONSE)
    users = padded_ids("u", config.n_users).to_list()
    response: dict[str, dict[str, float]] = {}
    for u, user in enumerate(users):
        row: dict[str, float] = {OTHER: float(scale[u] * OTHER_AFFINITY)}
        for category, weight in zip(
            shoppers.favorites[u].tolist(), shoppers.favorite_weight[u].tolist(), strict=True
        ):
            name = names[category]
            row[name] = row.get(name, 0.0) + float(scale[u] * weight)
        response[user] = row
    return CouponPlan(coupons=coupons, response=response)
