"""Request and response bodies of the HTTP API (pydantic models, shown in the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    field_validator,
)

from shoprec.events import (
    Description,
    Event,
    Id,
    IdKey,
    Item,
    JsonObject,
    Name,
    NameKey,
    Price,
    Title,
    json_integer,
)
from shoprec.types import EventType

# A JSON number where text is expected is taken as its text, as in events and items (ids are
# often numeric SKUs); the text types document it.
_STRICT = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
_Id = Id
#: Largest score multiplier a request may give an item or a category.
MAX_BOOST = 1000.0
#: Most items pinned by one request, and the last position a pin may name.
MAX_PINS = 100


_Position = Annotated[int, Field(ge=0, lt=MAX_PINS), BeforeValidator(json_integer)]

_Boost = Annotated[float, Field(strict=True, ge=0.0, le=MAX_BOOST, allow_inf_nan=False)]


class EventBatch(BaseModel):
    """Several events in one request: stored all together or, if one is invalid, none."""

    model_config = _STRICT

    events: list[Event]
    """The events, in the order they happened."""


def _event_body_kind(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


#: ``POST /v1/events`` takes one event object or ``{"events": [...]}``.
EventsBody = Annotated[
    Annotated[Event, Tag("event")] | Annotated[EventBatch, Tag("batch")],
    Discriminator(_event_body_kind),
]


class EventsAck(BaseModel):
    """Acknowledgement: the events are durable and the shoppers' state reflects them."""

    accepted: int
    """Number of events received (and acknowledged)."""
    new: int
    """Number of events stored now: not those whose ``event_id`` was stored before (a
    retry), nor those of a forgotten shopper."""
    last_seq: int
    """Sequence number of the last stored event (the store's last one when none was new)."""


class ItemBatch(BaseModel):
    """Catalogue items to insert or replace."""

    model_config = _STRICT

    items: list[Item]
    """The items; a later row for the same id wins."""


class ItemsAck(BaseModel):
    """Acknowledgement of a catalogue change."""

    upserted: int
    """Number of items written."""


class ItemPatch(BaseModel):
    """Fields of one item to change; fields left out keep their value."""

    model_config = _STRICT

    title: Title | None = None
    """Display name (``null`` removes it)."""
    description: Description | None = None
    """Long text (``null`` removes it)."""
    category: Name | None = None
    """Category path or name (``null`` removes it)."""
    brand: Name | None = None
    """Brand (``null`` removes it)."""
    price: Price | None = None
    """Current price (``null``: unknown)."""
    in_stock: Annotated[bool, Field(strict=True)] = True
    """Whether it can be bought now (``false`` removes it from every result at once)."""
    attributes: JsonObject | None = None
    """Other attributes, replacing the old ones (``null`` or ``{}`` removes them all)."""

    @field_validator("attributes")
    @classmethod
    def _none_clears(cls, value: dict[str, JsonValue] | None) -> dict[str, JsonValue]:
        return {} if value is None else value


class SessionEvent(BaseModel):
    """One event of an anonymous session (not stored)."""

    model_config = _STRICT

    item_id: _Id
    """The item."""
    event_type: EventType = EventType.VIEW
    """What the shopper did."""
    timestamp: Annotated[float, Field(strict=True, allow_inf_nan=False)] | None = None
    """When (seconds since the epoch)."""


class Context(BaseModel):
    """What an anonymous or explicit-context request knows about the shopper."""

    model_config = _STRICT

    user_id: _Id | None = None
    """A known shopper whose stored history is added (optional)."""
    session_id: _Id | None = None
    """Session id, used for stable A/B assignment of anonymous shoppers."""
    events: list[SessionEvent] = Field(default_factory=list, max_length=1000)
    """The session's events, oldest first."""
    cart: list[_Id] = Field(default_factory=list, max_length=1000)
    """Items in the cart."""
    item_id: _Id | None = None
    """The item on screen (product page)."""
    search: Name | None = None
    """Search text the results should match."""


class Filters(BaseModel):
    """Restrictions and merchandising of a POSTed recommendation request."""

    model_config = _STRICT

    category: Name | None = None
    """Only this category (or below it)."""
    min_price: Price | None = None
    """Only items at least this expensive."""
    max_price: Price | None = None
    """Only items at most this expensive."""
    exclude: list[_Id] = Field(default_factory=list, max_length=1000)
    """Items never to return."""
    boost_items: dict[IdKey, _Boost] = Field(default_factory=dict, max_length=1000)
    """Score multiplier per item."""
    boost_categories: dict[NameKey, _Boost] = Field(default_factory=dict, max_length=1000)
    """Score multiplier per category."""
    pins: dict[IdKey, _Position] = Field(default_factory=dict, max_length=MAX_PINS)
    """Items placed at fixed 0-based positions."""


