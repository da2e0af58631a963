"""``GET /v1/reports/rfm/export?site=...&segment=...``: a segment's customers as CSV for
e-mail tools, with the personalizer's top offers per user (reports/segments.py)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.rfm_scores import SEGMENTS
from pipelines.warehouse.rollups import local_today
from pipelines.warehouse.segments import segment_day, segment_members
from reports.query import ReportError, parse_date
from reports.segments import (
    CommandOffers,
    OfferSource,
    OffersUnavailable,
    export_csv,
    member_offers,
)
from reports.views.common import Denied, error, json_answer, require_reports, state

bp = Blueprint("segments", __name__, url_prefix="/v1/reports/rfm")
PARAMETERS = ("site", "segment", "until", "offers")
OFFERS_EXTENSION = "reports_offers"  # app.extensions: an OfferSource in place of the command


def offer_source() -> OfferSource:
    found = current_app.extensions.get(OFFERS_EXTENSION)
    return found if found is not None else CommandOffers(state().settings.to_env())


@bp.get("/export")
def export() -> Response:
    repeated = [key for key, values in request.args.lists() if len(values) > 1]
    if repeated:
        return error(400, f"each parameter once; repeated: {', '.join(repeated)}")
    params = request.args.to_dict(flat=True)
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        return error(400, f"unknown parameter {', '.join(unknown)}; known: {', '.join(PARAMETERS)}")
    site_id = params.get("site", "")
    if not site_id:
        return error(400, "site is required: ?site=<site id>")
    try:
        require_reports(site_id)
    except Denied as exc:
        return error(exc.status, str(exc))
    shared = state()
    site = shared.sites.get(site_id)
    if site is None:
        return error(404, f"no site {site_id!r}")
    name = params.get("segment", "")
    if name not in SEGMENTS:
        return error(400, f"segment must be one of {', '.join(SEGMENTS)}, got {name!r}")
    count_text = params.get("offers", "6")
    if not count_text.isdigit() or int(count_text) > 50:
        return error(400, f"offers must be a whole number from 0 to 50, got {count_text!r}")
    try:
        until = (
            parse_date("until", params["until"])
            if "until" in params
            else local_today(site.timezone, shared.clock())
        )
    except ReportError as exc:  # a day outside the warehouse's was a 500
        return error(400, str(exc))
    store = shared.source.store
    try:
        built = segment_day(store, site_id, until)
        members = segment_members(store, site_id, built, name) if built else []
    except WarehouseUnavailable as exc:
        return json_answer(503, {"error": f"the warehouse is unavailable: {exc}"}, Retry_After="5")
    except WarehouseError as exc:
        shared.log.error("segment export failed: %s", exc)
        return error(500, "the warehouse refused the segment export's query")
    try:
        offers = member_offers(offer_source(), site_id, members, int(count_text))
    except OffersUnavailable as exc:
        return json_answer(503, {"error": f"the personalizer's offers: {exc}"}, Retry_After="30")
    return Response(
        export_csv(members, offers),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{site_id}-{built}.csv"',
            "Cache-Control": "no-store",
            "X-Segment-As-Of": str(built or ""),
        },
    )
