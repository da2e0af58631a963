"""The management API (token-protected): campaigns, their history, the catalog.

``/v1/manage/sites/<site>/campaigns``            GET list
``/v1/manage/sites/<site>/campaigns/<id>``       GET, PUT (create or replace), DELETE
``/v1/manage/sites/<site>/campaigns/<id>/explain`` POST a sample visitor: which rules match
``/v1/manage/sites/<site>/history``              GET the latest changes
``/v1/manage/sites/<site>/catalog``              GET the product count, POST a feed
                                                 (``?kind=csv|json&replace=1``)
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from clicktrail.contract import jsontext
from personalizer.campaign_store import Plan, StoreUnavailable
from personalizer.campaigns import CampaignError, parse_campaign
from personalizer.catalog import parse_feed
from personalizer.catalog_store import CatalogUnavailable
from personalizer.views.common import Denied, error, json_answer, require, state

bp = Blueprint("manage", __name__, url_prefix="/v1/manage/sites/<site_id>")


@bp.errorhandler(Denied)
def _denied(exc: Denied) -> Response:
    return error(exc.status, str(exc))


@bp.errorhandler(StoreUnavailable)
@bp.errorhandler(CatalogUnavailable)
def _unavailable(exc: Exception) -> Response:
    return json_answer(503, {"error": f"the durable store is unavailable: {exc}"}, Retry_After="5")


@bp.get("/campaigns")
def list_campaigns(site_id: str) -> Response:
    require("campaigns", site_id)
    campaigns = state().campaign_store.load(site_id)
    return json_answer(
        200, {"campaigns": [c.model_dump(mode="json") for _, c in sorted(campaigns.items())]}
    )


@bp.get("/campaigns/<campaign_id>")
def get_campaign(site_id: str, campaign_id: str) -> Response:
    require("campaigns", site_id)
    campaign = state().campaign_store.load(site_id).get(campaign_id)
    if campaign is None:
        return error(404, f"no campaign {campaign_id!r} on {site_id!r}")
    return json_answer(200, campaign.model_dump(mode="json"))


@bp.put("/campaigns/<campaign_id>")
def put_campaign(site_id: str, campaign_id: str) -> Response:
    token = require("campaigns", site_id)
    document = _json_body()
    if not isinstance(document, dict):
        return error(400, "the body must be a campaign object")
    for name, value in (("id", campaign_id), ("site_id", site_id)):
        if document.setdefault(name, value) != value:
            return error(400, f"{name} in the body ({document[name]!r}) differs from the URL")
    try:
        campaign = parse_campaign(document)
    except CampaignError as exc:
        return error(422, str(exc))
    store = state().campaign_store
    plan = store.plan(site_id, [campaign])
    plan.unchanged = []
    version = store.apply(site_id, plan, actor=f"token:{token.token_id}")
    status = 201 if plan.added else 200
    return json_answer(status, {"changes": plan.lines(), "version": version})


@bp.delete("/campaigns/<campaign_id>")
def delete_campaign(site_id: str, campaign_id: str) -> Response:
    token = require("campaigns", site_id)
    store = state().campaign_store
    campaign = store.load(site_id).get(campaign_id)
    if campaign is None:
        return error(404, f"no campaign {campaign_id!r} on {site_id!r}")
    plan = Plan(removed=[campaign])
    version = store.apply(site_id, plan, actor=f"token:{token.token_id}")
    return json_answer(200, {"changes": plan.lines(), "version": version})


@bp.get("/history")
def history(site_id: str) -> Response:
    require("campaigns", site_id)
    count = request.args.get("count", "100")
    if not count.isdigit() or not 1 <= int(count) <= 1000:
        return error(400, "count: a whole number from 1 to 1000")
    return json_answer(200, {"history": state().campaign_store.history(site_id, int(count))})


@bp.get("/catalog")
def catalog_size(site_id: str) -> Response:
    require("catalog", site_id)
    return json_answer(200, {"products": len(state().catalog_store.load(site_id))})


@bp.post("/catalog")
def import_catalog(site_id: str) -> Response:
    require("catalog", site_id)
    kind = request.args.get("kind", "json")
    try:
        feed = parse_feed(request.get_data(as_text=True), kind)
    except ValueError as exc:
        return error(400, str(exc))
    replace = request.args.get("replace", "0")
    if replace not in ("0", "1"):
        return error(
            400, f"replace must be 1 (drop what the feed does not name) or 0, got {replace!r}"
        )
    result = state().catalog_store.import_products(site_id, feed.products, replace=replace == "1")
    return json_answer(
        200,
        {
            "written": result.written,
            "unchanged": result.unchanged,
            "removed": result.removed,
            "rejected": [{"line": r.line, "sku": r.sku, "reason": r.reason} for r in feed.rejected],
        },
    )


def _json_body() -> Any:
    try:
        return jsontext.loads(request.get_data(cache=False))
    except jsontext.JsonError as exc:
        raise Denied(400, f"body is not valid JSON: {exc}") from None
