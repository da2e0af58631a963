"""The dashboard's routes: sign-in and sign-out, and one route for every page of ``PAGES``
(``/dashboard/<page>?site=...&since=...``), rendered on the server from the reports."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from clicktrail.accounts.registry import AccountRegistry
from clicktrail.identity.client_ip import Network, client_ip
from clicktrail.serving.redirects import own_path
from clicktrail.sites.model import Site
from pipelines.enrich.device import DEVICE_TYPES
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.rfm_scores import SEGMENTS
from pipelines.warehouse.rollups import local_today
from pipelines.warehouse.segments import segment_day, segment_members
from reports.dashboard import figures
from reports.dashboard.filters import PERIODS, Filters, read_filters
from reports.dashboard.memo import PageReads
from reports.dashboard.pages import PAGES
from reports.dashboard.principal import Principal, from_session, sign_in_account, sign_in_token
from reports.dashboard.runner import ReportRunner
from reports.dashboard.security import SignInLimit, add_headers, came_over_tls
from reports.query import ReportError, parse_date
from reports.segments import OffersUnavailable, export_csv, member_offers
from reports.source import RollupSource
from reports.views.common import state
from reports.views.segments import offer_source

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)
csrf = CSRFProtect()
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
log = logging.getLogger("clicktrail.dashboard")
EXPORT_OFFERS = 6  # the personalizer's top offers per customer in a segment export (the API's)


@dataclass
class Dashboard:
    """What the dashboard's handlers share, beside the reports' ``Reports``."""

    accounts: AccountRegistry
    signin_limit: SignInLimit
    trusted_proxies: tuple[Network, ...]
    collector_url: str


def dashboard() -> Dashboard:
    return current_app.extensions["dashboard"]


@bp.before_request
def load_principal() -> None:
    if request.method not in SAFE_METHODS:
        csrf.protect()  # every form of the dashboard carries the token; refused without it
    g.principal = from_session(session.get("who"), dashboard().accounts, state().tokens)


@bp.after_request
def headers(response: Response) -> Response:
    return add_headers(response, came_over_tls(request, dashboard().trusted_proxies))


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError) -> tuple[str, int]:
    message = f"The form could not be accepted ({exc.description}). Reload the page and try again."
    return render_template("error.html", status=400, message=message), 400


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    return render_template("error.html", status=status, message=exc.description), status


@bp.get("/")
def home() -> BaseResponse:
    return redirect(url_for("dashboard.page", name="overview"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> BaseResponse | tuple[str, int]:
    target = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        return render_template("sign_in.html", next=target, message=""), 200
    shared = dashboard()
    address = client_ip(
        request.remote_addr or "", request.headers.get("X-Forwarded-For"), shared.trusted_proxies
    )
    try:
        allowed = shared.signin_limit.attempt(address)
    except Exception as exc:  # the limits library wraps no error of its storage's
        log.error("sign-in limit unavailable: %s", exc)
        message = "Sign-in is unavailable for a moment (its rate limit cannot be counted)."
        return render_template("sign_in.html", next=target, message=message), 503
    if not allowed:
        wait = shared.signin_limit.retry_after(address)
        message = f"Too many sign-in attempts from your address: try again in {wait} s."
        body = render_template("sign_in.html", next=target, message=message)
        return Response(body, 429, {"Retry-After": str(wait)})
    principal = _authenticate()
    if isinstance(principal, str):
        return render_template("sign_in.html", next=target, message=principal), 401
    session.clear()
    session.permanent = True
    session["who"] = principal.to_session()
    return redirect(target)


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    session.clear()
    return redirect(url_for("dashboard.sign_in"))


@bp.get("/<name>")
def page(name: str) -> BaseResponse | tuple[str, int]:
    chosen = PAGES.get(name)
    if chosen is None:
        return render_template("error.html", status=404, message=f"No page {name!r}."), 404
    principal: Principal | None = g.principal
    if principal is None:
        return redirect(url_for("dashboard.sign_in", next=request.full_path.rstrip("?")))
    shared = state()
    sites = principal.visible(sorted(shared.sites.all()))
    if not sites:
        message = "No site is registered that you may see (clicktrail sites add ...)."
        return render_template("error.html", status=403, message=message), 403
    filters = read_filters(request.args, sites[0])
    site = shared.sites.get(filters.site)
    if site is None or not principal.allows(filters.site):
        message = f"There is no site {filters.site!r} that you may see."
        return render_template("error.html", status=403 if site else 404, message=message), (
            403 if site else 404
        )
    now = shared.clock()
    runner = ReportRunner(
        RollupSource(PageReads(shared.source.store)),  # what two reports ask, asked once
        site.site_id,
        site.timezone,
        local_today(site.timezone, now),
        filters.params(),
        {key: request.args[key] for key in chosen.options if request.args.get(key)},
        at_once=shared.settings.warehouse_connections,  # the store's connections
    )
    context = layout_context(principal, chosen, filters, sites, site, now)
    context["ignored"] = runner.ignored
    try:
        context.update(chosen.build(runner))
    except ReportError as exc:
        return render_template("problem.html", **{**context, "problem": str(exc)}), 400
    except WarehouseUnavailable as exc:
        problem = f"The warehouse is unavailable ({exc}); try again in a few seconds."
        return render_template("problem.html", **{**context, "problem": problem}), 503
    except WarehouseError as exc:
        log.error("dashboard page %s failed: %s", name, exc)
        problem = (
            "The figures could not be computed in time (the warehouse refused the query or it "
            "ran past the server's limit, CLICKTRAIL_WAREHOUSE_READ_TIMEOUT_MS). Try a shorter "
            "period."
        )
        return render_template("problem.html", **{**context, "problem": problem}), 503
    if context.get("empty"):
        return render_template("empty.html", **context), 200
    return render_template(chosen.template, **context), 200


@bp.get("/export/rfm")
def segment_export() -> BaseResponse | tuple[str, int]:
    """A segment's customers as CSV (the reports API's ``/v1/reports/rfm/export``, for the
    signed-in principal instead of a token): the same functions, the same file."""
    principal: Principal | None = g.principal
    if principal is None:
        return redirect(url_for("dashboard.sign_in", next=request.full_path.rstrip("?")))
    shared = state()
    site_id = request.args.get("site", "")
    site = shared.sites.get(site_id)
    if site is None or not principal.allows(site_id):
        return render_template("error.html", status=404, message=f"No site {site_id!r}."), 404
    name = request.args.get("segment", "")
    if name not in SEGMENTS:
        message = f"segment must be one of {', '.join(SEGMENTS)}, got {name!r}"
        return render_template("error.html", status=400, message=message), 400
    try:
        until = request.args.get("until", "")
        day = parse_date("until", until) if until else local_today(site.timezone, shared.clock())
        built = segment_day(shared.source.store, site_id, day)
        members = segment_members(shared.source.store, site_id, built, name) if built else []
        offers = member_offers(offer_source(), site_id, members, EXPORT_OFFERS)
    except ReportError as exc:
        return render_template("error.html", status=400, message=str(exc)), 400
    except (WarehouseError, OffersUnavailable) as exc:
        log.error("segment export failed: %s", exc)
        message = f"The export could not be made now ({exc}); try again in a minute."
        return render_template("error.html", status=503, message=message), 503
    return Response(
        export_csv(members, offers),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{site_id}-{built}.csv"',
            "X-Segment-As-Of": str(built or ""),
            "Cache-Control": "no-store",
        },
    )


def layout_context(
    principal: Principal, page: Any, filters: Filters, sites: list[str], site: Site, now: float
) -> dict[str, Any]:
    """What layout.html needs: the navigation, the filters, the site and its time."""
    return {
        "page": page,
        "pages": PAGES,
        "filters": filters,
        "sites": sites,
        "site": site,
        "periods": PERIODS,
        "devices": DEVICE_TYPES,
        "segments": SEGMENTS,
        "ignored": {},
        "principal": principal,
        "may_manage": principal.may_manage(site.site_id),
        "as_of": datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(site.timezone)),
        "collector_url": dashboard().collector_url,
    }


def _authenticate() -> Principal | str:
    """The principal the form names, or why not (the page's message)."""
    shared = state()
    if request.form.get("method") == "token":
        principal = sign_in_token(shared.tokens, request.form.get("token", ""))
        if principal is None:
            return "That API token is not valid (revoked, or mistyped)."
        if principal.role not in ("admin", "marketer", "read"):
            return f"A {principal.role} token may not read reports."
        return principal
    principal = sign_in_account(
        dashboard().accounts, request.form.get("username", ""), request.form.get("password", "")
    )
    return principal or "The username or the password is wrong."


def _safe_next(target: str) -> str:
    """Only a dashboard page of this server (no open redirect)."""
    if own_path(target, "/dashboard/"):
        return target
    return url_for("dashboard.page", name="overview")


for _filter in (figures.whole, figures.percent, figures.ratio, figures.duration, figures.change):
    bp.add_app_template_filter(_filter)
