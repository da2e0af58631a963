"""The campaigns report: what the personalizer decided and showed, what it brought, and its
lift over the holdout.

A row per campaign (and, with ``by=``, creative, placement, country, device):

- ``decisions``, ``impressions``, ``viewable``, ``clicks``, ``ctr`` (clicks / impressions)
  and ``visitors`` (distinct visitors who saw an impression, exact over the period);
- ``conversions`` and ``revenue_<currency>``: orders credited to the row by **last touch**:
  each order goes to the latest impression or click (of any campaign) at or before it and at
  most ``window`` days (default 7) before it; the row gets it when that touch is in the
  period (the order may come up to ``window`` days after the period);
- lift against the holdout (per campaign, and placement, country, device when asked; the same
  on each creative's row): ``exposed_visitors`` (visitors with a decision that showed the
  campaign) and ``holdout_visitors`` (visitors held out of it, shown the default), the share
  of each who ordered within ``window`` days after their first such decision of the period
  (``exposed_rate``, ``holdout_rate``), ``uplift`` = their difference with Newcombe's 95 %
  interval (``uplift_low``, ``uplift_high``), and ``lift`` = exposed_rate / holdout_rate - 1
  with the Katz log 95 % interval (``lift_low``, ``lift_high``); empty where undefined.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pipelines.warehouse.report_queries import SourcedQuery
from pipelines.warehouse.report_queries_campaigns import (
    CAMPAIGN_BREAKDOWNS,
    CAMPAIGN_CONVERSIONS,
    CAMPAIGN_COUNTS,
    CAMPAIGN_LIFT,
    CAMPAIGN_TOTALS,
    LIFT_BREAKDOWNS,
)
from reports.audience import _summary
from reports.proportions import difference_interval, ratio_interval
from reports.query import Period, ReportError, ReportQuery
from reports.source import Read, RollupSource
from reports.table import Report

# public name -> rollup column
BREAKDOWNS: dict[str, str] = {
    "creative": "creative_id",
    "placement": "placement",
    "country": "country",
    "device": "device_type",
}
DEFAULT_WINDOW = 7
MAX_WINDOW = 90
COUNT_FIGURES = ("decisions", "impressions", "viewable", "clicks", "ctr", "visitors")
LIFT_FIGURES = (
    "exposed_visitors",
    "exposed_rate",
    "holdout_visitors",
    "holdout_rate",
    "uplift",
    "uplift_low",
    "uplift_high",
    "lift",
    "lift_low",
    "lift_high",
)


def parse_window(text: str) -> int:
    """``window``: whole days from 1 to MAX_WINDOW."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_WINDOW:
        raise ReportError(
            f"window must be a whole number of days from 1 to {MAX_WINDOW}, got {text!r}"
        )
    return int(text)


def reach(period: Period, window: int, today: Any) -> Period:
    """The days the sources are read over: ``window`` days before the period (earlier touches
    may take its orders) and after it up to today (later orders of its touches)."""
    tomorrow = today + timedelta(days=1)
    end = min(period.end + timedelta(days=window), max(period.end, tomorrow))
    return Period(period.start - timedelta(days=window), end)


def count_figures(measures: Sequence[Any]) -> dict[str, Any]:
    """(decisions, impressions, viewable, clicks, visitors) to the report's figures. Pure."""
    decisions, impressions, viewable, clicks, visitors = (int(m) for m in measures)
    return {
        "decisions": decisions,
        "impressions": impressions,
        "viewable": viewable,
        "clicks": clicks,
        "ctr": clicks / impressions if impressions else None,
        "visitors": visitors,
    }


