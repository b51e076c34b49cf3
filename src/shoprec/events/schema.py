"""Pydantic models of one event and one catalogue item as they arrive over an API, and their rows.

A row is the model's values in canonical column order (``EVENT_SCHEMA`` / ``ITEM_SCHEMA``) with
the free-form dict stored as JSON text: the form both stores keep and the training frame has.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from shoprec.errors import Problem, ValidationError
from shoprec.types import EventType

#: An event in ``EVENT_SCHEMA`` column order (context as JSON text or ``None``).
EventRow: TypeAlias = tuple[str, str, str, float, float | None, str | None, str | None]
#: An item in ``ITEM_SCHEMA`` column order (attributes as JSON text or ``None``).
ItemRow: TypeAlias = tuple[
    str, str | None, str | None, str | None, str | None, float | None, bool, str | None
]

#: Longest id (user, item, session) the API accepts.
MAX_ID_LENGTH = 256
#: Longest short text (category, brand, scenario, search) the API accepts.
MAX_NAME_LENGTH = 1000
#: Longest title the API accepts.
MAX_TITLE_LENGTH = 2000
#: Longest description the API accepts.
MAX_DESCRIPTION_LENGTH = 100_000
#: Largest free-form JSON object (an event's context, an item's attributes), UTF-8 bytes.
MAX_JSON_BYTES = 16_384
#: Largest magnitude of an event's value or an item's price.
MAX_AMOUNT = 1e12
#: The key of a ``coupon_redeem`` event's context naming the coupon redeemed.
COUPON_ID = "coupon_id"
#: The key of a ``click`` event's context naming the sponsored campaign clicked.
CAMPAIGN_ID = "campaign_id"


def _utf8(value: str) -> str:
    """Refuse text that is not valid Unicode (JSON can carry lone UTF-16 surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid UTF-8 text (it holds a lone surrogate)") from None
    return value


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse objects that cannot be stored as standard JSON text, or are too large."""
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("not valid UTF-8 text (it holds a lone surrogate)") from None
    except ValueError:
        raise ValueError("numbers must be finite (no NaN or Infinity)") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{size} bytes as JSON; at most {MAX_JSON_BYTES}")
    return value


_UTF8 = AfterValidator(_utf8)


# No NUL character: PostgreSQL cannot store one in text, so no store accepts it.
_NO_NUL = r"^[^\x00]*$"


def _text_schema(max_length: int, min_length: int = 0) -> WithJsonSchema:
    """What the API documents for a text field: a string, or a number taken as its text."""
    string = {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": "^[^\\u0000]*$",
    }
    return WithJsonSchema({"anyOf": [string, {"type": "number"}]})


def json_integer(value: object) -> object:
    """Accept what JSON Schema calls an integer (``3``, ``3.0``), not ``true`` or ``"3"``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Input should be a valid integer")
    return value


#: An id: 1 to :data:`MAX_ID_LENGTH` characters of valid UTF-8 (a JSON number: its text).
Id: TypeAlias = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=_NO_NUL),
    _UTF8,
    _text_schema(MAX_ID_LENGTH, 1),
]
#: A short text (category, brand, search words): valid UTF-8 up to :data:`MAX_NAME_LENGTH`.
Name: TypeAlias = Annotated[
    str, Field(max_length=MAX_NAME_LENGTH, pattern=_NO_NUL), _UTF8, _text_schema(MAX_NAME_LENGTH)
]
#: A title: valid UTF-8 up to :data:`MAX_TITLE_LENGTH` characters.
Title: TypeAlias = Annotated[
    str, Field(max_length=MAX_TITLE_LENGTH, pattern=_NO_NUL), _UTF8, _text_schema(MAX_TITLE_LENGTH)
]
#: A description: valid UTF-8 up to :data:`MAX_DESCRIPTION_LENGTH` characters.
Description: TypeAlias = Annotated[
    str,
    Field(max_length=MAX_DESCRIPTION_LENGTH, pattern=_NO_NUL),
    _UTF8,
    _text_schema(MAX_DESCRIPTION_LENGTH),
]
#: A JSON object key that is an id, in a request only (never stored: a NUL is harmless).
IdKey: TypeAlias = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH), _UTF8]
#: A JSON object key that is a short text (a category).
NameKey: TypeAlias = Annotated[str, Field(max_length=MAX_NAME_LENGTH), _UTF8]
#: A free-form JSON object, stored as JSON text (at most :data:`MAX_JSON_BYTES`).
JsonObject: TypeAlias = Annotated[dict[str, JsonValue], AfterValidator(_json_object)]
#: A finite amount, at most :data:`MAX_AMOUNT` in magnitude.
Amount: TypeAlias = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
]
#: A price: finite, non-negative, at most :data:`MAX_AMOUNT`.
Price: TypeAlias = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_AMOUNT)]

