"""The decision request, as ad servers and pages send it (``POST /v1/decide`` JSON, or the
query string of ``GET /v1/decide``), validated. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clicktrail.contract import jsontext

MAX_PLACEMENTS = 10
MAX_OFFERS = 50
_SLUG = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class RequestError(ValueError):
    """A request that cannot be decided; the message names the field."""


class PageContext(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    url: Annotated[str, Field(max_length=4096, pattern=_TEXT)] = ""
    referrer: Annotated[str, Field(max_length=4096, pattern=_TEXT)] = ""
    category: Annotated[str, Field(max_length=512, pattern=_TEXT)] = ""
    sku: Annotated[str, Field(max_length=128, pattern=_TEXT)] = ""


class DecideRequest(BaseModel):
    """Who (a visitor id, a user id, or the collector's cookie on the request), where from
    (the end user's IP and user agent: stated only by a trusted caller), which page, which
    placements, how many offers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    site_id: Annotated[str, Field(pattern=_SLUG)]
    visitor_id: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    user_id: Annotated[str, Field(min_length=1, max_length=128, pattern=_TEXT)] | None = None
    ip: Annotated[str, Field(max_length=45)] | None = None
    user_agent: Annotated[str, Field(max_length=1024, pattern=_TEXT)] | None = None
    language: Annotated[str, Field(max_length=35, pattern=_TEXT)] | None = None
    consent: bool | None = None  # None: the site's policy decides
    linker: Annotated[str, Field(max_length=128)] | None = None
    page: PageContext = PageContext()
    placements: Annotated[list[Annotated[str, Field(pattern=_SLUG)]], Field(max_length=10)] = []
    offers: Annotated[int, Field(ge=0, le=MAX_OFFERS)] = 0
    explain: bool = False

    @field_validator("placements")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("placements must be unique")
        return value

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        import ipaddress

        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None


def parse_body(body: bytes) -> DecideRequest:
    try:
        document = jsontext.loads(body)
    except jsontext.JsonError as exc:
        raise RequestError(f"body is not valid JSON: {exc}") from None
    return parse_request(document)


def parse_request(document: Any) -> DecideRequest:
    if not isinstance(document, Mapping):
        raise RequestError("the request must be a JSON object")
    try:
        return DecideRequest.model_validate(document)
    except ValidationError as exc:
        raise RequestError(_describe(exc)) from None


def parse_query(query: Mapping[str, str]) -> DecideRequest:
    """``GET /v1/decide?site_id=shop&placements=top,side&offers=4&page.url=...``."""
    document: dict[str, Any] = {}
    page: dict[str, str] = {}
    for key, value in query.items():
        if key.startswith("page."):
            page[key[5:]] = value
        elif key == "placements":
            document[key] = [p for p in value.split(",") if p]
        elif key in ("offers",):
            if not re.fullmatch(r"\d{1,3}", value):
                raise RequestError(f"{key}: must be a whole number")
            document[key] = int(value)
        elif key in ("explain", "consent"):
            if value not in ("0", "1", "true", "false"):
                raise RequestError(f"{key}: must be 1 or 0")
            document[key] = value in ("1", "true")
        else:
            document[key] = value
    if page:
        document["page"] = page
    return parse_request(document)


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or 'request'}: "
        f"{item['msg'].removeprefix('Value error, ')}"
        for item in error.errors(include_url=False)
    )
