"""Product views from outside the engine, one JSON object a line, for ``clicktrail eval offers``.
Pure: lines in, views and the lines refused (with why) out.

A line: ``{"visitor": "v1", "sku": "A-1", "category": "Shoes/Running", "time": ...}``.
``category`` is a path (``"Shoes/Running"``) or a list of levels (``["Shoes", "Running"]``),
``""`` for none; ``time`` is milliseconds since 1970 (UTC) or an ISO 8601 date-time (UTC when it
names no offset); ``type`` (optional) is ``product_view`` (the default), ``add_to_cart`` or
``purchase``. Other fields are ignored. Blank lines are skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clicktrail.contract import jsontext
from personalizer.catalog import CATEGORY_SEPARATOR
from personalizer.evaluate import KINDS, View

MAX_ID = 256
MAX_SKU = 128  # as the catalog's
MAX_CATEGORY = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EARLIEST_MS = 10**11  # 1973: a smaller number is seconds, not milliseconds
_LATEST_MS = 10**14  # year 5138


@dataclass(frozen=True)
class BadLine:
    line: int  # 1-based
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParsedViews:
    views: list[View] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


class LineError(ValueError):
    """Why one line is refused."""


def parse_view_lines(lines: Iterable[str | bytes]) -> ParsedViews:
    """Every good line's view; every bad line with its number and reason (the good ones
    around it are kept)."""
    parsed = ParsedViews()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parsed.views.append(parse_view(line))
        except LineError as exc:
            parsed.bad.append(BadLine(number, str(exc)))
    return parsed


def parse_view(line: str | bytes) -> View:
    """One line's view; raises ``LineError`` naming the field at fault."""
    try:
        document = jsontext.loads(line)
    except jsontext.JsonError as exc:
        raise LineError(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise LineError("not a JSON object")
    for name in ("visitor", "sku", "category", "time"):
        if name not in document:
            raise LineError(f"{name}: missing")
    kind = document.get("type", "product_view")
    if kind not in KINDS:
        raise LineError(f"type: one of {', '.join(KINDS)}, got {kind!r}")
    return View(
        visitor=_text("visitor", document["visitor"], MAX_ID),
        sku=_text("sku", document["sku"], MAX_SKU),
        category=_category(document["category"]),
        time_ms=_time(document["time"]),
        kind=kind,
    )


def _text(name: str, value: Any, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LineError(f"{name}: a non-empty string, got {value!r}")
    if len(value) > longest:
        raise LineError(f"{name}: at most {longest} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise LineError(f"{name}: control characters are not allowed")
    return value


def _category(value: Any) -> str:
    if isinstance(value, list):
        if not all(isinstance(level, str) for level in value):
            raise LineError("category: a path string or a list of strings")
        value = CATEGORY_SEPARATOR.join(value)
    if not isinstance(value, str):
        raise LineError(f"category: a path string or a list of strings, got {value!r}")
    if len(value) > MAX_CATEGORY or _CONTROL.search(value):
        raise LineError(f"category: at most {MAX_CATEGORY} printable characters")
    levels = [level.strip() for level in value.split(CATEGORY_SEPARATOR) if level.strip()]
    return CATEGORY_SEPARATOR.join(levels)


def _time(value: Any) -> int:
    if isinstance(value, bool):
        raise LineError(f"time: milliseconds or an ISO 8601 date-time, got {value!r}")
    if isinstance(value, int | float):
        if value != value or not _EARLIEST_MS <= value < _LATEST_MS:  # NaN, seconds, far future
            hint = " (seconds? give milliseconds)" if 0 < value < _EARLIEST_MS else ""
            raise LineError(f"time: milliseconds since 1970, got {value!r}{hint}")
        return int(value)
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise LineError(f"time: not an ISO 8601 date-time: {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return _time(round(moment.timestamp() * 1000))
    raise LineError(f"time: milliseconds or an ISO 8601 date-time, got {value!r}")
