"""The sales report's named read, over ``rollup_orders`` (one row per purchase, built with
the other rollups: ``rollups_campaigns.py``) and the days not built yet from raw events with
the same SQL (``report_queries.SourcedQuery``).

``SALES_DAYS``: per site-local day and currency, the orders (purchases) and their revenue
(line items' price x quantity, minor units), over the period, with the common filters
(``country``, ``device``: the purchase event's own; ``bots``). 18.16's dialect.
"""

from __future__ import annotations

from pipelines.warehouse.report_queries import (
    _FILTERS,
    FILTER_PARAMS,
    PERIOD_PARAMS,
    _source,
    rolled_and_raw,
)
from pipelines.warehouse.rollups_campaigns import ORDER_COLUMNS, RAW_ORDERS_SQL

# (Aliases differ from column names: on 18.16 an alias is global to its SELECT.)
_TEMPLATE = (
    "SELECT day, currency, count() AS order_count, sum(revenue) AS revenue_total"
    f" FROM ORDERS WHERE {_FILTERS} GROUP BY day, currency ORDER BY day, currency"
)


SALES_DAYS = rolled_and_raw(
    "report_sales_days",
    lambda raw: _TEMPLATE.replace(
        "ORDERS", _source("rollup_orders", ORDER_COLUMNS, RAW_ORDERS_SQL, raw)
    ),
    {**PERIOD_PARAMS, **FILTER_PARAMS},
)
