"""Promotions: which coupons to offer a shopper, and sponsored products among organic results.

Owns the decisions, not the storage: the expected-uplift model ranking a shopper's usable
coupons (:func:`rank_coupons`, the model in ``coupons.py``), and the sponsored-slot auction
(:func:`eligible_bids`, :func:`run_auction`, :func:`blend`): a relevance floor, ``bid x
p_click`` and budgets charged atomically with pacing. The coupons, campaigns and budget
ledgers themselves are stores of ``shoprec.events``; ``shoprec.serving`` wires them to the
routes. May import ``rules`` and the layers below it; must not import ``pipeline`` (its peer)
or anything above.
"""

from .config import CouponModelConfig, PromotionsConfig, SponsoredConfig
from .coupons import (
    CouponOffer,
    ScopeIndex,
    ShopperProfile,
    in_scope,
    purchase_probabilities,
    rank_coupons,
)
from .sponsored import (
    Bid,
    blend,
    click_probability,
    eligible_bids,
    paced_cap,
    run_auction,
    targets_match,
    utc_day,
)

__all__ = [
    "Bid",
    "CouponModelConfig",
    "CouponOffer",
    "PromotionsConfig",
    "ScopeIndex",
    "ShopperProfile",
    "SponsoredConfig",
    "blend",
    "click_probability",
    "eligible_bids",
    "in_scope",
    "paced_cap",
    "purchase_probabilities",
    "rank_coupons",
    "run_auction",
    "targets_match",
    "utc_day",
]
