"""The coupon uplift model (#21): planted affinities rank as expected; unusable coupons never."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoprec.events import Coupon, Item, StoredCoupon
from shoprec.promotions import (
    CouponModelConfig,
    ScopeIndex,
    ShopperProfile,
    in_scope,
    purchase_probabilities,
    rank_coupons,
)
from shoprec.rules import CatalogView
from shoprec.types import HistoryEvent

NOW = 1_800_000_000.0
DAY = 86_400.0
ITEMS = [
    Item(item_id="boot", category="Shoes > Boots", brand="Acme"),
    Item(item_id="sneaker", category="Shoes > Sneakers", brand="Zoom"),
    Item(item_id="hat", category="Hats", brand="Acme"),
    Item(item_id="cap", category="Hats", brand="Topper", in_stock=False),
]
CATALOG = CatalogView(ITEMS)
SCOPES = ScopeIndex.build(ITEMS)
CONFIG = CouponModelConfig()


def stored(coupon_id: str, scope: str, targets: list[str], **fields: object) -> StoredCoupon:
    redeemed = int(fields.pop("redeemed", 0))  # type: ignore[call-overload]
    coupon = Coupon.model_validate(
        {"coupon_id": coupon_id, "scope": scope, "targets": targets, "discount": 0.1, **fields}
    )
    return StoredCoupon(coupon, redeemed)


def history(*items: str, kind: str = "purchase", age_days: float = 1.0) -> list[HistoryEvent]:
    return [HistoryEvent(i, kind, NOW - age_days * DAY) for i in items]


def ranked(coupons: list[StoredCoupon], events: list[HistoryEvent], **uses: int) -> list[str]:
    offers = rank_coupons(coupons, events, CATALOG, SCOPES, uses, NOW, CONFIG)
    return [o.coupon.coupon_id for o in offers]


def test_scopes_match_items_categories_below_and_brands() -> None:
    boot = CATALOG.get("boot")
    assert in_scope(stored("s", "categories", ["shoes"]).coupon, "boot", boot)
    assert not in_scope(stored("s", "categories", ["Shoes > Sneakers"]).coupon, "boot", boot)
    assert in_scope(stored("b", "brands", ["acme"]).coupon, "boot", boot)
    assert in_scope(stored("i", "items", ["boot"]).coupon, "boot", None)
    assert not in_scope(stored("c", "categories", ["Shoes"]).coupon, "unlisted", None)
    assert SCOPES.available(stored("h", "categories", ["Hats"]).coupon, CATALOG) == 1
    assert SCOPES.available(stored("s", "categories", ["Shoes"]).coupon, CATALOG) == 2


def test_a_shopper_who_only_buys_shoes_ranks_the_shoe_coupon_first() -> None:
    coupons = [
        stored("hats-40", "categories", ["Hats"], discount=0.4),
        stored("shoes-10", "categories", ["Shoes"], discount=0.1),
        stored("acme-20", "brands", ["Acme"], discount=0.2),
    ]
    assert ranked(coupons, history("sneaker", "sneaker", "sneaker"))[0] == "shoes-10"
    assert ranked(coupons, history("hat", "hat"))[0] == "hats-40"
    # Without history the catalogue's shares decide: the deepest discount on a fair share.
    assert ranked(coupons, [])[0] == "hats-40"


def test_expired_exhausted_used_and_empty_scopes_are_never_offered() -> None:
    coupons = [
        stored("ok", "categories", ["Shoes"]),
        stored("expired", "categories", ["Shoes"], valid_until=NOW - 1),
        stored("future", "categories", ["Shoes"], valid_from=NOW + 1),
        stored("exhausted", "categories", ["Shoes"], budget=2, redeemed=2),
        stored("used", "categories", ["Shoes"], per_shopper=2),
        stored("sold-out", "items", ["cap"]),
        stored("unlisted", "items", ["ghost"]),
        stored("no-brand", "brands", ["Nobody"]),
        stored("no-category", "categories", ["Socks"]),
    ]
    assert ranked(coupons, history("boot"), used=2) == ["ok"]
    assert set(ranked(coupons, history("boot"), used=1)) == {"ok", "used"}


def test_recency_and_redemptions_move_the_figures() -> None:
    shoes = stored("shoes", "categories", ["Shoes"]).coupon
    fresh = ShopperProfile.of(history("boot", age_days=1), NOW, CONFIG)
    stale = ShopperProfile.of(history("boot", age_days=90), NOW, CONFIG)
    assert fresh.scope_weight(shoes, CATALOG) > 10 * stale.scope_weight(shoes, CATALOG)
    buyer = ShopperProfile.of(history("boot", "boot"), NOW, CONFIG)
    redeemer = ShopperProfile.of(history("boot", "boot", kind="coupon_redeem"), NOW, CONFIG)
    assert redeemer.redeem_share > buyer.redeem_share == 0.0
    w = buyer.scope_weight(shoes, CATALOG)
    p0, p1 = purchase_probabilities(buyer, w, 0.5, 0.2, CONFIG)
    q0, q1 = purchase_probabilities(redeemer, w, 0.5, 0.2, CONFIG)
    assert p0 == pytest.approx(q0) and q1 - q0 > p1 - p0 > 0


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0, 100),
    st.floats(0, 1),
    st.floats(0.01, 1),
    st.floats(0.01, 1),
    st.lists(st.sampled_from(["view", "purchase", "addtocart"]), max_size=20),
)
def test_probabilities_are_probabilities_and_grow_with_the_discount(
    weight: float, prior: float, small: float, big: float, kinds: list[str]
) -> None:
    profile = ShopperProfile.of([HistoryEvent("boot", k, NOW - DAY) for k in kinds], NOW, CONFIG)
    low, high = sorted((small, big))
    p0, p1 = purchase_probabilities(profile, weight, prior, low, CONFIG)
    q0, q1 = purchase_probabilities(profile, weight, prior, high, CONFIG)
    assert 0.0 <= p0 <= p1 <= q1 <= 1.0 and p0 == q0
    if weight > 1e-6 and p0 < 0.99:  # a scope the shopper engages with: the discount adds
        assert p1 > p0
