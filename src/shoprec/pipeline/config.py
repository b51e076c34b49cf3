"""The pipeline's settings: sources, weights, rules and the scenarios (placements)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shoprec.models import default_event_weights
from shoprec.rules import ExposureRule


class ScenarioConfig(BaseModel):
    """How one placement (home page, product page, cart, search, ...) treats a request.

    Two placements change what is retrieved, not only how it is filtered:

    * **search** (``search_only``; any request with a ``search`` text retrieves this way):
      the text retrieves its matches (cosine of the item texts to the query text). A learned
      ranker then personalises exactly those candidates (its ``candidates(..., only=rows)``:
      every source and feature of the shopper, restricted to the matches), so two shoppers
      typing the same words see the same items in their own order. Without a ranker the
      weighted blend ranks them, the ``search`` source beside the others, as before. With
      ``search_only`` nothing else is shown: no fallback fills the rail with items that do
      not match.
    * **explore** (``explore``): categories the shopper has not touched but whose shoppers
      overlap most with the shopper's own (``retrieval.CategoryAffinity``; the trending
      categories when the pipeline has none). The candidates of the ranker (or the blend)
      plus the best-sellers of those categories, restricted to them, are ranked as usual and
      shown round-robin across the categories in affinity order, so the rail shows several.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    personal: bool = True
    """Use the shopper's history (``False``: only the items on screen count)."""
    exclude_seen: bool = False
    """Leave out items in the shopper's history."""
    exclude_purchased: bool = True
    """Leave out items the shopper bought."""
    exclude_cart: bool = False
    """Leave out items in the cart."""
    blend_weights: dict[str, float] | None = None
    """Source weights for this scenario (``None``: the pipeline's)."""
    diversity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """MMR weight for this scenario (``None``: the pipeline's)."""
    reason: str = "because you {verb} {title}"
    """Template of an explanation from a shopper's own event (``{verb}``, ``{title}``)."""
    context_reason: str = "goes well with {title}"
    """Template of an explanation from an item on screen or in the cart (``{title}``)."""
    search_only: bool = False
    """With a search text, show only the items the text retrieves (no fallback fill)."""
    explore: bool = False
    """Show categories the shopper has not touched whose shoppers overlap with theirs."""
    explore_categories: Annotated[int, Field(ge=1)] = 4
    """How many untouched categories an explore rail mixes."""
    explore_reason: str = "shoppers like you also browse {category}"
    """Template of an explanation of an explore item (``{category}``)."""
    exposure: ExposureRule = Field(default_factory=ExposureRule)
    """Exposure-aware re-ranking (popularity mix, per-brand cap); off by default (#21)."""


def default_scenarios() -> dict[str, ScenarioConfig]:
    """The built-in scenarios by name.

    ``home``, ``product``, ``similar``, ``bought_together``, ``cart``, ``rebuy``, ``search``
    and ``explore`` (see :class:`ScenarioConfig`).
    """
    covisit_first = {"covisit": 1.0, "model": 0.5, "text": 0.1, "trending": 0.05}
    return {
        "home": ScenarioConfig(exclude_seen=True),
        "product": ScenarioConfig(),
        "similar": ScenarioConfig(
            personal=False,
            exclude_purchased=False,
            blend_weights={"model": 1.0, "covisit": 0.7, "text": 0.5},
            context_reason="similar to {title}",
        ),
        "bought_together": ScenarioConfig(
            personal=False,
            exclude_purchased=False,
            blend_weights=covisit_first,
            context_reason="often bought with {title}",
        ),
        "cart": ScenarioConfig(
            exclude_cart=True, blend_weights=covisit_first, context_reason="goes with {title}"
        ),
        "rebuy": ScenarioConfig(exclude_purchased=False, blend_weights={"model": 1.0}),
        "search": ScenarioConfig(exclude_purchased=False, search_only=True),
        "explore": ScenarioConfig(exclude_seen=True, explore=True),
    }


class PipelineConfig(BaseModel):
    """Sources, weights and rules of the recommendation pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blend_weights: dict[str, float] = Field(
        default_factory=lambda: {"model": 1.0, "covisit": 0.6, "text": 0.2, "trending": 0.1}
    )
    """Weight of each source (``model``, ``covisit``, ``text``, ``trending``, ``search``)."""
    event_weights: dict[str, float] = Field(default_factory=default_event_weights)
    """Strength of each event type in anchors and trending; 0 drops the event from queries."""
    diversity: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    """MMR weight: 0 keeps the ranked order, 1 spreads categories (and embeddings) most."""
    candidates_per_source: Annotated[int, Field(ge=1)] = 100
    """Candidates each source of the blend (and a search text) contributes."""
    n_anchors: Annotated[int, Field(ge=1)] = 5
    """Latest distinct history items that co-visitation and text similarity start from."""
    model_attribution: bool = True
    """Ask a model that can explain itself which history event drove each of its items (for
    the Transformer, one more forward pass per request); off, its items take their reason
    from the co-visitation or text anchors that also found them."""
    text_encoder: str | None = "hashing-64"
    """Encoder of item texts for the text source and diversity (``None``: no text source)."""
    ann_min_items: Annotated[int, Field(ge=1)] = 200_000
    """Catalogues this large are searched through a vector index (faiss IVF) when the model
    scores by inner products (ALS, the Transformer); smaller ones are scored exactly."""
    ann_nprobe: Annotated[int, Field(ge=1)] = 32
    """Index cells scanned per request: recall against speed (see ``docs/serving.md``)."""
    trending_half_life_hours: Annotated[float, Field(gt=0.0)] = 24.0
    """Age at which an event counts half in trending."""
    trending_resort_s: Annotated[float, Field(ge=0.0)] = 1.0
    """The trending ranking is re-sorted at most this often."""
    scenarios: dict[str, ScenarioConfig] = Field(default_factory=default_scenarios)
    """Placements by name; a request names one (default ``home``)."""
