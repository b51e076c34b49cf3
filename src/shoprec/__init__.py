"""shoprec: a real-time personalized recommendation engine for e-commerce.

Importing this package is cheap: it loads no torch and no model code.
"""

from .errors import ShoprecError
from .types import Candidates, Columns, EventType, HistoryEvent, ItemId, Query, UserId

__version__ = "0.1.0"

__all__ = [
    "Candidates",
    "Columns",
    "EventType",
    "HistoryEvent",
    "ItemId",
    "Query",
    "ShoprecError",
    "UserId",
    "__version__",
]
