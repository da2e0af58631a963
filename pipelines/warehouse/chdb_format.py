"""Turning chdb's JSONCompact answers into the same Python values the server adapter returns,
and rows into the JSONCompactEachRow text chdb inserts fastest."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

import orjson

from pipelines.warehouse.base import Result, WarehouseError


def insert_statement(
    database: str,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]] | Sequence[tuple[Any, ...]],
) -> str:
    """``rows``: dicts keyed by column name, or tuples of the values in ``columns`` order."""
    from pipelines.warehouse.sql import quote_identifier

    names = ", ".join(quote_identifier(c) for c in columns)
    # Positional arrays, not objects: half the text to make and to parse (measured 2.4x faster).
    values: Callable[[Any], Any]
    if rows and not isinstance(rows[0], Mapping):
        values = tuple  # already in column order (orjson writes a tuple as an array)
    elif len(columns) > 1:
        values = itemgetter(*columns)
    else:
        values = lambda row: (row[columns[0]],)  # noqa: E731
    try:
        body = b"\n".join(map(orjson.dumps, map(values, rows))).decode()
    except TypeError:  # lone surrogates, which orjson refuses: the standard encoder escapes them
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        body = "\n".join(dumps(list(values(row))) for row in rows)
    target = f"{quote_identifier(database)}.{quote_identifier(table)}"
    return f"INSERT INTO {target} ({names}) FORMAT JSONCompactEachRow\n{body}"


def parse_result(raw: bytes) -> Result:
    if not raw.strip():
        return Result((), [])
    try:
        answer = json.loads(raw)
        meta = answer["meta"]
        data = answer["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise WarehouseError(f"chdb: unreadable answer: {exc!r}") from None
    converters = [_converter(column["type"]) for column in meta]
    rows = [
        tuple(convert(value) for convert, value in zip(converters, row, strict=True))
        for row in data
    ]
    return Result(tuple(column["name"] for column in meta), rows)


def _converter(kind: str) -> Callable[[Any], Any]:
    if kind.startswith("Nullable("):
        inner = _converter(kind[len("Nullable(") : -1])
        return lambda value: None if value is None else inner(value)
    if kind.startswith("LowCardinality("):
        return _converter(kind[len("LowCardinality(") : -1])
    if kind.startswith("Array("):
        item = _converter(kind[len("Array(") : -1])
        return lambda value: [item(v) for v in value]
    if kind.startswith(("Int", "UInt")):
        return int  # 64-bit integers may come quoted
    if kind.startswith(("Float", "Decimal")):
        return lambda value: float(value) if value is not None else None
    if kind == "Date" or kind == "Date32":
        return date.fromisoformat
    if kind.startswith("DateTime"):
        return _datetime
    return lambda value: value


def _datetime(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
