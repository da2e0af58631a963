"""``GET /v1/reports`` (the reports there are) and ``GET /v1/reports/<name>?site=...``:
JSON by default, CSV with ``format=csv``."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.rollups import local_today
from reports import metrics
from reports.catalog import REPORTS
from reports.query import ReportError, parse_query
from reports.views.common import Denied, error, json_answer, require_reports, state

bp = Blueprint("reports", __name__, url_prefix="/v1/reports")


@bp.get("")
def index() -> Response:
    return json_answer(
        200,
        {
            "reports": [
                {
                    "name": kind.name,
                    "summary": kind.summary,
                    kind.breakdown_name: list(kind.breakdowns),
                }
                for kind in REPORTS.values()
            ]
        },
    )


@bp.get("/<name>")
def report(name: str) -> Response:
    started = time.perf_counter()
    response = _answer(name)
    label = name if name in REPORTS else "unknown"
    metrics.REQUESTS.labels(label, str(response.status_code)).inc()
    if response.status_code == 200:
        metrics.REPORT_SECONDS.labels(label).observe(time.perf_counter() - started)
    return response


def _answer(name: str) -> Response:
    kind = REPORTS.get(name)
    if kind is None:
        return error(404, f"no report {name!r}; reports: {', '.join(REPORTS)}")
    repeated = [key for key, values in request.args.lists() if len(values) > 1]
    if repeated:
        return error(400, f"each parameter once; repeated: {', '.join(repeated)}")
    params = request.args.to_dict(flat=True)
    site_id = params.get("site", "")
    if not site_id:
        return error(400, "site is required: ?site=<site id>")
    shared = state()
    try:
        require_reports(site_id)
    except Denied as exc:
        return error(exc.status, str(exc))
    site = shared.sites.get(site_id)
    if site is None:
        return error(404, f"no site {site_id!r}")
    output = params.get("format", "json")
    if output not in ("json", "csv"):
        return error(400, f"format must be json or csv, got {output!r}")
    try:
        query = parse_query(
            params,
            site_id,
            site.timezone,
            local_today(site.timezone, shared.clock()),
            kind.breakdowns,
            kind.breakdown_name,
            kind.multiple,
            kind.extra,
        )
        answer = kind.run(shared.source, query)
    except ReportError as exc:
        return error(400, str(exc))
    except WarehouseUnavailable as exc:
        return json_answer(503, {"error": f"the warehouse is unavailable: {exc}"}, Retry_After="5")
    except WarehouseError as exc:
        shared.log.error("report %s failed: %s", name, exc)
        return error(500, f"the warehouse refused the {name} report's query")
    if output == "csv":
        return Response(
            answer.to_csv(),
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}-{site_id}.csv"',
                "Cache-Control": "no-store",
            },
        )
    return json_answer(200, answer.to_json())
