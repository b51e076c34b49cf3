"""Response bodies of the brand, seller, trending and fair-exposure routes (#21).

Kept beside :mod:`shoprec.serving.schemas` (the recommendation and catalogue bodies) so the
two grow without stepping on each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BrandOut(BaseModel):
    """One brand (or seller) recommended to a shopper."""

    name: str = Field(description="The brand or seller.")
    score: float = Field(description="Own-history share plus weighted co-engagement.")
    source: Literal["history", "co-engagement"] = Field(
        description="Whether the shopper engaged with it, or shoppers of their brands do."
    )
    because: str | None = Field(
        default=None, description="For a co-engaged brand: the shopper's brand that led to it most."
    )


class Brands(BaseModel):
    """A shopper's brands or sellers, best first."""

    user_id: str
    group_by: Literal["brand", "seller"]
    brands: list[BrandOut]


class TrendingItem(BaseModel):
    """One trending item: now (decayed counts) or forecast for the next day."""

    item_id: str
    title: str | None = None
    score: float = Field(description="Relative trending score now (1 = the top item).")
    today: float | None = Field(
        default=None, description="With a horizon: weighted events on the last complete day."
    )
    forecast: float | None = Field(
        default=None, description="With a horizon: forecast weighted events of the next day."
    )
    rise: float | None = Field(default=None, description="With a horizon: forecast minus today.")


class Trending(BaseModel):
    """Trending items, or with ``horizon=1d`` tomorrow's forecast hot items."""

    horizon: Literal["now", "1d"]
    order: Literal["score", "forecast", "rise"]
    day: str | None = Field(
        default=None, description="With a horizon: the day forecast (ISO date)."
    )
    items: list[TrendingItem]


class GroupShare(BaseModel):
    """A brand's share of what was served beside its share of interactions."""

    name: str
    exposure_share: float
    interaction_share: float


class AtRiskItem(BaseModel):
    """An in-stock item whose forecast demand exceeds its stock."""

    item_id: str
    title: str | None = None
    stock: float = Field(description="``attributes.stock`` of the item.")
    forecast: float = Field(description="Forecast weighted events of the next day.")


class Exposure(BaseModel):
    """Fair exposure of what the service served since it started, and the demand outlook."""

    impressions: int = Field(description="Item slots served since the service started.")
    gini: float = Field(description="Gini of impressions over the listed items (0 = even).")
    long_tail_share: float | None = Field(
        description="Share of impressions outside the short head (20% of interactions)."
    )
    exposure_gap_brand: float = Field(
        description="Total variation distance of brand exposure vs interaction shares."
    )
    brands: list[GroupShare] = Field(description="The 10 most exposed brands.")
    sellers: list[GroupShare] = Field(description="The 10 most exposed sellers (if any).")
    rising: list[TrendingItem] = Field(description="Tomorrow's most rising items (forecast).")
    at_risk: list[AtRiskItem] = Field(description="In-stock items whose forecast exceeds stock.")
    forecast_ready: bool = Field(description="Whether the demand forecast is fitted.")
