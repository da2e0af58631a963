"""Campaign management in the dashboard: list, create, edit, pause and resume a site's
campaigns and their creatives, and preview what a sample visitor would be shown.

Every change goes through the personalizer's own code: ``parse_campaign`` validates (its
messages are shown in the form), ``CampaignStore`` plans and applies the change with its
history entry and version bump in the durable Redis (``CLICKTRAIL_STATE_URL``), where every
running personalizer picks it up within a second or two. Only principals whose role may manage
campaigns (marketer, admin) on the site get here; every form carries the CSRF token (checked
for every POST of the dashboard)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from personalizer.campaign_store import CampaignStore, StoreUnavailable
from personalizer.campaigns import Campaign, CampaignError, parse_campaign
from pipelines.enrich.device import DEVICE_TYPES
from reports.dashboard.campaign_form import (
    PACINGS,
    STATUSES,
    FormError,
    FormValues,
    document,
    read_form,
    values_of,
)
from reports.dashboard.filters import read_filters
from reports.dashboard.preview import SampleError, parse_sample, preview, sample_visitor
from reports.dashboard.principal import Principal
from reports.dashboard.views import bp, layout_context
from reports.views.common import state

STORE_EXTENSION = "dashboard_campaigns"
STORE_TIMEOUT_S = 2.0
log = logging.getLogger("clicktrail.dashboard")
Page = tuple[str, int] | BaseResponse


class ManagePage:
    """The navigation's entry for these pages (layout.html reads ``name`` and ``title``)."""

    name = "manage"
    title = "Manage campaigns"


def campaign_store() -> CampaignStore:
    """The personalizer's store over the durable Redis, one client per app."""
    found = current_app.extensions.get(STORE_EXTENSION)
    if found is None:
        client = redis.Redis.from_url(
            state().settings.state_url.url,
            socket_timeout=STORE_TIMEOUT_S,
            socket_connect_timeout=STORE_TIMEOUT_S,
        )
        found = current_app.extensions[STORE_EXTENSION] = CampaignStore(client)
    return found


def managed(view: Callable[..., Page]) -> Callable[..., Page]:
    """The view gets the principal and the layout's values, after the checks of ``_allowed``
    (whose answer it gives instead when they fail)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Page:
        allowed = _allowed()
        if isinstance(allowed, Refusal):
            return allowed.answer
        return view(*allowed, *args, **kwargs)

    return checked


@dataclass(frozen=True)
class Refusal:
    answer: Page


def _allowed() -> tuple[Principal, dict[str, Any]] | Refusal:
    """The principal and the layout's values, or the answer for who may not manage here."""
    principal: Principal | None = g.principal
    if principal is None:
        return Refusal(redirect(url_for("dashboard.sign_in", next=request.full_path.rstrip("?"))))
    shared = state()
    sites = principal.visible(sorted(shared.sites.all()))
    filters = read_filters(request.args, sites[0] if sites else "")
    site = shared.sites.get(filters.site)
    if site is None or not principal.allows(filters.site):
        message = f"There is no site {filters.site!r} that you may see."
        return Refusal((render_template("error.html", status=404, message=message), 404))
    if not principal.may_manage(site.site_id):
        message = (
            f"A {principal.role} {principal.kind} may read the reports but not manage "
            "campaigns: that needs the marketer or admin role."
        )
        return Refusal((render_template("error.html", status=403, message=message), 403))
    context = layout_context(principal, ManagePage(), filters, sites, site, shared.clock())
    context.update(statuses=STATUSES, pacings=PACINGS, devices=DEVICE_TYPES)
    return principal, context


def _unavailable(context: dict[str, Any], exc: Exception) -> Page:
    problem = f"The campaign store (the durable Redis) is unavailable ({exc}); try again soon."
    return render_template("problem.html", **{**context, "problem": problem}), 503


@bp.get("/manage/campaigns")
@managed
def manage_campaigns(principal: Principal, context: dict[str, Any]) -> Page:
    return _list(context)


def _list(
    context: dict[str, Any], sample: dict[str, str] | None = None, status: int = 200, **more: Any
) -> Page:
    try:
        campaigns = campaign_store().load(context["site"].site_id)
    except StoreUnavailable as exc:
        return _unavailable(context, exc)
    rows = [_row(campaign) for _, campaign in sorted(campaigns.items())]
    sample = sample or {}
    return render_template(
        "manage/campaigns.html", **context, rows=rows, sample=sample, **more
    ), status


def _row(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "default": campaign.default,
        "priority": campaign.priority,
        "placements": sorted(campaign.placements),
        "creatives": len(campaign.creatives),
        "holdout_percent": campaign.holdout_percent,
        "schedule": campaign.schedule,
    }


