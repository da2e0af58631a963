"""The reports' named reads: over the exact rollups of closed days, plus the days not built
yet (the open day) read from raw ``events FINAL`` with the same SQL that builds a rollup.

Every report query comes as a ``SourcedQuery``: one ``NamedQuery`` over the rollups only, and
one that adds the raw days (``UNION ALL``). The rollup part reads only the latest build of each
day (``rollup_days``); the raw part reads events whose time falls in ``[start_ms, end_ms)``
and whose site-local day (``toDate(derived_time, tz)``) is in the period and not in
``rolled`` (the built days, as ISO dates, with a sentinel so the array is never empty).

Filters are values, never SQL: ``country`` and ``device`` ("" for all), ``bots`` (1 keeps
bots). Breakdowns are flags: ``by_<dimension>`` (0 or 1) keeps that dimension in the GROUP BY
(``g_<dimension>``), else it is the constant "". The SQL is 18.16's dialect (docs/warehouse.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.rollups import (
    INTEREST_COLUMNS,
    INTEREST_DIMENSIONS,
    PRODUCT_COLUMNS,
    RAW_INTERESTS_SQL,
    RAW_PRODUCTS_SQL,
    RAW_SESSIONS_SQL,
    SESSION_COLUMNS,
    SESSION_DIMENSIONS,
)
from pipelines.warehouse.rollups_visitors import RAW_VISITOR_DAYS_SQL, VISITOR_DAY_COLUMNS

NO_DAY = "1970-01-01"  # the sentinel of ``rolled``: an empty array literal has no type on 18.16

_PERIOD = "day >= toDate(%(start)s) AND day < toDate(%(end)s)"
_LATEST_BUILDS = (
    "(day, generation) IN (SELECT day, max(generation) FROM {rollup_days}"
    f" WHERE site_id = %(site_id)s AND {_PERIOD} GROUP BY day)"
)
_FILTERS = (
    "(%(country)s = '' OR country = %(country)s)"
    " AND (%(device)s = '' OR device_type = %(device)s)"
    " AND (%(bots)s = 1 OR is_bot = 0)"
)
# ``segment=`` (a value; "" for every visitor): visitors in the RFM segment on the row's day
# (rollup_segments, written by that day's build, at its latest generation: a rebuild of an
# earlier day scores it again). A day after the last built one (the open day) takes the last
# built day's membership.
_SEGMENT_DAY = (
    "(SELECT max(day) FROM {rollup_days} WHERE site_id = %(site_id)s AND day < toDate(%(end)s))"
)
# (The subqueries say ``%(segment)s != ''`` too: without a segment they read nothing.)
_SEGMENT_DAYS = (
    f"site_id = %(site_id)s AND %(segment)s != '' AND day >= least(toDate(%(start)s),"
    f" {_SEGMENT_DAY}) AND day < toDate(%(end)s)"
)
_SEGMENT = (
    f"(%(segment)s = '' OR (visitor_id, least(day, {_SEGMENT_DAY})) IN"
    f" (SELECT visitor_id, day FROM {{rollup_segments}} WHERE {_SEGMENT_DAYS}"
    " AND segment = %(segment)s AND (day, generation) IN"
    " (SELECT day, max(generation) FROM {rollup_segments}"
    f" WHERE {_SEGMENT_DAYS} GROUP BY day)))"
)
PERIOD_PARAMS: dict[str, type] = {"site_id": str, "start": date, "end": date}
FILTER_PARAMS: dict[str, type] = {"country": str, "device": str, "bots": int}
_RAW_PARAMS = {"tz": str, "start_ms": int, "end_ms": int, "rolled": list, "utc_days": tuple}


def _columns(columns: dict[str, str]) -> str:
    return ", ".join(name for name in columns if name not in ("site_id", "generation"))


def _source(table: str, columns: dict[str, str], raw_sql: str, raw: bool) -> str:
    rolled = (
        f"SELECT {_columns(columns)} FROM {{{table}}}"
        f" WHERE site_id = %(site_id)s AND {_PERIOD} AND {_LATEST_BUILDS}"
    )
    if not raw:
        return f"({rolled})"
    return (
        f"({rolled} UNION ALL SELECT {_columns(columns)} FROM ({raw_sql})"
        f" WHERE {_PERIOD} AND has(%(rolled)s, toString(day)) = 0)"
    )


@dataclass(frozen=True)
class SourcedQuery:
    """A report read over the rollups (``rolled``) or the rollups and raw days (``raw``)."""

    rolled: NamedQuery
    raw: NamedQuery
    # The same reads without the segment filter, for a question naming no segment (``segment``
    # not bound): the engines evaluate ``'' = '' OR ...`` row by row, its subqueries included.
    unsegmented: SourcedQuery | None = None


def rolled_and_raw(name: str, fill: Callable[[bool], str], params: dict[str, type]) -> SourcedQuery:
    """A report read over the rollups and its twin with the raw days (``<name>_with_raw``,
    which also binds the raw days' parameters): ``fill(raw)`` is the SQL of each."""
    return SourcedQuery(
        NamedQuery(name, fill(False), params),
        NamedQuery(f"{name}_with_raw", fill(True), {**params, **_RAW_PARAMS}),
    )


def _sourced(name: str, template: str, table: str, params: dict[str, type]) -> SourcedQuery:
    columns, raw_sql = {
        "rollup_sessions": (SESSION_COLUMNS, RAW_SESSIONS_SQL),
        "rollup_interests": (INTEREST_COLUMNS, RAW_INTERESTS_SQL),
        "rollup_products": (PRODUCT_COLUMNS, RAW_PRODUCTS_SQL),
        "rollup_visitor_days": (VISITOR_DAY_COLUMNS, RAW_VISITOR_DAYS_SQL),
    }[table]

    def pair(name: str, template: str, both: dict[str, type]) -> SourcedQuery:
        def fill(raw: bool) -> str:
            return template.replace("SOURCE", _source(table, columns, raw_sql, raw))

        return rolled_and_raw(name, fill, both)

    every = {**PERIOD_PARAMS, **FILTER_PARAMS, **params}
    # Every report here takes segment= (reports.query: the report's ``extra`` has "segment").
    with_segment = template.replace(_FILTERS, f"{_FILTERS} AND {_SEGMENT}")
    segmented = pair(name, with_segment, {**every, "segment": str})
    return SourcedQuery(
        segmented.rolled, segmented.raw, pair(f"{name}_unsegmented", template, every)
    )


def _groups(dimensions: tuple[str, ...]) -> tuple[str, str, dict[str, type]]:
    select = ", ".join(f"if(%(by_{d})s = 1, {d}, '') AS g_{d}" for d in dimensions)
    group = ", ".join(f"g_{d}" for d in dimensions)
    return select, group, {f"by_{d}": int for d in dimensions}


# --- which days are built ---------------------------------------------------------------------

ROLLED_DAYS = NamedQuery(
    "report_rolled_days",
    "SELECT day, max(generation) AS generation FROM {rollup_days}"
    f" WHERE site_id = %(site_id)s AND {_PERIOD} GROUP BY day ORDER BY day",
    params=PERIOD_PARAMS,
)

# --- audience ---------------------------------------------------------------------------------

_AUDIENCE_MEASURES = (
    "uniqExact(visitor_id) AS visitors,"
    " uniqExact(visitor_id, session_id) AS sessions,"
    " sum(page_views) AS page_view_count,"
    " countIf(page_views = 1) AS bounces,"
    " countIf(page_views > 0) AS landed,"
    " sum(engaged_ms) AS engaged_total_ms"
)
# (Aliases differ from the columns they sum: on 18.16 an alias is global to its SELECT.)
AUDIENCE_MEASURES = (
    "visitors",
    "sessions",
    "page_view_count",
    "bounces",
    "landed",
    "engaged_total_ms",
)

AUDIENCE_TOTALS = _sourced(
    "report_audience_totals",
    f"SELECT {_AUDIENCE_MEASURES} FROM SOURCE WHERE {_FILTERS}",
    "rollup_sessions",
    {},
)
AUDIENCE_DAYS = _sourced(
    "report_audience_days",
    f"SELECT day, {_AUDIENCE_MEASURES} FROM SOURCE WHERE {_FILTERS} GROUP BY day ORDER BY day",
    "rollup_sessions",
    {},
)
_select, _group, _flags = _groups(SESSION_DIMENSIONS)
AUDIENCE_BREAKDOWN = _sourced(
    "report_audience_breakdown",
    f"SELECT {_select}, {_AUDIENCE_MEASURES} FROM SOURCE WHERE {_FILTERS}"
    f" GROUP BY {_group} ORDER BY visitors DESC, {_group} LIMIT %(limit)s",
    "rollup_sessions",
    {**_flags, "limit": int},
)

# --- interests --------------------------------------------------------------------------------

_select, _group, _flags = _groups(INTEREST_DIMENSIONS)
INTEREST_GROUP_VISITORS = _sourced(
    "report_interest_group_visitors",
    f"SELECT {_select}, uniqExact(visitor_id) AS visitors FROM SOURCE WHERE {_FILTERS}"
    f" GROUP BY {_group}",
    "rollup_sessions",
    _flags,
)
INTEREST_ROWS = _sourced(
    "report_interest_rows",
    f"SELECT {_select}, category, uniqExact(visitor_id) AS visitors,"
    " sum(product_views) AS product_view_count, sum(engaged_ms) AS engaged_total_ms"
    f" FROM SOURCE WHERE {_FILTERS} GROUP BY {_group}, category",
    "rollup_interests",
    _flags,
)
del _select, _group, _flags

# --- products ---------------------------------------------------------------------------------

_PRODUCT_MEASURES = (
    "sum(views) AS view_count, sum(carts) AS cart_count, sum(orders) AS order_count,"
    " sum(units) AS unit_count, sum(revenue) AS revenue_total,"
    " uniqExactIf(visitor_id, views > 0) AS viewers,"
    " uniqExactIf(visitor_id, carts > 0) AS carters,"
    " uniqExactIf(visitor_id, orders > 0) AS buyers"
)
PRODUCT_MEASURES = (
    "view_count",
    "cart_count",
    "order_count",
    "unit_count",
    "revenue_total",
    "viewers",
    "carters",
    "buyers",
)
# ``per_product`` 1: a row per product (and currency), 0: per top category (and currency).
# ``sort``: views, carts, units or revenue (a value, compared in SQL).
PRODUCT_ROWS = _sourced(
    "report_product_rows",
    "SELECT if(%(per_product)s = 1, sku, '') AS g_sku, category, currency,"
    f" {_PRODUCT_MEASURES} FROM SOURCE WHERE {_FILTERS}"
    " GROUP BY g_sku, category, currency"
    " ORDER BY multiIf(%(sort)s = 'carts', cart_count, %(sort)s = 'units', unit_count,"
    " %(sort)s = 'revenue', revenue_total, view_count) DESC, g_sku, category, currency"
    " LIMIT %(limit)s",
    "rollup_products",
    {"per_product": int, "sort": str, "limit": int},
)
PRODUCT_TOTALS = _sourced(
    "report_product_totals",
    f"SELECT currency, {_PRODUCT_MEASURES} FROM SOURCE WHERE {_FILTERS}"
    " GROUP BY currency ORDER BY currency",
    "rollup_products",
    {},
)
PRODUCT_FUNNEL = _sourced(
    "report_product_funnel",
    # Visitors over every currency: who viewed any product, carted any, bought any.
    f"SELECT {_PRODUCT_MEASURES} FROM SOURCE WHERE {_FILTERS}",
    "rollup_products",
    {},
)