# Strict: a JSON true/false is not a time (a number or an ISO 8601 text is, see Event).
_Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]

# Ids often arrive as JSON numbers (e.g. SKU 1234); they are stored as text either way.
_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _dump_json(value: Mapping[str, Any]) -> str | None:
    """Compact JSON text of a non-empty mapping; ``None`` for an empty one (stored as NULL)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else None


def _load_json(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def problems_from_pydantic(
    error: PydanticValidationError, source: str, line: int | None = None
) -> list[Problem]:
    """Turn a pydantic validation error into shoprec problems, one per failing field.

    Args:
        error: The error pydantic raised.
        source: What was being validated (e.g. ``"event batch"``), shown first in messages.
        line: Row or line of the input, if it has one.

    Returns:
        One :class:`~shoprec.errors.Problem` per error, its field the dotted pydantic location.
    """
    return [
        Problem(source, line, ".".join(str(part) for part in e["loc"]) or None, e["msg"])
        for e in error.errors(include_url=False)
    ]


# What the OpenAPI document says of a redemption: its context names the coupon (as validated).
_REDEMPTION_SCHEMA: dict[str, JsonValue] = {
    "if": {
        "properties": {"event_type": {"const": "coupon_redeem"}},
        "required": ["event_type"],
    },
    "then": {
        "required": ["context"],
        "properties": {
            "context": {
                "type": "object",
                "required": [COUPON_ID],
                "properties": {
                    COUPON_ID: {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
                },
            }
        },
    },
}


class Event(BaseModel):
    """One thing a shopper did with an item, as it arrives over the API."""

    model_config = ConfigDict(**_MODEL_CONFIG, json_schema_extra=_REDEMPTION_SCHEMA)

    user_id: Id
    """The shopper."""
    item_id: Id
    """The item acted on."""
    event_type: EventType
    """What the shopper did (``view``, ``addtocart``, ``purchase``, ...)."""
    timestamp: _Finite = Field(default_factory=time.time)
    """Seconds since the Unix epoch (UTC); an ISO 8601 date-time is accepted. Defaults to now."""
    value: Amount | None = None
    """A number the event carries: rating, quantity or amount."""
    session_id: Id | None = None
    """The browsing session, when the client tracks one."""
    context: JsonObject = Field(default_factory=dict, validate_default=True)
    """Free-form request context (page, device, search query); stored as JSON text. A
    ``coupon_redeem`` event names its coupon here: ``{"coupon_id": "..."}``."""
    event_id: Id | None = None
    """A client-chosen id of this event, e.g. a UUID, for safe retries: re-sending an event
    with the same id is acknowledged again but stored once. Kept beside the event, not in
    its row (``EVENT_SCHEMA``), so stored events read back without it."""

    @field_validator("context")
    @classmethod
    def _names_its_coupon(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """A ``coupon_redeem`` must say which coupon was redeemed (``context.coupon_id``)."""
        if info.data.get("event_type") is EventType.COUPON_REDEEM:
            coupon = value.get(COUPON_ID)
            if not isinstance(coupon, str) or not 0 < len(coupon) <= MAX_ID_LENGTH:
                raise ValueError(
                    f"a coupon_redeem event needs context.{COUPON_ID}: the coupon's id "
                    f"(1 to {MAX_ID_LENGTH} characters)"
                )
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_seconds(cls, value: object) -> object:
        """Accept a datetime or an ISO 8601 string as well as epoch seconds (naive means UTC)."""
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                try:
                    value = datetime.fromisoformat(value)
                except ValueError:
                    raise ValueError(
                        "expected seconds since the epoch or an ISO 8601 date-time"
                    ) from None
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return aware.timestamp()
        return value

    def to_row(self) -> EventRow:
        """The event's values in ``EVENT_SCHEMA`` order."""
        return (
            self.user_id,
            self.item_id,
            self.event_type.value,
            self.timestamp,
            self.value,
            self.session_id,
            _dump_json(self.context),
        )

    @classmethod
    def from_row(cls, row: EventRow) -> Event:
        """Rebuild an event from a row written by :meth:`to_row` (or a store).

        Stored rows were validated on the way in (perhaps under other limits, by a file
        import), so they are not validated again: reading them never fails.
        """
        user_id, item_id, event_type, timestamp, value, session_id, context = row
        return cls.model_construct(
            user_id=user_id,
            item_id=item_id,
            event_type=EventType(event_type),
            timestamp=timestamp,
            value=value,
            session_id=session_id,
            context=_load_json(context),
        )


