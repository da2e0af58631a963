"""The event: one versioned schema for the snippet, the collector, the pipelines and later services.

Policy: changes are additive. A field a reader does not know is never dropped; it travels in
``context`` (a JSON object), so an old collector keeps what a newer snippet sends.
Money is integer minor units (cents) with an ISO 4217 currency, never a float.

Schema versions (the envelope's ``schema``; docs/protocol.md):

- 1: the first contract.
- 2 (additive): the attribution loop. Fields ``decision_id``, ``creative_id``, ``viewable``,
  ``holdout`` and the event type ``decision`` (the personalizer's record of what it chose for one
  placement). An event sent under schema 1 is read exactly as before: a field named like a
  schema-2 field is an unknown field there and travels in ``context`` (``FIELDS_SINCE``), and a
  schema-2 event type is refused (``TYPES_SINCE``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SCHEMA_VERSION = 2

EVENT_TYPES = (
    "page_view",
    "page_ping",
    "click",
    "product_view",
    "add_to_cart",
    "purchase",
    "identify",
    "banner_impression",
    "banner_click",
    "decision",
    "custom",
)

# Printable text: no C0 control characters other than tab, newline and carriage return, no DEL.
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_ID = r"^[A-Za-z0-9_-]+$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

MAX_ID = 64
MAX_URL = 4096
MAX_PROPERTIES = 50
MAX_CONTEXT_BYTES = 16 * 1024
MAX_MONEY = 10**13  # minor units: 100 billion in a two-decimal currency
EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
LATEST_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(max_length=max_length, pattern=_TEXT)


Url = Annotated[str, _text(MAX_URL)]
Text45 = Annotated[str, _text(45)]
Text35 = Annotated[str, _text(35)]
Text128 = Annotated[str, _text(128)]
Text256 = Annotated[str, _text(256)]
Text512 = Annotated[str, _text(512)]
Text1024 = Annotated[str, _text(1024)]

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=_ID)]
Uuid = Annotated[str, StringConstraints(pattern=_UUID)]
EpochMs = Annotated[int, Field(ge=EARLIEST_MS, lt=LATEST_MS)]
Money = Annotated[int, Field(ge=0, le=MAX_MONEY)]
Quantity = Annotated[int, Field(ge=1, le=100_000)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Size = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}x[0-9]{1,5}$")]
Category = Annotated[list[Text128], Field(max_length=8)]
PropertyValue = Text1024 | int | float | bool | None
PropertyKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_TEXT)]

EventType = Literal[
    "page_view",
    "page_ping",
    "click",
    "product_view",
    "add_to_cart",
    "purchase",
    "identify",
    "banner_impression",
    "banner_click",
    "decision",
    "custom",
]
Consent = Literal["granted", "denied"]
IdSource = Literal["url", "cookie", "collector_cookie", "cookieless", "server"]


class LineItem(BaseModel):
    """One line of an order."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    sku: Text128
    name: Text512 | None = None
    category: Category | None = None
    price: Money | None = None
    quantity: Quantity = 1


class Event(BaseModel):
    """One event as the client sends it (the collector adds the server fields to the log record).

    Validation is strict: ``"5"`` is not an integer and ``1`` is not a boolean.
    """

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    event_id: Uuid
    event_type: EventType
    created_at: EpochMs
    site_id: Id | None = None
    visitor_id: Id | None = None
    session_id: Id | None = None
    session_index: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    page_view_id: Id | None = None
    user_id: Text256 | None = None

    url: Url | None = None
    referrer: Url | None = None
    title: Text1024 | None = None
    screen: Size | None = None
    viewport: Size | None = None
    language: Text35 | None = None
    engaged_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None = None

    sku: Text128 | None = None
    product_name: Text512 | None = None
    category: Category | None = None
    price: Money | None = None
    currency: Currency | None = None
    quantity: Quantity | None = None

    order_id: Text128 | None = None
    items: Annotated[list[LineItem], Field(max_length=100)] | None = None
    total: Money | None = None
    tax: Money | None = None
    shipping: Money | None = None

    target_url: Url | None = None
    label: Text256 | None = None
    banner_id: Text128 | None = None
    campaign_id: Text128 | None = None
    placement: Text128 | None = None
    name: Text128 | None = None

    # Schema 2: the attribution loop (a decision, its impressions and clicks).
    decision_id: Uuid | None = None  # a UUIDv7: its time is the decision's
    creative_id: Text128 | None = None
    viewable: bool | None = None  # the browser saw at least half of it for a second
    holdout: bool | None = None  # a holdout visitor: the default shown, to measure lift

    properties: Annotated[dict[PropertyKey, PropertyValue], Field(max_length=MAX_PROPERTIES)] = {}
    consent: Consent | None = None
    context: dict[str, Any] = {}

    # Server-side senders (authenticated by the site's write key) may state the end user's
    # address and browser; the collector ignores both on browser requests.
    ip: Text45 | None = None
    user_agent: Text1024 | None = None

    @model_validator(mode="after")
    def _required_by_type(self) -> Event:
        required = REQUIRED_BY_TYPE.get(self.event_type, ())
        missing = [name for name in required if getattr(self, name) in (None, "", [])]
        if missing:
            raise ValueError(f"{self.event_type} needs {', '.join(missing)}")
        if self.event_type in _BANNER_TYPES and not (self.banner_id or self.creative_id):
            raise ValueError(f"{self.event_type} needs banner_id or creative_id")
        if self.currency is None and (self.price or self.total or self._item_prices()):
            raise ValueError("an amount needs a currency")
        return self

    def _item_prices(self) -> bool:
        return any(item.price for item in self.items or ())

    def to_record(self) -> dict[str, Any]:
        """The event as it travels on the event log: declared fields, and every unknown field
        folded into ``context``. Raises ``ValueError`` if the unknown fields are too big.

        Made once per event (the collector validates it, then writes it); each call returns a
        new dict, nested values shared."""
        record = self.__dict__.get(_RECORD)
        if record is None:
            record = self.__dict__[_RECORD] = self._record()  # beside the fields, as a cache
        return dict(record)

    def _record(self) -> dict[str, Any]:
        # What ``model_dump(exclude_none=True, exclude={"context", "ip", "user_agent"})``
        # gives (declared order, line items without their unset fields), without its cost.
        values = self.__dict__
        data = {name: values[name] for name in _DUMPED if values[name] is not None}
        if "items" in data:
            data["items"] = [_item_record(item) for item in data["items"]]
        for name in ("category", "properties"):
            if name in data:
                data[name] = data[name].copy()
        extra = self.model_extra or {}
        context = {**self.context, **extra}
        if context:
            encoded = json.dumps(context, ensure_ascii=False, separators=(",", ":"))
            if len(encoded.encode("utf-8", "surrogatepass")) > MAX_CONTEXT_BYTES:
                raise ValueError(f"unknown fields and context exceed {MAX_CONTEXT_BYTES} bytes")
            try:
                encoded.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("unknown fields contain invalid unicode") from None
            data["context"] = context
        if not data.get("properties"):
            data.pop("properties", None)
        return data

    @classmethod
    def from_checked(cls, raw: dict[str, Any]) -> Event:
        """The event of a raw event that ``fastcheck.accepts`` passed, built as validation
        builds it (new lists and dicts, line items as models, unknown fields as extras)
        without validating again: ``model_construct`` does the same but copies every default
        (~140 µs an event)."""
        extra: dict[str, Any] = {}
        if raw.keys() <= _FIELD_NAMES:
            values = {**_UNSET, **raw}
        else:
            values = dict(_UNSET)
            for name, value in raw.items():
                if name in _FIELD_NAMES:
                    values[name] = value
                else:
                    extra[name] = value
        for name in ("category", "properties", "context"):
            if values[name] is not None:
                values[name] = values[name].copy()
        if values["items"] is not None:
            values["items"] = [_checked_item(item) for item in values["items"]]
        return _built(cls, values, set(raw), extra)


REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "page_view": ("url",),
    "page_ping": ("page_view_id", "engaged_ms"),
    "product_view": ("sku",),
    "add_to_cart": ("sku",),
    "purchase": ("order_id", "items"),
    "identify": ("user_id",),
    "decision": ("decision_id",),
    "custom": ("name",),
}
# A banner event names its banner: the site's own ``banner_id`` (schema 1) or, from schema 2,
# the personalizer's ``creative_id``.
_BANNER_TYPES = frozenset({"banner_impression", "banner_click"})

# Fields and event types by the schema version that introduced them (versions not listed: 1).
FIELDS_SINCE: dict[str, int] = {"decision_id": 2, "creative_id": 2, "viewable": 2, "holdout": 2}
TYPES_SINCE: dict[str, int] = {"decision": 2}
_NEWEST_ADDITION = max(*FIELDS_SINCE.values(), *TYPES_SINCE.values())


def as_schema(raw: dict[str, Any], schema: int) -> dict[str, Any]:
    """A raw event sent under ``schema``, read as that schema reads it: fields introduced by a
    later schema are unknown fields there, so they move into ``context`` (where
    ``Event.to_record`` would have put them). Raises ``ValueError`` for an event type the
    schema does not have."""
    if schema >= _NEWEST_ADDITION:
        return raw
    kind = raw.get("event_type")
    if isinstance(kind, str) and TYPES_SINCE.get(kind, 1) > schema:
        raise ValueError(f"event_type: {kind!r} needs schema {TYPES_SINCE[kind]} or later")
    later = [name for name in raw if FIELDS_SINCE.get(name, 1) > schema]
    if not later:
        return raw
    context = raw.get("context", {})
    if not isinstance(context, dict):
        return raw  # refused by validation, as before
    kept = {name: value for name, value in raw.items() if name not in later}
    kept["context"] = {**context, **{name: raw[name] for name in later}}
    return kept


def _built(cls: type, values: dict[str, Any], fields_set: set[str], extra: dict | None) -> Any:
    """A model of already valid values, set as ``BaseModel.model_construct`` sets them."""
    model: Any = object.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", fields_set)
    object.__setattr__(model, "__pydantic_extra__", extra)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


def _checked_item(raw: dict[str, Any]) -> LineItem:
    values = {**_ITEM_UNSET, **raw}
    if values["category"] is not None:
        values["category"] = values["category"].copy()
    return _built(LineItem, values, set(raw), None)


def _item_record(item: LineItem) -> dict[str, Any]:
    data = {name: value for name, value in item.__dict__.items() if value is not None}
    if "category" in data:
        data["category"] = data["category"].copy()
    return data


_RECORD = "_record_cache"  # not a field name (pydantic refuses names with a leading "_")
_FIELD_NAMES = frozenset(Event.model_fields)
_UNSET: dict[str, Any] = {**dict.fromkeys(Event.model_fields), "properties": {}, "context": {}}
_DUMPED = tuple(name for name in Event.model_fields if name not in ("context", "ip", "user_agent"))
_ITEM_UNSET: dict[str, Any] = {**dict.fromkeys(LineItem.model_fields), "quantity": 1}