def lift_figures(exposed: tuple[int, int], holdout: tuple[int, int]) -> dict[str, Any]:
    """From (visitors, converters) of the exposed and the holdout arm. Pure."""
    (n1, x1), (n2, x2) = exposed, holdout
    rate1 = x1 / n1 if n1 else None
    rate2 = x2 / n2 if n2 else None
    difference = difference_interval(x1, n1, x2, n2)
    ratio = ratio_interval(x1, n1, x2, n2)
    return {
        "exposed_visitors": n1,
        "exposed_rate": rate1,
        "holdout_visitors": n2,
        "holdout_rate": rate2,
        "uplift": rate1 - rate2 if rate1 is not None and rate2 is not None else None,
        "uplift_low": difference[0] if difference else None,
        "uplift_high": difference[1] if difference else None,
        "lift": rate1 / rate2 - 1 if rate1 is not None and rate2 else None,
        "lift_low": ratio[0] - 1 if ratio else None,
        "lift_high": ratio[1] - 1 if ratio else None,
    }


def campaigns(source: RollupSource, query: ReportQuery) -> Report:
    window_days = parse_window(query.option("window", str(DEFAULT_WINDOW)))
    chosen = [BREAKDOWNS[name] for name in query.breakdown]
    flags = {f"by_{column}": int(column in chosen) for column in CAMPAIGN_BREAKDOWNS}
    lift_flags = {f"by_{column}": int(column in chosen) for column in LIFT_BREAKDOWNS}
    wide = reach(query.period, window_days, query.today)
    rollup_window = source.window(query, wide)
    params = {"p_start": query.period.start, "p_end": query.period.end}
    window_ms = window_days * 86_400_000

    def read(sourced: SourcedQuery, extra: dict[str, Any]) -> Read:
        return Read(sourced, period=wide, window=rollup_window, params={**params, **extra})

    width = len(CAMPAIGN_BREAKDOWNS)
    # The four reads are independent: side by side (the server's cores, chdb's threads)
    conversions, counts, lift_rows, totals_rows = (
        found.rows
        for found in source.run_many(
            query,
            [
                read(CAMPAIGN_CONVERSIONS, {**flags, "window_ms": window_ms}),
                read(CAMPAIGN_COUNTS, {**flags, "limit": query.limit}),
                read(CAMPAIGN_LIFT, {**lift_flags, "window_ms": window_ms}),
                read(CAMPAIGN_TOTALS, {}),
            ],
        )
    )
    totals_row = totals_rows[0]

    currencies = sorted({row[width + 1] for row in conversions if row[width + 1]})
    converted: dict[tuple, dict[str, int]] = {}
    for row in conversions:
        key = tuple(row[: width + 1])
        found = converted.setdefault(key, {"conversions": 0})
        found["conversions"] += int(row[width + 2])
        found[row[width + 1]] = found.get(row[width + 1], 0) + int(row[width + 3])
    arms: dict[tuple, dict[int, tuple[int, int]]] = {}
    for row in lift_rows:
        key = tuple(row[: len(LIFT_BREAKDOWNS) + 1])
        arms.setdefault(key, {})[int(row[-3])] = (int(row[-2]), int(row[-1]))

    names = [name for name, column in BREAKDOWNS.items() if column in chosen]
    columns = (
        "campaign",
        *names,
        *COUNT_FIGURES,
        "conversions",
        *(f"revenue_{currency}" for currency in currencies),
        *LIFT_FIGURES,
    )
    keep = [0] + [1 + CAMPAIGN_BREAKDOWNS.index(BREAKDOWNS[name]) for name in names]
    rows = []
    for row in counts:
        key = tuple(row[: width + 1])
        figures = count_figures(row[width + 1 :])
        money = converted.get(key, {})
        lift_key = (key[0], *key[2:])
        arm = arms.get(lift_key, {})
        lift = lift_figures(arm.get(0, (0, 0)), arm.get(1, (0, 0)))
        rows.append(
            (
                *(key[i] for i in keep),
                *figures.values(),
                money.get("conversions", 0),
                *(money.get(currency, 0) for currency in currencies),
                *lift.values(),
            )
        )
    totals = count_figures(totals_row)
    totals["conversions"] = sum(found["conversions"] for found in converted.values())
    totals["revenue"] = {
        currency: sum(found.get(currency, 0) for found in converted.values())
        for currency in currencies
    }
    summary = _summary(query, totals, rollup_window.raw)
    summary["window_days"] = window_days
    summary["attribution"] = "last touch (impression or click) within the window before the order"
    return Report("campaigns", columns, rows, summary)