class Item(BaseModel):
    """One catalogue item, as it arrives over the API or from a catalogue feed."""

    model_config = _MODEL_CONFIG

    item_id: Id
    """The item's id (SKU)."""
    title: Title | None = None
    """Display name."""
    description: Description | None = None
    """Long text; read by text encoders."""
    category: Name | None = None
    """Category path or name."""
    brand: Name | None = None
    """Brand or maker."""
    price: Price | None = None
    """Current price (non-negative), when known."""
    in_stock: Annotated[bool, Field(strict=True)] = True
    """Whether it can be bought now; serving filters out items that cannot."""
    attributes: JsonObject = Field(default_factory=dict)
    """Other attributes (size, colour, ...); stored as JSON text."""

    @property
    def seller(self) -> str | None:
        """The seller (marketplace shop) of the item: ``attributes["seller"]``, when given.

        Kept among the attributes rather than as a column, so every catalogue store (memory,
        SQLite, PostgreSQL) and every catalogue file already written holds it without a
        migration; a ``seller`` column of an imported file lands there too.
        """
        value = self.attributes.get("seller")
        return str(value) if value is not None and value != "" else None

    def to_row(self) -> ItemRow:
        """The item's values in ``ITEM_SCHEMA`` order."""
        return (
            self.item_id,
            self.title,
            self.description,
            self.category,
            self.brand,
            self.price,
            self.in_stock,
            _dump_json(self.attributes),
        )

    @classmethod
    def from_row(cls, row: ItemRow) -> Item:
        """Rebuild an item from a row written by :meth:`to_row` (or a store), unvalidated.

        As for :meth:`Event.from_row`: stored rows were validated when they were written.
        """
        item_id, title, description, category, brand, price, in_stock, attributes = row
        return cls.model_construct(
            item_id=item_id,
            title=title,
            description=description,
            category=category,
            brand=brand,
            price=price,
            in_stock=bool(in_stock),
            attributes=_load_json(attributes),
        )

    def patched(self, changes: Mapping[str, Any]) -> Item:
        """A copy with ``changes`` applied and the whole item validated again.

        Args:
            changes: Field names and their new values, e.g. ``{"in_stock": False}``.

        Returns:
            The changed item.

        Raises:
            ValidationError: A field is unknown, a value is invalid, or ``item_id`` would change.
        """
        source = f"patch of item {self.item_id!r}"
        if changes.get("item_id", self.item_id) != self.item_id:
            raise ValidationError([Problem(source, None, "item_id", "an item's id cannot change")])
        try:
            return Item.model_validate({**self.model_dump(), **changes})
        except PydanticValidationError as error:
            raise ValidationError(problems_from_pydantic(error, source)) from None
