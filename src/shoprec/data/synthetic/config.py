"""The knobs of the synthetic shop and its named presets (``small``, ``demo``, ``large``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shoprec.errors import ConfigError

from .vocabulary import BRAND_PREFIXES, BRAND_SUFFIXES, CATEGORIES


class SyntheticShopConfig(BaseModel):
    """Size, time range and planted behaviour of a synthetic shop; the defaults are the demo.

    The same config (seed included) always generates identical frames.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    n_users: int = Field(default=3_000, ge=1)
    """Number of shoppers."""
    n_items: int = Field(default=1_500, ge=1)
    """Number of catalogue items (at least one per category)."""
    n_categories: int = Field(default=len(CATEGORIES), ge=1, le=len(CATEGORIES))
    """Categories used: a prefix of the built-in list (families first, then standalone ones)."""
    n_brands: int = Field(default=60, ge=1, le=len(BRAND_PREFIXES) * len(BRAND_SUFFIXES))
    """Number of brands; each brand sells within one family or standalone category."""
    n_days: int = Field(default=90, ge=1)
    """Length of the event log in days."""
    start_date: date = date(2024, 1, 1)
    """First day of the log (UTC midnight)."""
    seed: int = 0
    """Random seed."""

    mean_sessions: float = Field(default=10.0, gt=0)
    """Mean number of browsing sessions per shopper over the whole range."""
    activity_skew: float = Field(default=0.8, ge=0)
    """Log-normal sigma of shopper activity: larger means a heavier tail of very active users."""
    views_per_session: float = Field(default=3.0, ge=0)
    """Mean number of extra item views in a session beyond the first."""
    explore_rate: float = Field(default=0.2, ge=0, le=1)
    """Share of sessions that browse a category outside the shopper's three favourites."""
    brand_loyalty: float = Field(default=1.5, ge=0)
    """Utility bonus (log scale) of the shopper's favourite brand when choosing among items."""
    price_sensitivity: float = Field(default=1.0, ge=0)
    """Mean price sensitivity: utility falls by this much per unit of log(price / median)."""
    popularity_skew: float = Field(default=1.2, ge=0)
    """Log-normal sigma of item popularity within a category."""

    view_to_cart: float = Field(default=0.3, ge=0, le=1)
    """Probability that a session ends with one of its viewed items added to the cart."""
    cart_to_purchase: float = Field(default=0.6, ge=0, le=1)
    """Probability that an item added to the cart is bought in the same session."""
    favorite_rate: float = Field(default=0.03, ge=0, le=1)
    """Probability that a view is followed by a ``favorite`` event for the item."""

    accessory_probability: float = Field(default=0.6, ge=0, le=1)
    """Probability that buying a main product is followed by buying one of its 3 complements."""
    accessory_delay_hours: float = Field(default=6.0, gt=0)
    """Mean delay between buying a main product and the complement session (exponential)."""

    consumable_share: float = Field(default=0.25, ge=0, lt=1)
    """Share of the catalogue in consumable categories (coffee beans, ink, shampoo, ...)."""
    repeat_probability: float = Field(default=0.8, ge=0, le=1)
    """Probability that a consumable purchase is followed by buying the same item again."""
    repeat_interval_days: float = Field(default=14.0, gt=0)
    """Base repeat interval; each consumable category uses 1x, 1.5x or 2x of it."""
    repeat_jitter: float = Field(default=0.1, ge=0)
    """Log-normal sigma of each repeat gap around the category's interval."""

    drift_strength: float = Field(default=2.0, ge=0)
    """Log of how much a rising category's popularity grows from the first to the last day."""
    rising_categories: int = Field(default=3, ge=0)
    """Number of categories whose popularity rises over time."""
    falling_categories: int = Field(default=2, ge=0)
    """Number of categories whose popularity falls over time."""

    new_item_share: float = Field(default=0.1, ge=0, lt=1)
    """Share of items launched during the range (no events before their launch)."""
    new_item_boost: float = Field(default=0.15, ge=0, le=1)
    """Probability that a view goes to an item launched in the last ``novelty_days``."""
    novelty_days: float = Field(default=14.0, gt=0)
    """How long an item counts as new for ``new_item_boost``."""
    out_of_stock_share: float = Field(default=0.02, ge=0, lt=1)
    """Share of items that sell out during the range (no cart or purchase events after)."""

    coupon_sensitive_share: float = Field(default=0.0, ge=0, le=1)
    """Share of shoppers who respond to discounts in the categories they like (0: no coupons
    are planted; see ``coupons.py`` for the planted redemption probability)."""
    n_coupons: int = Field(default=12, ge=1, le=10_000)
    """Coupons planted (one category each) when ``coupon_sensitive_share`` is above 0."""

    @model_validator(mode="after")
    def _fits(self) -> SyntheticShopConfig:
        if self.n_items < self.n_categories:
            raise ValueError(
                f"n_items ({self.n_items}) must be at least n_categories ({self.n_categories})"
            )
        if self.rising_categories + self.falling_categories > self.n_categories:
            raise ValueError(
                "rising_categories + falling_categories must not exceed n_categories"
                f" ({self.rising_categories} + {self.falling_categories} > {self.n_categories})"
            )
        return self


#: Named configurations: ``small`` for tests, ``demo`` (the defaults), ``large`` for benchmarks.
PRESETS: dict[str, dict[str, Any]] = {
    "small": {"n_users": 200, "n_items": 150, "n_categories": 16, "n_brands": 20, "n_days": 60},
    "demo": {},
    "large": {
        "n_users": 200_000,
        "n_items": 1_000_000,
        "n_brands": 1_000,
        "n_days": 180,
        "mean_sessions": 11.0,
    },
}


def preset(name: str, **overrides: Any) -> SyntheticShopConfig:
    """The named preset with ``overrides`` applied (``None`` values are ignored).

    Args:
        name: One of :data:`PRESETS`.
        **overrides: Config fields to change.

    Returns:
        The validated config.

    Raises:
        ConfigError: ``name`` is not a preset, or the result is not a valid config.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    values = {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return SyntheticShopConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(
            ".".join(str(part) for part in e["loc"]) + f" = {e['input']!r}: {e['msg']}"
            if e["loc"]
            else e["msg"].removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"invalid synthetic shop config: {problems}") from None
