"""Client-side binding of query parameters, the same for both engines.

Neither the 18.16 server nor the shape of chdb's Python API offers server-side parameters in
common, so values are escaped here with ``clickhouse-driver``'s own escaping (strings, numbers,
lists) and never formatted into SQL by hand. Placeholders are ``%(name)s``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from clickhouse_driver.util.escape import escape_param  # type: ignore[import-untyped]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class QueryError(ValueError):
    """A query or its parameters are not usable (raised before anything is sent)."""


def quote_identifier(name: str) -> str:
    """A database, table or column name: only plain identifiers are allowed."""
    if not _IDENTIFIER.match(name):
        raise QueryError(f"not a plain identifier: {name!r}")
    return f"`{name}`"


def bind(query: str, params: Mapping[str, Any] | None = None) -> str:
    if not params:
        return query
    escaped = {}
    for name, value in params.items():
        _check(name, value)
        escaped[name] = escape_param(value, None)
    try:
        return query % escaped
    except (KeyError, TypeError, ValueError) as exc:
        raise QueryError(f"parameters do not fit the query: {exc!r}") from None


def _check(name: str, value: Any) -> None:
    # datetimes would need the server's time zone; every time here is UTC milliseconds.
    if isinstance(value, datetime):
        raise QueryError(f"{name}: pass times as UTC milliseconds, not datetime")
    if isinstance(value, (list, tuple)):
        for item in value:
            _check(name, item)
    elif value is not None and not isinstance(value, (str, int, float, date)):
        raise QueryError(f"{name}: cannot bind a {type(value).__name__}")
