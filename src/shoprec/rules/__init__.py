"""Business rules: availability and request filters, boosts, pins, diversity, exposure.

Owns what a response may contain and in what order once candidates are scored. Reads the
catalogue through :class:`CatalogView`. May import ``models`` and the layers below; must not
import ``retrieval``, ``ranking``, ``pipeline`` or anything above.
"""

from .boosts import Boosts, apply_boosts, apply_pins
from .catalog_view import CatalogView
from .diversity import mmr
from .exposure import ExposureRule, exposure_order, popularity_scale
from .filters import CATEGORY_SEPARATORS, FilterSpec, in_category, keep_mask, passes

__all__ = [
    "CATEGORY_SEPARATORS",
    "Boosts",
    "CatalogView",
    "ExposureRule",
    "FilterSpec",
    "apply_boosts",
    "apply_pins",
    "exposure_order",
    "in_category",
    "keep_mask",
    "mmr",
    "passes",
    "popularity_scale",
]
