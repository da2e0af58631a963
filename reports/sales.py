"""The sales report: daily orders and revenue per currency, with a forecast of the next four
weeks and its interval (docs/reports.md, "sales").

A row per site-local day of the period and currency: ``orders`` (purchases) and ``revenue``
(line items' price x quantity, minor units of ``currency``), exact, from the rollups
(``kind`` ``actual``; the open day, today, is ``partial``). Then a row per day of the
``HORIZON`` days after the last closed day of the period (``kind`` ``forecast``): the
forecast orders and revenue and their interval (``*_low``, ``*_high``), from
``reports.forecast`` fitted to the period's closed days. With fewer closed days than a
forecast needs (``forecast.MIN_HISTORY``), the report is the series alone and
``forecast.note`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pipelines.warehouse.report_queries_sales import SALES_DAYS
from reports.audience import _summary
from reports.forecast import HORIZON, LEVEL, METHOD, MIN_HISTORY, ForecastError, forecast
from reports.query import ReportQuery
from reports.source import RollupSource
from reports.table import Report

COLUMNS = (
    "day",
    "currency",
    "kind",  # actual, partial (the open day) or forecast
    "orders",
    "revenue",
    "orders_low",
    "orders_high",
    "revenue_low",
    "revenue_high",
)


def series(
    rows: Sequence[Sequence[Any]], days: Sequence[date]
) -> dict[str, tuple[list[int], list[int]]]:
    """Pure: (day, currency, orders, revenue) rows to, per currency, the orders and revenue
    of every day of ``days`` (0 on a day without orders)."""
    index = {day: n for n, day in enumerate(days)}
    out: dict[str, tuple[list[int], list[int]]] = {}
    for day, currency, orders, revenue in rows:
        if day not in index:
            continue
        counts, sums = out.setdefault(currency, ([0] * len(days), [0] * len(days)))
        counts[index[day]] = int(orders)
        sums[index[day]] = int(revenue)
    return out


def forecast_rows(
    currency: str, first: date, orders: Sequence[int], revenue: Sequence[int]
) -> list[tuple[Any, ...]]:
    """Pure apart from the model: the forecast rows of one currency from its closed days.
    Raises ``ForecastError``."""
    made_orders = forecast([float(v) for v in orders])
    made_revenue = forecast([float(v) for v in revenue])
    rows = []
    for h in range(HORIZON):
        rows.append(
            (
                first + timedelta(days=h),
                currency,
                "forecast",
                round(made_orders.mean[h], 2),
                round(made_revenue.mean[h]),
                round(made_orders.low[h], 2),
                round(made_orders.high[h], 2),
                round(made_revenue.low[h]),
                round(made_revenue.high[h]),
            )
        )
    return rows


def sales(source: RollupSource, query: ReportQuery) -> Report:
    window = source.window(query)
    shown = [day for day in query.period.dates() if day <= query.today]
    closed = [day for day in shown if day < query.today]
    found = source.run(SALES_DAYS, query, window=window).rows
    by_currency = series(found, shown)
    rows: list[tuple[Any, ...]] = []
    notes: list[str] = []
    first = (closed[-1] if closed else query.period.start - timedelta(days=1)) + timedelta(days=1)
    method = ""
    for currency, (orders, revenue) in sorted(by_currency.items()):
        for n, day in enumerate(shown):
            kind = "actual" if day < query.today else "partial"
            rows.append((day, currency, kind, orders[n], revenue[n], None, None, None, None))
        history = len(closed)
        try:
            made = forecast_rows(currency, first, orders[:history], revenue[:history])
        except ForecastError as exc:
            notes.append(f"{currency}: no forecast: {exc}")
            continue
        rows.extend(made)
        method = METHOD
    if not by_currency:
        notes.append("no orders in the period: nothing to forecast")
    totals = {
        "orders": {c: sum(o) for c, (o, _) in sorted(by_currency.items())},
        "revenue": {c: sum(r) for c, (_, r) in sorted(by_currency.items())},
    }
    summary = _summary(query, totals, window.raw)
    summary["forecast"] = {
        "method": method or None,
        "level": LEVEL,
        "horizon_days": HORIZON,
        "first_day": first,
        "history_days": len(closed),
        "min_history_days": MIN_HISTORY,
        "note": "; ".join(notes) or None,
    }
    return Report("sales", COLUMNS, rows, summary)
