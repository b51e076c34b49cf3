"""The synthetic e-commerce shop: a realistic catalogue and event log with planted structure.

:func:`generate_shop` builds it from a :class:`SyntheticShopConfig` (or a named :func:`preset`),
:func:`write_shop` writes the folder (``events.csv.gz``, ``items.csv.gz``, ``truth.json``) and
:class:`PlantedTruth` records what a perfect model would know. See ``docs/synthetic.md``.
"""

from .config import PRESETS, SyntheticShopConfig, preset
from .coupons import CouponPlan, CouponTruth
from .shop import (
    EVENTS_FILE,
    GENERATION_STEPS,
    ITEMS_FILE,
    TRUTH_FILE,
    SyntheticShop,
    generate_shop,
    read_truth,
    write_shop,
)
from .truth import CategoryTruth, PlantedTruth
from .vocabulary import CATEGORIES, CategorySpec

__all__ = [
    "CATEGORIES",
    "EVENTS_FILE",
    "GENERATION_STEPS",
    "ITEMS_FILE",
    "PRESETS",
    "TRUTH_FILE",
    "CategorySpec",
    "CategoryTruth",
    "CouponPlan",
    "CouponTruth",
    "PlantedTruth",
    "SyntheticShop",
    "SyntheticShopConfig",
    "generate_shop",
    "preset",
    "read_truth",
    "write_shop",
]
