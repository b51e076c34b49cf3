"""Which coupons to offer a shopper: the usable ones, by the purchase they are expected to add.

**The model.** For a shopper and a coupon of scope ``S`` (items, categories, brands) and
discount ``d``, from the shopper's live history (recent events, oldest first):

- *scope affinity*: each event weighs its type's weight times ``0.5 ** (age / half_life)``;
  ``share_S = (W_S + k * pi_S) / (W + k)``, where ``W_S`` is the weight of the events on items
  in ``S``, ``W`` of all events, ``pi_S`` the share of the available catalogue in ``S`` and
  ``k`` the prior weight: a new shopper's affinity is the catalogue's, and their own events
  take over as they add up;
- *purchase rate*: ``lambda = (B + b0) / (days + t0)`` purchases a day, ``B`` the purchases
  (redemptions included) in the history, ``days`` the span it covers, ``b0 / t0`` a prior of
  one purchase a month;
- *without the coupon*, purchases in ``S`` form a Poisson process of rate ``lambda * share_S``:
  ``p0 = 1 - exp(-H * lambda * share_S)`` over the horizon ``H`` days;
- *with the coupon*, the price effect multiplies the rate by ``1 + e * d`` (a linear response
  to the share taken off: unlike a constant-elasticity ``(1 - d) ** -e`` it stays moderate for
  deep discounts, so a large discount in a scope the shopper ignores cannot outrank a fair one
  where they shop): ``p1 = 1 - exp(-H * lambda * share_S * (1 + e * d))``. The elasticity
  ``e = e0 + e1 * r`` grows with ``r = R / (B + 1)``, their smoothed share of purchases made
  with a coupon (``R`` redemptions): shoppers who redeem coupons respond more to the next;
- the offer's *expected uplift* is ``p1 - p0``; coupons are ranked by it.

So a coupon in a scope the shopper engages with beats a bigger discount elsewhere, and among
coupons for the same scope the bigger discount wins. Every parameter is a field of
:class:`~shoprec.promotions.CouponModelConfig`.

**Usable.** Only coupons inside their validity window, with budget left, that this shopper
has not used up (``per_shopper``) and whose scope holds at least one available item
(listed and in stock) are ranked; the rest are never offered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shoprec.events import Coupon, CouponScope, Item, StoredCoupon
from shoprec.rules import CatalogView, in_category
from shoprec.types import EVENT_TYPE_ALIASES, EventType, HistoryEvent

from .config import CouponModelConfig

_DAY_S = 86_400.0
_BOUGHT = {EventType.PURCHASE.value, EventType.COUPON_REDEEM.value}
_REDEEM = EventType.COUPON_REDEEM.value


@dataclass(frozen=True)
class ScopeIndex:
    """How many available items each category (with the categories above it) and brand has.

    Built once from the catalogue and reused across requests while it is current.

    Attributes:
        categories: Available items per category as written in the catalogue (lower case).
        brands: Available items per brand (lower case).
        total: Available items in all.
    """

    categories: Mapping[str, int]
    brands: Mapping[str, int]
    total: int

    @classmethod
    def build(cls, items: Iterable[Item]) -> ScopeIndex:
        """Count the available (in stock) items of ``items`` per category and brand."""
        categories: dict[str, int] = {}
        brands: dict[str, int] = {}
        total = 0
        for item in items:
            if not item.in_stock:
                continue
            total += 1
            if item.category:
                key = item.category.strip().lower()
                categories[key] = categories.get(key, 0) + 1
            if item.brand:
                key = item.brand.strip().lower()
                brands[key] = brands.get(key, 0) + 1
        return cls(categories, brands, total)

    def available(self, coupon: Coupon, catalog: CatalogView) -> int:
        """Available items in the coupon's scope (a category counts the ones below it)."""
        if coupon.scope is CouponScope.ITEMS:
            return sum(catalog.is_available(i) for i in set(coupon.targets))
        if coupon.scope is CouponScope.BRANDS:
            return sum(self.brands.get(b.strip().lower(), 0) for b in set(coupon.targets))
        wanted = set(coupon.targets)
        return sum(
            count
            for category, count in self.categories.items()
            if any(in_category(category, target) for target in wanted)
        )


def in_scope(coupon: Coupon, item_id: str, item: Item | None) -> bool:
    """Whether the coupon applies to an item (``item``: its catalogue entry, if listed)."""
    if coupon.scope is CouponScope.ITEMS:
        return item_id in coupon.targets
    if item is None:
        return False
    if coupon.scope is CouponScope.BRANDS:
        brand = (item.brand or "").strip().lower()
        return bool(brand) and any(brand == b.strip().lower() for b in coupon.targets)
    return any(in_category(item.category, target) for target in coupon.targets)


