"""The product catalog a site feeds (CSV or JSON): validated rows, and the in-memory index the
decision service ranks from. Pure: storage and refresh live elsewhere."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from personalizer.campaigns import http_url

CATEGORY_SEPARATOR = "/"
FEED_FIELDS = (
    "sku",
    "title",
    "category",
    "price",
    "currency",
    "image_url",
    "url",
    "available",
    "regions",
)


class Product(BaseModel):
    """One product. ``price`` in minor units (cents); ``regions``: ISO country codes where it
    is sold, empty for everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
    title: Annotated[str, Field(min_length=1, max_length=512)]
    category: Annotated[str, Field(max_length=512)] = ""  # "Shoes/Running"
    price: Annotated[int, Field(ge=0, le=10**13)] = 0
    currency: Annotated[str, Field(pattern=r"^([A-Z]{3})?$")] = ""
    image_url: Annotated[str, Field(max_length=2048)] = ""
    url: Annotated[str, Field(max_length=2048)]
    available: bool = True
    regions: frozenset[str] = frozenset()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("image_url")
    @classmethod
    def _image(cls, value: str) -> str:
        return http_url(value) if value else value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(CATEGORY_SEPARATOR) if part.strip()]
        return CATEGORY_SEPARATOR.join(parts)

    @field_validator("regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, list | tuple | set | frozenset):
            codes = {str(code).strip().upper() for code in value}
            bad = sorted(code for code in codes if len(code) != 2 or not code.isalpha())
            if bad:
                raise ValueError(f"not ISO country codes: {', '.join(bad)}")
            return frozenset(codes)
        return value

    @property
    def top_category(self) -> str:
        return self.category.split(CATEGORY_SEPARATOR, 1)[0]

    def sold_in(self, country: str) -> bool:
        return not self.regions or country.upper() in self.regions


@dataclass(frozen=True)
class Rejected:
    line: int  # 1-based row of the feed (CSV: counting the header as 1)
    sku: str
    reason: str


@dataclass
class FeedResult:
    products: list[Product] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def parse_feed(text: str, kind: str) -> FeedResult:
    """Products from a CSV (a header row naming ``FEED_FIELDS``) or JSON (a list of objects, or
    ``{"products": [...]}``) feed; every bad row is rejected with its line and reason, the good
    ones next to it are kept. Raises ``ValueError`` for a feed that cannot be read at all."""
    if kind == "csv":
        rows = _csv_rows(text)
    elif kind == "json":
        rows = _json_rows(text)
    else:
        raise ValueError(f"feed kind must be csv or json, got {kind!r}")
    result = FeedResult()
    seen: set[str] = set()
    for line, row in rows:
        sku = str(row.get("sku", "")) if isinstance(row, Mapping) else ""
        if not isinstance(row, Mapping):
            result.rejected.append(Rejected(line, "", "not an object"))
            continue
        try:
            product = Product.model_validate(_typed(row))
        except (ValidationError, ValueError) as exc:
            result.rejected.append(Rejected(line, sku, _reason(exc)))
            continue
        if product.sku in seen:
            result.rejected.append(Rejected(line, sku, "sku listed twice; the first is kept"))
            continue
        seen.add(product.sku)
        result.products.append(product)
    return result


def _csv_rows(text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"sku", "title", "url"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"the CSV header lacks {', '.join(sorted(missing))}")
    for row in reader:
        if None in row:
            yield reader.line_num, {"__extra__": row[None]}
            continue
        yield reader.line_num, {k: v for k, v in row.items() if v not in ("", None)}


def _json_rows(text: str) -> Iterator[tuple[int, Any]]:
    from clicktrail.contract import jsontext

    try:
        document = jsontext.loads(text)
    except jsontext.JsonError as exc:
        raise ValueError(f"the feed is not JSON: {exc}") from None
    if isinstance(document, Mapping):
        document = document.get("products")
    if not isinstance(document, list):
        raise ValueError('a JSON feed is a list of products or {"products": [...]}')
    yield from enumerate(document, start=1)


def _typed(row: Mapping[str, Any]) -> dict[str, Any]:
    if "__extra__" in row:
        raise ValueError("more values than header columns")
    data = dict(row)
    if isinstance(data.get("available"), str):
        text = data["available"].strip().lower()
        if text not in ("1", "0", "true", "false", "yes", "no", "in stock", "out of stock"):
            raise ValueError(f"available: must be true or false, got {data['available']!r}")
        data["available"] = text in ("1", "true", "yes", "in stock")
    if isinstance(data.get("price"), str):
        try:
            data["price"] = int(data["price"])
        except ValueError:
            raise ValueError(f"price: whole minor units (cents), got {data['price']!r}") from None
    return data


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'product'}: "
            f"{item['msg'].removeprefix('Value error, ')}"
            for item in error.errors(include_url=False)
        )
    return str(error)


class Catalog:
    """A site's products, indexed for ranking: by sku, by category path (each product is
    listed under its path and every path above it), each product's top category, and (built
    on first use for each popularity ranking handed in) the ranking split by top category."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.by_sku: dict[str, Product] = {}
        self.by_category: dict[str, list[str]] = {}
        self.top_of: dict[str, str] = {}  # sku -> top category ("" for none)
        self._ranked: tuple[Sequence[str], dict[str, list[str]]] | None = None
        for product in products:
            self.by_sku[product.sku] = product
            parts = product.category.split(CATEGORY_SEPARATOR) if product.category else []
            self.top_of[product.sku] = parts[0] if parts else ""
            for depth in range(1, len(parts) + 1):
                path = CATEGORY_SEPARATOR.join(parts[:depth])
                self.by_category.setdefault(path, []).append(product.sku)

    def __len__(self) -> int:
        return len(self.by_sku)

    def get(self, sku: str) -> Product | None:
        return self.by_sku.get(sku)

    def in_category(self, path: str) -> list[str]:
        return self.by_category.get(path, [])

    def ranked_by_top_category(self, ranked: Sequence[str]) -> dict[str, list[str]]:
        """``ranked`` (skus, best first) split by top category, in the same order; skus not in
        the catalog left out. Computed once per ranking (the last one is kept: popularity is
        replaced every few minutes, the catalog at its next change)."""
        memo = self._ranked
        if memo is not None and memo[0] is ranked:
            return memo[1]
        split: dict[str, list[str]] = {}
        top_of = self.top_of
        for sku in ranked:
            top = top_of.get(sku)
            if top is not None:
                split.setdefault(top, []).append(sku)
        self._ranked = (ranked, split)
        return split

    def as_json(self) -> str:
        return json.dumps(
            [p.model_dump(mode="json") for p in self.by_sku.values()], ensure_ascii=False
        )
