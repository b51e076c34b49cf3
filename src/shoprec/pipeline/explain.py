"""The explain stage: a short reason per shown item, from what the slate carries.

An item a learned ranker ranked is explained by the feature that pushed its score up most
(its contribution, computed for the shown rows only): co-visitation with an anchor -> "bought
together with X", category share or recent popularity -> "popular in Running Shoes this week",
price ratio -> "matches your price range", brand -> "more from Acme", text similarity ->
"similar to X", a sequence model's score -> "because you viewed X". An item nobody has interacted
with yet, whose co-visitation and popularity are its text neighbours', is "new in our shop" where
those would speak. Any other item is explained by its source and the anchor that brought it
("because you viewed X", "trending now").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from shoprec.rules import CatalogView
from shoprec.types import ItemId, Query

from .capabilities import Explains, RankedModel
from .diversify import category_of
from .request import Context
from .rules_stage import PINNED
from .slate import Slate

VERBS = {
    "view": "viewed",
    "click": "viewed",
    "addtocart": "added to your cart",
    "removefromcart": "looked at",
    "purchase": "bought",
    "coupon_redeem": "bought",
    "favorite": "liked",
    "review": "reviewed",
    "rating": "rated",
    "search": "searched for",
}

#: Reasons of the fallback sources and the other sources without an anchor.
SOURCE_REASONS = {
    "trending": "trending now",
    "popular": "popular in our shop",
    "search": "matches your search",
    "new": "new in our shop",
    PINNED: "featured",
}
#: Reason when nothing better is known.
DEFAULT_REASON = "picked for you"

# Reasons from a ranker's features.
BOUGHT_TOGETHER = "bought together with {title}"
SIMILAR = "similar to {title}"
POPULAR_IN = "popular in {category} this week"
POPULAR_RECENTLY = "popular this week"
PRICE_RANGE = "matches your price range"
MORE_FROM = "more from {brand}"
POPULAR = "popular in our shop"
NEW = "new in our shop"
BEFORE = {
    "seen_before": "you viewed it before",
    "carted_before": "you added it to your cart before",
    "purchased_before": "you bought it before",
}
CATEGORY_FEATURES = frozenset({"same_category_last", "category_share", "pop_recent"})
BRAND_FEATURES = frozenset({"same_brand_last", "brand_share"})
POPULARITY_FEATURES = frozenset({"pop_all", "pop_view", "pop_cart", "pop_purchase", "pop_favorite"})

Attribute = Callable[[list[ItemId]], Mapping[ItemId, ItemId]]


def contribute(slate: Slate, ranker: RankedModel) -> Slate:
    """The slate with each ranked row's feature contributions (rows added later: NaN).

    Called on the shown slate only: contributions cost about as much as ranking again.
    """
    if slate.features is None or not len(slate):
        return slate
    ranked = ~np.isnan(slate.features).all(axis=1)
    out = np.full(slate.features.shape, np.nan, dtype=np.float32)
    if ranked.any():
        out[ranked] = ranker.contributions(slate.features[ranked])
    return replace(slate, contributions=out)


def attribution(
    model: Explains, query: Query, item_ids: list[ItemId], n_last: int
) -> dict[ItemId, ItemId]:
    """The history item that drove each of ``item_ids`` most, by the model's own account."""
    if not (item_ids and query.history):
        return {}
    drivers = model.explain(query, item_ids, n_last)
    return {i: pairs[0][0] for i, pairs in drivers.items() if pairs and pairs[0][1] > 0}


def explain(
    slate: Slate,
    ctx: Context,
    catalog: CatalogView,
    attribute: Attribute | None = None,
    explore: Collection[str] = (),
    unseen: Collection[ItemId] = (),
) -> Slate:
    """The slate with a reason per item (see the module docs).

    Args:
        slate: The items shown, in order.
        ctx: The request (its scenario's wording, the shopper's history).
        catalog: Titles, categories and brands.
        attribute: Which history item drove each of the given model-found items (a model
            that explains itself); asked once, for the items that need it.
        explore: The explore rail's categories: their items are explained by the rail.
        unseen: Items without any event, which the ranker knows by their text neighbours.
    """
    writer = _Writer(slate, ctx, catalog, unseen)
    rail = [
        c if (c := category_of(catalog, i)) in explore and source != PINNED else None
        for i, source in zip(slate.item_ids, slate.sources, strict=True)
    ]
    by_feature = {row: writer.feature_reason(row) for row in range(len(slate)) if not rail[row]}
    wanted = [
        slate.item_ids[row]
        for row, found in by_feature.items()
        if (found is None and slate.sources[row] == "model") or found == _NEEDS_ATTRIBUTION
    ]
    attributed = attribute(wanted) if attribute is not None and wanted else {}
    reasons: list[str] = []
    for row, item_id in enumerate(slate.item_ids):
        if rail[row]:
            reasons.append(ctx.scenario.explore_reason.format(category=rail[row]))
        elif by_feature[row] == _NEEDS_ATTRIBUTION:
            reasons.append(writer.from_history(attributed.get(item_id) or writer.latest))
        elif (found := by_feature[row]) is not None:
            reasons.append(found)
        else:
            reasons.append(writer.source_reason(row, attributed.get(item_id)))
    return replace(slate, reasons=tuple(reasons))


#: Marks a reason that names the history item the model credits (known after attribution).
_NEEDS_ATTRIBUTION = "\0attribution"