@dataclass(frozen=True)
class CouponOffer:
    """A usable coupon for one shopper with the model's figures.

    Attributes:
        coupon: The coupon.
        p_without: Probability of a purchase in its scope within the horizon, without it.
        p_with: The same with its discount.
        budget_left: Redemptions still allowed in all (``None``: unlimited).
    """

    coupon: Coupon
    p_without: float
    p_with: float
    budget_left: int | None

    @property
    def uplift(self) -> float:
        """Expected purchases added: ``p_with - p_without``."""
        return self.p_with - self.p_without


@dataclass(frozen=True)
class ShopperProfile:
    """What the model reads of one history: event weights, purchase rate and elasticity.

    Attributes:
        items: Distinct items of the history.
        weights: Decayed, type-weighted total per item (same order).
        total: Sum of ``weights``.
        rate: Purchases a day.
        redeem_share: Smoothed share of purchases made with a coupon, ``R / (B + 1)``.
    """

    items: tuple[str, ...]
    weights: tuple[float, ...]
    total: float
    rate: float
    redeem_share: float

    @classmethod
    def of(
        cls, history: Sequence[HistoryEvent], now: float, config: CouponModelConfig
    ) -> ShopperProfile:
        """Read a history (oldest first) as of ``now``."""
        weights: dict[str, float] = {}
        bought = redeemed = 0
        first = now
        for event in history:
            stamp = now if event.timestamp is None else min(event.timestamp, now)
            first = min(first, stamp)
            kind = event.event_type
            weight = config.event_weights.get(
                kind, config.event_weights.get(EVENT_TYPE_ALIASES.get(kind, kind), 1.0)
            )
            decay = 0.5 ** ((now - stamp) / _DAY_S / config.half_life_days)
            weights[event.item_id] = weights.get(event.item_id, 0.0) + weight * decay
            bought += kind in _BOUGHT
            redeemed += kind == _REDEEM
        days = (now - first) / _DAY_S
        rate = (bought + config.prior_purchases) / (days + config.prior_days)
        share = redeemed / (bought + 1.0)
        return cls(tuple(weights), tuple(weights.values()), sum(weights.values()), rate, share)

    def scope_weight(self, coupon: Coupon, catalog: CatalogView) -> float:
        """Weight of the history's events on items in the coupon's scope."""
        return sum(
            w
            for item_id, w in zip(self.items, self.weights, strict=True)
            if in_scope(coupon, item_id, catalog.get(item_id))
        )


def purchase_probabilities(
    profile: ShopperProfile, scope_weight: float, prior_share: float, discount: float,
    config: CouponModelConfig,
) -> tuple[float, float]:  # fmt: skip
    """``(p0, p1)``: a purchase in the scope within the horizon, without and with the discount.

    Args:
        profile: The shopper's history as the model reads it.
        scope_weight: The weight of their events in the scope.
        prior_share: The scope's share of the available catalogue.
        discount: The coupon's share off the price, in (0, 1].
        config: The model's parameters.
    """
    k = config.prior_weight
    share = (scope_weight + k * prior_share) / (profile.total + k) if profile.total + k else 0.0
    base = config.horizon_days * profile.rate * share
    elasticity = config.elasticity + config.redeemer_elasticity * profile.redeem_share
    boost = 1.0 + elasticity * discount
    return 1.0 - math.exp(-base), 1.0 - math.exp(-base * boost)


def rank_coupons(
    coupons: Sequence[StoredCoupon],
    history: Sequence[HistoryEvent],
    catalog: CatalogView,
    scopes: ScopeIndex,
    uses: Mapping[str, int],
    now: float,
    config: CouponModelConfig,
) -> list[CouponOffer]:
    """The coupons this shopper can use, by expected uplift (largest first).

    Args:
        coupons: Every coupon with its redemption count.
        history: The shopper's recent events, oldest first.
        catalog: The catalogue (for the history's categories and brands, and availability).
        scopes: Available items per category and brand.
        uses: The shopper's redemptions per coupon id.
        now: The time of the request (seconds since the epoch).
        config: The model's parameters.

    Returns:
        One offer per usable coupon; ties by the smaller discount, then the id.
    """
    profile = ShopperProfile.of(history, now, config)
    offers = []
    for stored in coupons:
        coupon = stored.coupon
        left = stored.budget_left
        if not coupon.is_active(now) or left == 0:
            continue
        if uses.get(coupon.coupon_id, 0) >= coupon.per_shopper:
            continue
        available = scopes.available(coupon, catalog)
        if available == 0:
            continue
        prior = available / scopes.total if scopes.total else 0.0
        p0, p1 = purchase_probabilities(
            profile, profile.scope_weight(coupon, catalog), min(prior, 1.0), coupon.discount, config
        )
        offers.append(CouponOffer(coupon, p0, p1, left))
    offers.sort(key=lambda o: (-o.uplift, o.coupon.discount, o.coupon.coupon_id))
    return offers
