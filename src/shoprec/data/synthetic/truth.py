"""What was planted in a synthetic shop: the facts a perfect model would know (``truth.json``)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .catalog import DAY, NEVER, Catalog
from .config import SyntheticShopConfig
from .coupons import CouponPlan
from .vocabulary import Role

Trend = Literal["rising", "falling", "flat"]
_TRENDS: dict[int, Trend] = {1: "rising", -1: "falling", 0: "flat"}


class CategoryTruth(BaseModel):
    """One category of the shop and the behaviour planted in it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str
    """Category name as in the catalogue."""
    family: str
    """Main category of its family, or its own name for a standalone category."""
    role: Role
    """``main``, ``accessory`` (bought after its family's main product) or ``standalone``."""
    n_items: int
    """Items in the category."""
    accessories: tuple[str, ...] = ()
    """For a main category: the accessory categories its complements come from."""
    repeat_interval_days: float | None = None
    """For a consumable: days between repeat purchases of the same item (median)."""
    trend: Trend = "flat"
    """Whether the category's share of sessions rises, falls or stays flat over time."""


class PlantedTruth(BaseModel):
    """The structure planted in a synthetic shop, written to ``truth.json``.

    Times are seconds since the Unix epoch (UTC), as in the event log.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    config: SyntheticShopConfig
    """The config the shop was generated from (seed included)."""
    start_timestamp: float
    """Start of the log (the first day's UTC midnight)."""
    end_timestamp: float
    """End of the log (exclusive)."""
    categories: tuple[CategoryTruth, ...]
    """Every category in use."""
    complements: dict[str, tuple[str, ...]]
    """Main item -> its complements (one per accessory category); after buying the main item
    the shopper's next purchase is one of them with probability ``accessory_probability``."""
    launches: dict[str, float]
    """Items launched during the range -> launch time; no event precedes it."""
    sold_out: dict[str, float]
    """Items that sell out -> time from which they have no cart, purchase or favourite event."""
    coupons: CouponPlan = CouponPlan()
    """Planted coupons and each shopper's response to them (empty unless
    ``coupon_sensitive_share`` is above 0)."""

    @property
    def rising_categories(self) -> tuple[str, ...]:
        """Categories whose popularity rises over time."""
        return tuple(c.name for c in self.categories if c.trend == "rising")

    @property
    def falling_categories(self) -> tuple[str, ...]:
        """Categories whose popularity falls over time."""
        return tuple(c.name for c in self.categories if c.trend == "falling")

    @property
    def repeat_intervals(self) -> dict[str, float]:
        """Consumable category -> repeat interval in days."""
        return {
            c.name: c.repeat_interval_days
            for c in self.categories
            if c.repeat_interval_days is not None
        }


def build_truth(
    config: SyntheticShopConfig,
    catalog: Catalog,
    start: float,
    coupons: CouponPlan | None = None,
) -> PlantedTruth:
    """Collect the planted facts of a generated catalogue.

    Args:
        config: The shop's config.
        catalog: The generated catalogue.
        start: Epoch seconds of the log's start.
        coupons: The planted coupons and responses (default: none).

    Returns:
        The truth, with item ids as in the catalogue frame.
    """
    ids = catalog.frame["item_id"].to_list()
    counts = np.bincount(catalog.category, minlength=len(catalog.categories))
    categories = tuple(
        CategoryTruth(
            name=spec.name,
            family=spec.family,
            role=spec.role,
            n_items=int(counts[c]),
            accessories=tuple(
                a.name
                for a in catalog.categories
                if spec.role == "main" and a.family == spec.name and a.role == "accessory"
            ),
            repeat_interval_days=int(catalog.interval[c]) / DAY if catalog.interval[c] else None,
            trend=_TRENDS[int(catalog.trend[c])],
        )
        for c, spec in enumerate(catalog.categories)
    )
    mains = np.flatnonzero(catalog.complement_items[:, 0] >= 0)
    complements = {
        ids[m]: tuple(ids[k] for k in row if k >= 0)
        for m, row in zip(mains.tolist(), catalog.complement_items[mains].tolist(), strict=True)
    }
    launched = np.flatnonzero(catalog.launch > 0)
    sold = np.flatnonzero(catalog.sold_out != NEVER)
    return PlantedTruth(
        config=config,
        start_timestamp=start,
        end_timestamp=start + config.n_days * DAY,
        categories=categories,
        complements=complements,
        launches={ids[k]: start + float(catalog.launch[k]) for k in launched.tolist()},
        sold_out={ids[k]: start + float(catalog.sold_out[k]) for k in sold.tolist()},
        coupons=coupons or CouponPlan(),
    )