@bp.get("/manage/campaigns/new")
@managed
def new_campaign(principal: Principal, context: dict[str, Any]) -> Page:
    blank = FormValues({"status": "active", "pacing": "even", "priority": "0"}, [])
    return _form(context, blank, "new", "")


@bp.get("/manage/campaigns/<campaign_id>/edit")
@managed
def edit_campaign(principal: Principal, context: dict[str, Any], campaign_id: str) -> Page:
    try:
        campaign = campaign_store().load(context["site"].site_id).get(campaign_id)
    except StoreUnavailable as exc:
        return _unavailable(context, exc)
    if campaign is None:
        message = f"No campaign {campaign_id!r} on {context['site'].site_id!r}."
        return render_template("error.html", status=404, message=message), 404
    return _form(context, values_of(campaign.model_dump(mode="json")), "edit", campaign_id)


def _form(
    context: dict[str, Any], values: FormValues, mode: str, original: str, problem: str = ""
) -> Page:
    return render_template(
        "manage/campaign_form.html",
        **context,
        values=values,
        mode=mode,
        original=original,
        problem=problem,
    ), (422 if problem else 200)


@bp.post("/manage/campaigns/save")
@managed
def save_campaign(principal: Principal, context: dict[str, Any]) -> Page:
    site_id = context["site"].site_id
    lists = {key: request.form.getlist(key) for key in request.form if key.startswith("creative_")}
    values = read_form(request.form, lists)
    mode = "edit" if request.form.get("mode") == "edit" else "new"
    original = request.form.get("original", "")
    store = campaign_store()
    try:
        campaign = parse_campaign(document(values, site_id))
        current = store.load(site_id)
        if mode == "new" and campaign.id in current:
            raise CampaignError(f"id: a campaign {campaign.id!r} exists already; edit it instead")
        if mode == "edit" and campaign.id != original:
            raise CampaignError(f"id: a campaign's id cannot change ({original!r})")
        plan = store.plan(site_id, [campaign])
        plan.unchanged = []
        store.apply(site_id, plan, principal.actor)
    except (FormError, CampaignError, ValueError) as exc:  # ValueError: the store's limits
        return _form(context, values, mode, original, str(exc))
    except StoreUnavailable as exc:
        return _unavailable(context, exc)
    changes = plan.lines()
    flash(f"Saved {campaign.id}: " + ("; ".join(changes) if changes else "no changes"))
    return redirect(url_for("dashboard.manage_campaigns", site=site_id))


@bp.post("/manage/campaigns/<campaign_id>/status")
@managed
def set_status(principal: Principal, context: dict[str, Any], campaign_id: str) -> Page:
    """Pause, resume (active) or archive a campaign."""
    site_id = context["site"].site_id
    wanted = request.form.get("status", "")
    if wanted not in STATUSES:
        message = f"status must be one of {', '.join(STATUSES)}, got {wanted!r}"
        return render_template("error.html", status=400, message=message), 400
    store = campaign_store()
    try:
        campaign = store.load(site_id).get(campaign_id)
        if campaign is None:
            message = f"No campaign {campaign_id!r} on {site_id!r}."
            return render_template("error.html", status=404, message=message), 404
        changed = parse_campaign({**campaign.model_dump(mode="json"), "status": wanted})
        plan = store.plan(site_id, [changed])
        store.apply(site_id, plan, principal.actor)
    except CampaignError as exc:
        return _list(context, status=422, problem=f"{campaign_id}: {exc}")
    except StoreUnavailable as exc:
        return _unavailable(context, exc)
    flash(f"{campaign_id} is {wanted} now.")
    return redirect(url_for("dashboard.manage_campaigns", site=site_id))


@bp.post("/manage/campaigns/preview")
@managed
def preview_visitor(principal: Principal, context: dict[str, Any]) -> Page:
    """Which rules a sample visitor matches and what each placement would show them."""
    site = context["site"]
    fields = ("country", "region", "device", "interests", "category", "language")
    sample = {name: request.form.get(name, "") for name in fields}
    try:
        parsed = parse_sample(sample, DEVICE_TYPES)
        campaigns = campaign_store().load(site.site_id)
    except SampleError as exc:
        return _list(context, sample, 400, problem=str(exc))
    except StoreUnavailable as exc:
        return _unavailable(context, exc)
    now = datetime.fromtimestamp(state().clock(), UTC)
    rules, decisions = preview(campaigns, sample_visitor(site.site_id, site.timezone, parsed, now))
    return _list(context, sample, rules=rules, decisions=decisions)
