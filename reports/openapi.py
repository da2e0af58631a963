"""The reports API as an OpenAPI 3.1 document (served at ``/openapi.json``), built from the
report catalog and the parameters ``reports.query`` accepts, so it cannot drift from them;
the tests check real answers against its schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from pipelines.enrich.device import DEVICE_TYPES
from reports.catalog import REPORTS, ReportKind
from reports.query import MAX_DAYS

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What was wrong, for people."}},
}
ANSWER = {
    "type": "object",
    "required": ["report", "site", "time_zone", "period", "filters", "totals", "columns", "rows"],
    "properties": {
        "report": {"type": "string"},
        "site": {"type": "string"},
        "time_zone": {"type": "string", "description": "The site's zone: days are its days."},
        "period": {
            "type": "object",
            "required": ["since", "until"],
            "properties": {
                "since": {"type": "string", "format": "date"},
                "until": {"type": "string", "format": "date", "description": "Included."},
            },
        },
        "filters": {"type": "object"},
        "breakdown": {"type": "array", "items": {"type": "string"}},
        "totals": {"type": "object"},
        "raw_days": {
            "type": "array",
            "items": {"type": "string", "format": "date"},
            "description": "Days read from raw events (not rolled up yet): exact, slower.",
        },
        "forecast": {
            "type": "object",
            "description": "sales: the forecast's method, interval level, horizon_days, "
            "first_day, history_days (closed days it was fitted to), min_history_days, and "
            "note (why there is no forecast, or null).",
        },
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {
            "type": "array",
            "items": {"type": "object"},
            "description": "One object per row, keyed by the columns (the CSV's rows).",
        },
    },
}


def _parameter(
    name: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _common() -> list[dict[str, Any]]:
    return [
        _parameter("site", "The site id.", {"type": "string"}, required=True),
        _parameter(
            "since",
            f"<n>d (the last n days up to until) or a date; default 30d; at most {MAX_DAYS} days.",
            {"type": "string", "pattern": r"^([1-9][0-9]{0,3}d|\d{4}-\d{2}-\d{2})$"},
        ),
        _parameter(
            "until",
            "Last day, included (default today; empty as a blank form field sends it: today).",
            {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]},
        ),
        _parameter(
            "country", "ISO 3166 alpha-2 code.", {"type": "string", "pattern": "^[A-Za-z]{2}$"}
        ),
        _parameter("device", "Device type.", {"type": "string", "enum": list(DEVICE_TYPES)}),
        _parameter(
            "bots", "1 counts bots (left out by default).", {"type": "string", "enum": ["0", "1"]}
        ),
        _parameter("format", "json (default) or csv.", {"type": "string", "enum": ["json", "csv"]}),
        _parameter("limit", "Most rows.", {"type": "integer", "minimum": 1, "maximum": 100000}),
    ]


def _breakdown(kind: ReportKind) -> dict[str, Any]:
    if kind.multiple:
        return _parameter(
            kind.breakdown_name,
            f"Comma-separated, any of: {', '.join(kind.breakdowns)}.",
            {"type": "string"},
        )
    return _parameter(
        kind.breakdown_name, "One dimension.", {"type": "string", "enum": list(kind.breakdowns)}
    )


def _extra(kind: ReportKind) -> list[dict[str, Any]]:
    from pipelines.warehouse.rfm_scores import SEGMENTS
    from reports.products import SORTS
    from reports.retention import VIEWS

    sort = {"type": "string", "enum": list(SORTS)}
    known = {"sort": _parameter("sort", "Order of the rows.", sort)}
    known["segment"] = _parameter(
        "segment",
        "Only visitors in this RFM segment on the event's day (rfm: only this segment); empty, as "
        "a blank form field sends it: every visitor.",
        {"type": "string", "enum": ["", *SEGMENTS]},
    )
    known["view"] = _parameter(
        "view",
        "retention: cohorts (default) or lifecycle.",
        {"type": "string", "enum": list(VIEWS)},
    )
    known["members"] = _parameter(
        "members",
        "rfm: 1 gives a row per customer (user id, visitor ids, scores, top categories).",
        {"type": "string", "enum": ["0", "1"]},
    )
    known["window"] = _parameter(
        "window",
        "campaigns: days after a touch (impression or click) within which an order counts for "
        "it, by last touch; also the holdout comparison's window (default 7).",
        {"type": "integer", "minimum": 1, "maximum": 90},
    )
    known["steps"] = _parameter(
        "steps",
        "funnels (required): 2 to 8 steps in order, comma-separated, each an event type with an "
        "optional condition category=, sku= or path=, e.g. "
        "page_view,product_view:category=Shoes,add_to_cart,purchase.",
        {"type": "string"},
        required=True,
    )
    known["within"] = _parameter(
        "within",
        "funnels: most time from step 1 to the last, <n>s, <n>m, <n>h or <n>d (default 1d, at "
        "most 90 days).",
        {"type": "string", "pattern": "^[1-9][0-9]{0,6}[smhd]$"},
    )
    return [known[name] for name in kind.extra]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _report_path(kind: ReportKind) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"report_{kind.name}",
            "summary": kind.summary,
            "security": [{"token": []}],
            "parameters": [*_common(), _breakdown(kind), *_extra(kind)],
            "responses": {
                "200": {
                    "description": "The report (JSON), or its rows (CSV with format=csv).",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": _error("A parameter that cannot be answered (named in the message)."),
                "401": _error("No valid token."),
                "403": _error("The token may not read this site's reports."),
                "404": _error("No such site."),
                "503": _error("The warehouse is unavailable: retry later."),
            },
        }
    }


def _segment_export() -> dict[str, Any]:
    from pipelines.warehouse.rfm_scores import SEGMENTS

    return {
        "get": {
            "operationId": "segment_export",
            "summary": "A segment's customers as CSV for e-mail tools: user_id, visitor_ids, "
            "segment, r, f, m, recency_days, orders, revenue, top_categories, offers (the "
            "personalizer's top offers for the user, SKUs separated by spaces).",
            "security": [{"token": []}],
            "parameters": [
                _parameter("site", "The site id.", {"type": "string"}, required=True),
                _parameter(
                    "segment",
                    "The RFM segment.",
                    {"type": "string", "enum": list(SEGMENTS)},
                    required=True,
                ),
                _parameter(
                    "until",
                    "As of this day (default today; the latest built day on or before it).",
                    {"type": "string", "format": "date"},
                ),
                _parameter(
                    "offers",
                    "Offers per user (default 6; 0: none).",
                    {"type": "integer", "minimum": 0, "maximum": 50},
                ),
            ],
            "responses": {
                "200": {
                    "description": "The customers, one CSV row each.",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "400": _error("A parameter that cannot be answered (named in the message)."),
                "401": _error("No valid token."),
                "403": _error("The token may not read this site's reports."),
                "404": _error("No such site."),
                "503": _error("The warehouse or the personalizer's offers are unavailable."),
            },
        }
    }


def _plain(description: str, content: str = "application/json") -> dict[str, Any]:
    return {
        "get": {
            "summary": description,
            "responses": {
                "200": {"description": description, "content": {content: {"schema": {}}}}
            },
        }
    }


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/v1/reports/{name}": _report_path(kind) for name, kind in REPORTS.items()
    }
    paths["/v1/reports"] = _plain("The reports there are, with their breakdowns.")
    paths["/v1/reports/rfm/export"] = _segment_export()
    paths["/healthz"] = _plain("Alive.")
    paths["/readyz"] = _plain("Ready: the warehouse answers (503 when not).")
    paths["/metrics"] = _plain("Prometheus metrics.", "text/plain")
    paths["/openapi.json"] = _plain("This document.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clicktrail reports",
            "version": "1",
            "description": "Marketer reports over exact daily rollups (docs/reports.md). "
            "Tokens with the read, marketer or admin role on the site (or on every site).",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR, "Report": ANSWER},
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }
