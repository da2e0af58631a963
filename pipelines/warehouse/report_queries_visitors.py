"""The retention report's named reads over ``rollup_visitor_days`` (rollups_visitors.py): the
built days from the rollups, the others (the open day) from raw events, as every report.

A visitor's **first visit** is its first day with a row, over the site's whole history up to
the period's end (the caller widens the read to it): exact over any period, on both engines.
``first`` is the first day counted (a Monday); ``start`` and ``end`` bound the history read.
"""

from __future__ import annotations

from datetime import date

from pipelines.warehouse.report_queries import _FILTERS, _sourced

_ACTIVITY = "day >= toDate(%(first)s)"
_NOT_BOT = "(%(bots)s = 1 OR is_bot = 0)"
_NEVER = "toDate('2105-01-01')"  # no purchase yet: a day after every other

# (cohort week, week, visitors of the cohort active that week); the cohort's own week holds
# its size.
RETENTION_COHORTS = _sourced(
    "report_retention_cohorts",
    "SELECT toMonday(first_day) AS cohort, toMonday(a_day) AS week,"
    " uniqExact(visitor_id) AS returning_visitors"
    " FROM (SELECT DISTINCT visitor_id, day AS a_day FROM SOURCE"
    f" WHERE {_FILTERS} AND {_ACTIVITY}) AS a"
    " ALL INNER JOIN (SELECT visitor_id, min(day) AS first_day FROM SOURCE"
    f" WHERE {_NOT_BOT} GROUP BY visitor_id HAVING first_day >= toDate(%(first)s)) AS f"
    " USING visitor_id WHERE a_day >= first_day"
    " GROUP BY cohort, week ORDER BY cohort, week",
    "rollup_visitor_days",
    {"first": date},
)
# Per week: active visitors, acquired (first visit that week), enhanced (viewed a product or
# carted), retained (active, and bought before the week), buyers (bought that week).
LIFECYCLE_WEEKS = _sourced(
    "report_lifecycle_weeks",
    "SELECT toMonday(a_day) AS week, uniqExact(visitor_id) AS active_visitors,"
    " uniqExactIf(visitor_id, toMonday(first_day) = toMonday(a_day)) AS acquired,"
    " uniqExactIf(visitor_id, a_engaged > 0) AS enhanced,"
    " uniqExactIf(visitor_id, first_order < toMonday(a_day)) AS retained,"
    " uniqExactIf(visitor_id, a_orders > 0) AS buyers"
    " FROM (SELECT visitor_id, day AS a_day, product_views + carts AS a_engaged,"
    f" orders AS a_orders FROM SOURCE WHERE {_FILTERS} AND {_ACTIVITY}) AS a"
    " ALL INNER JOIN (SELECT visitor_id, min(day) AS first_day,"
    f" if(sum(orders) = 0, {_NEVER}, minIf(day, orders > 0)) AS first_order"
    f" FROM SOURCE WHERE {_NOT_BOT} GROUP BY visitor_id) AS f USING visitor_id"
    " GROUP BY week ORDER BY week",
    "rollup_visitor_days",
    {"first": date},
)