class _Writer:
    """Writes the reasons of one slate (holds what every row reads)."""

    def __init__(
        self, slate: Slate, ctx: Context, catalog: CatalogView, unseen: Collection[ItemId]
    ) -> None:
        self.slate = slate
        self.ctx = ctx
        self.catalog = catalog
        self.unseen = unseen
        self.events = {e.item_id: e.event_type for e in ctx.query.history}
        self.context = set(ctx.query.context_items)
        self.latest = ctx.query.history[-1].item_id if ctx.query.history else None
        # Per row, the features by contribution, largest first (rows not ranked: none).
        contributions = slate.contributions
        self.ranked: npt.NDArray[np.bool_] = np.zeros(len(slate), dtype=bool)
        if contributions is not None:
            self.ranked = np.asarray(~np.isnan(contributions).all(axis=1))
        self.values = np.nan_to_num(contributions, nan=0.0) if contributions is not None else None
        self.order = (
            np.argsort(-self.values, axis=1, kind="stable") if self.values is not None else None
        )

    def from_history(self, anchor: ItemId | None) -> str:
        """The reason naming a history item, or the scenario's wording for an item on screen."""
        if anchor is None:
            return DEFAULT_REASON
        title = self.catalog.title(anchor)
        if anchor in self.context:
            return self.ctx.scenario.context_reason.format(title=title)
        verb = VERBS.get(self.events.get(anchor, "view"), "viewed")
        return self.ctx.scenario.reason.format(verb=verb, title=title)

    def source_reason(self, row: int, attributed: ItemId | None) -> str:
        """The reason of a row from its source and the anchor that brought it."""
        slate = self.slate
        source = slate.sources[row]
        if source == PINNED:
            return SOURCE_REASONS[PINNED]
        anchor = attributed or slate.anchor(row)
        if anchor is not None:
            return self.from_history(anchor)
        category = category_of(self.catalog, slate.item_ids[row])
        if source == "contextual":
            return f"popular in {category}"
        if source == "bestseller":
            return f"a best-seller in {category}"
        if source not in SOURCE_REASONS and source_kind(source) == "popular":
            return POPULAR  # a ranker's popularity source
        return SOURCE_REASONS.get(source, DEFAULT_REASON)

    def feature_reason(self, row: int) -> str | None:
        """The reason of the feature that pushed the row's ranker score up most, if any."""
        if self.values is None or self.order is None or not self.ranked[row]:
            return None
        values = self.values[row]
        for f in self.order[row]:
            if values[f] <= 0:
                break
            found = self._reason_of(self.slate.feature_names[f], row)
            if found is not None:
                return found
        return None

    def _reason_of(self, feature: str, row: int) -> str | None:
        if self.slate.item_ids[row] in self.unseen and _reads_events(
            feature, self.slate.source_names
        ):
            return NEW  # not bought with anything, not popular: its neighbours are
        item = self.catalog.get(self.slate.item_ids[row])
        if feature in CATEGORY_FEATURES:
            if item is not None and item.category:
                return POPULAR_IN.format(category=item.category)
            return POPULAR_RECENTLY if feature == "pop_recent" else None
        if feature in BRAND_FEATURES:
            return MORE_FROM.format(brand=item.brand) if item is not None and item.brand else None
        if feature == "price_ratio":
            return PRICE_RANGE
        if feature in POPULARITY_FEATURES:
            return POPULAR
        if feature == "age_days":
            return NEW
        if feature in BEFORE:
            return BEFORE[feature]
        if feature.startswith("text_sim"):
            return self._similar()
        source = source_of(feature, self.slate.source_names)
        if source is None:
            return None  # a shopper or context feature: the same for every item
        kind = source_kind(source)
        if kind == "covisit":
            anchor = self.slate.anchors.get("covisit", {}).get(self.slate.item_ids[row])
            if anchor is None:
                return None
            title = self.catalog.title(anchor)
            if anchor in self.context:
                return self.ctx.scenario.context_reason.format(title=title)
            return BOUGHT_TOGETHER.format(title=title)
        if kind == "text":
            return self._similar()
        if kind == "popular":
            return POPULAR
        return _NEEDS_ATTRIBUTION if self.latest is not None else None

    def _similar(self) -> str | None:
        return SIMILAR.format(title=self.catalog.title(self.latest)) if self.latest else None


def _reads_events(feature: str, sources: Sequence[str]) -> bool:
    """Whether a feature counts the item's own events (co-visitation, popularity)."""
    if feature in POPULARITY_FEATURES or feature == "pop_recent":
        return True
    source = source_of(feature, sources)
    return source is not None and source_kind(source) in ("covisit", "popular")


def source_of(feature: str, sources: Sequence[str]) -> str | None:
    """The candidate source a per-source feature belongs to (``covisit_score`` -> ``covisit``)."""
    for source in sorted(sources, key=len, reverse=True):
        if feature.startswith(f"{source}_") or feature.endswith(f"_{source}"):
            return source
    return None


def source_kind(source: str) -> str:
    """What kind of evidence a source is: ``covisit``, ``text``, ``popular`` or ``model``."""
    if source.startswith("covisit"):
        return "covisit"
    if source.startswith("text") or source == "search":
        return "text"
    if source.startswith("popular") or source == "trending":
        return "popular"
    return "model"
