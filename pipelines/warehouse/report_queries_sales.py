"""The sales report's named read, over ``rollup_orders`` (one row per purchase, built with
the other rollups: ``rollups_campaigns.py``) and the days not built yet from raw events with
the same SQL (``report_queries.SourcedQuery``).

``SALES_DAYS``: per site-local day and currency, the orders (purchases) and their revenue
(line items' price x quantity, minor units), over the period, with the common filters
(``country``, ``device``: the purchase event's own; ``bots``). 18.16's dialect.
"""

from __future__ import annotations

from datetime import date

from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.report_queries import _FILTERS, SourcedQuery, _source
from pipelines.warehouse.rollups_campaigns import ORDER_COLUMNS, RAW_ORDERS_SQL

_PARAMS: dict[str, type] = {
    "site_id": str,
    "start": date,
    "end": date,
    "country": str,
    "device": str,
    "bots": int,
}
_RAW_PARAMS = {"tz": str, "start_ms": int, "end_ms": int, "rolled": list, "utc_days": tuple}
# (Aliases differ from column names: on 18.16 an alias is global to its SELECT.)
_TEMPLATE = (
    "SELECT day, currency, count() AS order_count, sum(revenue) AS revenue_total"
    f" FROM ORDERS WHERE {_FILTERS} GROUP BY day, currency ORDER BY day, currency"
)


def _fill(raw: bool) -> str:
    return _TEMPLATE.replace("ORDERS", _source("rollup_orders", ORDER_COLUMNS, RAW_ORDERS_SQL, raw))


SALES_DAYS = SourcedQuery(
    NamedQuery("report_sales_days", _fill(False), _PARAMS),
    NamedQuery("report_sales_days_with_raw", _fill(True), {**_PARAMS, **_RAW_PARAMS}),
)
