"""Coupon ranking on the synthetic shop: expected uplift vs a random coupon vs the biggest discount.

The generator plants coupon sensitivity (``coupon_sensitive_share``): a share of shoppers
respond to discounts in the categories they like, and every shopper's probability of redeeming
each planted coupon when offered it is known (``truth.coupons``, see
``shoprec/data/synthetic/coupons.py``). Each shopper with events is offered one coupon per
policy, chosen from the coupons they can use, from their latest ``HISTORY_LENGTH`` events:

- **ranked**: the first of ``GET /v1/users/{id}/coupons`` (``shoprec.promotions.rank_coupons``,
  the expected-uplift model with its default parameters, nothing fitted on the truth);
- **random**: a random valid coupon (seeded);
- **biggest discount**: the deepest discount, ties by id;
- **oracle**: the coupon with the highest planted probability (an upper bound).

The table gives the expected redemption rate (mean planted probability of the coupon offered)
over all shoppers and over the coupon-sensitive ones, and redemptions drawn once from those
probabilities (seeded).

Usage::

    python benchmarks/coupons.py                       # demo shop: 3,000 shoppers, 12 coupons
    python benchmarks/coupons.py --preset small --seeds 3
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
from machine import describe

from shoprec.data.synthetic import CouponPlan, generate_shop, preset
from shoprec.data.synthetic.coupons import OTHER, OTHER_AFFINITY, SENSITIVE_RESPONSE
from shoprec.events import HISTORY_LENGTH, Coupon, CouponScope, Item, StoredCoupon
from shoprec.promotions import CouponModelConfig, CouponOffer, ScopeIndex, rank_coupons
from shoprec.rules import CatalogView
from shoprec.types import HistoryEvent

Policy = Callable[[str, list[CouponOffer], np.random.Generator], CouponOffer]


def _ranked(_: str, offers: list[CouponOffer], __: np.random.Generator) -> CouponOffer:
    return offers[0]


def _random(_: str, offers: list[CouponOffer], rng: np.random.Generator) -> CouponOffer:
    return offers[int(rng.integers(len(offers)))]


def _biggest(_: str, offers: list[CouponOffer], __: np.random.Generator) -> CouponOffer:
    return min(offers, key=lambda o: (-o.coupon.discount, o.coupon.coupon_id))


def run(shop_preset: str, share: float, seed: int) -> dict[str, tuple[float, float, int]]:
    """Expected rate (all, sensitive) and drawn redemptions of each policy on one shop."""
    shop = generate_shop(preset(shop_preset, coupon_sensitive_share=share, seed=seed))
    plan: CouponPlan = shop.truth.coupons
    catalog = CatalogView.from_frame(shop.items)
    scopes = ScopeIndex.build(Item.from_row(row) for row in shop.items.iter_rows())
    category = {c.coupon_id: c.category for c in plan.coupons}
    coupons = [
        StoredCoupon(
            Coupon(coupon_id=c.coupon_id, scope=CouponScope.CATEGORIES, targets=[c.category],
                   discount=c.discount),
            0,
        )
        for c in plan.coupons
    ]  # fmt: skip
    now = shop.truth.end_timestamp
    config = CouponModelConfig()

    def truth(user: str, offer: CouponOffer) -> float:
        coupon = offer.coupon
        return plan.redemption_probability(user, category[coupon.coupon_id], coupon.discount)

    def oracle(user: str, offers: list[CouponOffer], _: np.random.Generator) -> CouponOffer:
        return max(offers, key=lambda o: (truth(user, o), o.coupon.coupon_id))

    policies: dict[str, Policy] = {
        "ranked (expected uplift)": _ranked,
        "random valid coupon": _random,
        "biggest discount first": _biggest,
        "oracle (planted truth)": oracle,
    }
    events = shop.events.sort("timestamp")
    sensitive_mark = SENSITIVE_RESPONSE * OTHER_AFFINITY
    chosen: dict[str, list[float]] = {name: [] for name in policies}
    sensitive: list[bool] = []
    rng = np.random.default_rng(seed)
    for (user,), frame in events.group_by("user_id", maintain_order=True):
        rows = frame.tail(HISTORY_LENGTH)
        history = [
            HistoryEvent(i, k, t)
            for i, k, t in zip(rows["item_id"], rows["event_type"], rows["timestamp"], strict=True)
        ]
        offers = rank_coupons(coupons, history, catalog, scopes, {}, now, config)
        if not offers:
            continue
        sensitive.append(plan.response[str(user)][OTHER] >= sensitive_mark - 1e-12)
        for name, policy in policies.items():
            chosen[name].append(truth(str(user), policy(str(user), offers, rng)))
    mask = np.array(sensitive)
    draws = np.random.default_rng(seed + 1).random(len(mask))
    return {
        name: (float(np.mean(p)), float(np.mean(np.array(p)[mask])), int((draws < p).sum()))
        for name, p in chosen.items()
    }


def _table(results: Sequence[dict[str, tuple[float, float, int]]], shoppers: int) -> None:
    names = list(results[0])
    print(f"| policy | expected redemption rate | coupon-sensitive shoppers | redemptions "
          f"drawn (of {shoppers:,} offers) | vs random |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    base = float(np.mean([r["random valid coupon"][0] for r in results]))
    for name in names:
        rate = float(np.mean([r[name][0] for r in results]))
        sens = float(np.mean([r[name][1] for r in results]))
        drawn = float(np.mean([r[name][2] for r in results]))
        print(f"| {name} | {rate:.4f} | {sens:.4f} | {drawn:,.0f} | {rate / base:.2f}x |")


def main() -> None:
    """Run the comparison and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--share", type=float, default=0.3, help="coupon-sensitive shoppers")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    print(describe())
    start = time.perf_counter()
    results = [run(args.preset, args.share, seed) for seed in range(args.seeds)]
    shoppers = preset(args.preset).n_users
    print(f"{args.preset} shop, {args.seeds} seed(s), coupon-sensitive share {args.share}, "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    _table(results, shoppers)


if __name__ == "__main__":
    main()
