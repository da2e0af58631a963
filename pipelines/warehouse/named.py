"""Named queries: SQL declared once, with its tables and parameters, for every reader.

A reader never writes a database name or ``FINAL``. It declares a query with table
placeholders and value parameters::

    DAILY = NamedQuery(
        "daily_events",
        "SELECT day, count() AS events FROM {events}"
        " WHERE site_id = %(site_id)s GROUP BY day ORDER BY day",
        params={"site_id": str},
    )

- ``{events}`` becomes ```db`.`events` FINAL`` for a ``ReplacingMergeTree`` (exact: replayed
  rows collapse) and ```db`.`events``` for other tables or when the query says
  ``exact=False``. ``{events AS e}`` gives the table an alias (ClickHouse wants it before
  ``FINAL``). Unknown tables are refused when the query is declared.
- ``%(name)s`` are values, bound on the client by ``sql.bind`` (both engines lack common
  server-side parameters). Every parameter is declared with its Python type and checked before
  anything is sent. A literal ``%`` is refused: write ``modulo(a, b)``, and pass ``LIKE``
  patterns as parameters.

The SQL must be the dialect both engines accept: ClickHouse 18.16 (see the engines note in
docs/warehouse.md): no window functions, ``JSONExtract``, ``toStartOfWeek`` or ``GROUP BY 1``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipelines.warehouse.ddl import TABLE_ENGINES
from pipelines.warehouse.sql import QueryError, quote_identifier

_TABLE = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+AS\s+([A-Za-z_][A-Za-z0-9_]*))?\s*\}")
_PARAM = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s")

ParamType = type | tuple[type, ...]


def needs_final(table: str) -> bool:
    """Does an exact read of ``table`` need FINAL (replacing engines collapse at merge time)?"""
    return TABLE_ENGINES[table].startswith("Replacing")


@dataclass(frozen=True, eq=False)
class NamedQuery:
    """One read, declared once (usually as a module constant) and run by an ``EventStore``.

    ``params`` maps each ``%(name)s`` of ``sql`` to the type its value must have (a tuple of
    types for either). ``exact=False`` reads without FINAL: faster, but a replayed event may
    count twice until the background merge. Declaring a query checks it and raises
    ``QueryError`` (at import time for a module constant)."""

    name: str
    sql: str
    params: Mapping[str, ParamType] = field(default_factory=dict)
    exact: bool = True

    def __post_init__(self) -> None:
        tables = {match.group(1) for match in _TABLE.finditer(self.sql)}
        unknown = sorted(tables - TABLE_ENGINES.keys())
        if unknown:
            raise QueryError(f"{self.name}: no such table {', '.join(unknown)}")
        if not tables:
            raise QueryError(f"{self.name}: read tables through placeholders such as {{events}}")
        rest = _TABLE.sub("", self.sql)
        if "{" in rest or "}" in rest:
            raise QueryError(f"{self.name}: a brace that is not a table placeholder")
        used = set(_PARAM.findall(rest))
        if "%" in _PARAM.sub("", rest):
            raise QueryError(f"{self.name}: a literal % (use modulo(), pass patterns as values)")
        if used != set(self.params):
            raise QueryError(
                f"{self.name}: parameters used {sorted(used)} but declared {sorted(self.params)}"
            )

    def render(self, database: str) -> str:
        """The SQL for ``database``, with placeholders resolved and values still unbound."""
        db = quote_identifier(database)

        def table(match: re.Match[str]) -> str:
            name, alias = match.group(1), match.group(2)
            text = f"{db}.{quote_identifier(name)}"
            if alias:
                text += f" AS {quote_identifier(alias)}"
            if self.exact and needs_final(name):
                text += " FINAL"
            return text

        return _TABLE.sub(table, self.sql)

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise ``QueryError`` unless ``values`` has exactly the declared parameters, each of
        its declared type."""
        missing = sorted(self.params.keys() - values.keys())
        extra = sorted(values.keys() - self.params.keys())
        if missing or extra:
            raise QueryError(f"{self.name}: missing parameters {missing}, unexpected {extra}")
        for name, expected in self.params.items():
            value = values[name]
            if not _is_a(value, expected):
                raise QueryError(
                    f"{self.name}: {name} must be {_type_names(expected)}, "
                    f"got {type(value).__name__}"
                )


def _is_a(value: Any, expected: ParamType) -> bool:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    # bool is an int and datetime is a date in Python, but not to ClickHouse.
    if isinstance(value, bool) and bool not in kinds:
        return False
    if isinstance(value, datetime) and datetime not in kinds:
        return False
    return isinstance(value, kinds)


def _type_names(expected: ParamType) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(kind.__name__ for kind in kinds)