class RecommendationQuery(Context, Filters):
    """Body of ``POST /v1/recommendations`` and ``POST /v1/cart/recommendations``."""

    n: Annotated[int, Field(ge=1), BeforeValidator(json_integer)] = 10
    """How many items."""
    scenario: Name | None = None
    """Placement (``home``, ``product``, ``cart``, ...); default by endpoint."""


class RecommendedItemOut(BaseModel):
    """One recommended item."""

    item_id: str
    """The item."""
    score: float
    """Blended score (higher is better)."""
    source: str
    """Where it came from: model, covisit, text, trending, search, contextual, catalog, pinned."""
    reason: str
    """A short explanation for the shopper."""
    title: str | None = None
    """The item's title, when the catalogue has one."""
    sponsored: bool = False
    """Whether a campaign paid for this slot (an ad; it still cleared the relevance floor)."""
    campaign_id: str | None = None
    """The campaign of a sponsored item: quote it as ``context.campaign_id`` in its click."""


class Recommendations(BaseModel):
    """A recommendation response."""

    items: list[RecommendedItemOut]
    """Best first."""
    recommendation_id: str
    """Quote it as ``context.recommendation_id`` in click/purchase events to count conversions."""
    variant: str
    """The A/B variant that served it."""
    model_version: str
    """The model version that scored it."""
    scenario: str
    """The scenario applied."""


class Forgotten(BaseModel):
    """Result of forgetting a shopper."""

    user_id: str
    """The shopper."""
    events_deleted: int
    """Stored events removed."""
    rejects_deleted: int
    """Rows removed from the rejects files under the service's home."""


class Unforgotten(BaseModel):
    """Result of un-forgetting a shopper."""

    user_id: str
    """The shopper."""
    was_forgotten: bool
    """Whether they were forgotten (their events were being refused) until now."""


class Reloaded(BaseModel):
    """Result of a model reload."""

    model_version: str
    """The version now serving."""
    changed: bool
    """Whether the version changed."""


class RetrainStarted(BaseModel):
    """A retraining run started in the background."""

    pid: int
    """Process id of the run (``shoprec retrain --once``)."""


class VariantStats(BaseModel):
    """Counters of one A/B variant."""

    name: str
    """Variant name."""
    weight: float
    """Configured weight."""
    impressions: int
    """Recommendation responses served."""
    clicks: int
    """Responses with at least one click event quoting their id."""
    conversions: int
    """Responses with at least one purchase event quoting their id."""
    ctr: float
    """clicks / impressions."""
    conversion_rate: float
    """conversions / impressions."""


class Experiments(BaseModel):
    """The running A/B test."""

    variants: list[VariantStats]
    """Every variant."""


class ItemOut(BaseModel):
    """A catalogue item as the shop page shows it."""

    item_id: str
    """The item."""
    title: str | None = None
    """Display name."""
    category: str | None = None
    """Category."""
    brand: str | None = None
    """Brand."""
    price: float | None = None
    """Current price."""
    in_stock: bool = True
    """Whether it can be bought now."""


class ItemList(BaseModel):
    """A page of the catalogue matching a search."""

    items: list[ItemOut]
    """Matching items, in listing order, from ``offset``."""
    total: int
    """How many items match in all."""
    offset: int
    """Index of the first item returned."""


class CategoryCount(BaseModel):
    """One category and how many listed items it has."""

    name: str
    """Category name."""
    items: int
    """Items listed in it."""


class Categories(BaseModel):
    """Every category of the catalogue, the largest first."""

    categories: list[CategoryCount]
    """The categories."""


class Shoppers(BaseModel):
    """Shoppers with stored events (a sample to try recommendations with)."""

    users: list[str]
    """User ids."""


class ModelInfo(BaseModel):
    """The model version serving and its training record (``metrics.json``)."""

    version: str | None
    """Version directory name (``None`` while no model is loaded)."""
    record: dict[str, JsonValue] = Field(default_factory=dict)
    """Its training record: model key, parameters, epochs, validation metrics, sizes."""


class AdminStats(BaseModel):
    """Everything the operator dashboard shows, computed from the service's own counters."""

    model: ModelInfo
    """The model serving."""
    variants: list[VariantStats]
    """A/B variants with impressions, clicks and CTR."""
    live_users: int
    """Shoppers whose live state is held in memory."""
    traffic: dict[str, JsonValue]
    """Request rate and latency series, events per second, served coverage and diversity,
    recent events (see ``serving.stats.LiveStats.snapshot``)."""
