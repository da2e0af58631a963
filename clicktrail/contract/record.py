"""A record on the event log: the events of one visitor from one request, with what the
collector knows about that request. Keyed by ``<site_id>:<visitor_id>`` so a visitor's events
stay ordered in one partition."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from clicktrail.contract import jsontext
from clicktrail.contract.event import SCHEMA_VERSION


class RecordError(ValueError):
    """The bytes are not a usable log record (they go to the dead-letter log)."""


_REQUIRED = {
    "site_id": str,
    "visitor_id": str,
    "id_source": str,
    "received_at": int,
    "events": list,
}


@dataclass(frozen=True)
class LogRecord:
    site_id: str
    visitor_id: str
    id_source: str  # url, cookie, collector_cookie, cookieless or server
    received_at: int  # collector clock, UTC ms
    events: list[dict[str, Any]]  # Event.to_record() dicts
    sent_at: int | None = None  # device clock, UTC ms
    ip: str | None = None  # raw: the pipeline geolocates, then truncates before storage
    user_agent: str | None = None
    replaced_visitor_id: str | None = None  # the id a cross-domain identifier replaced
    schema: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # fields of a newer schema, kept

    @property
    def key(self) -> bytes:
        return f"{self.site_id}:{self.visitor_id}".encode()

    def encode(self) -> bytes:
        data = {**self.extra}
        for name in _FIELDS:  # not dataclasses.asdict: it deep-copies every event (slow)
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        try:  # orjson: the same JSON (floats may be spelled shorter), several times faster
            return orjson.dumps(data)
        except (TypeError, orjson.JSONEncodeError):  # lone surrogates, integers over 64 bits
            return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes) -> LogRecord:
        try:
            data = jsontext.loads(payload)  # orjson first: decoding leads the worker's costs
        except jsontext.JsonError as exc:
            raise RecordError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RecordError("a record must be a JSON object")
        for name, kind in _REQUIRED.items():
            if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
                raise RecordError(f"{name} is missing or not a {kind.__name__}")
        if type(data.get("schema")) is not int:
            raise RecordError("schema is missing or not an integer")
        known = set(cls.__dataclass_fields__) - {"extra"}
        extra = {name: value for name, value in data.items() if name not in known}
        return cls(**{name: value for name, value in data.items() if name in known}, extra=extra)


_FIELDS = tuple(f.name for f in fields(LogRecord) if f.name != "extra")
