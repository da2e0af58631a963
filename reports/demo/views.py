"""The demo shop's pages under ``/demo`` (home, category, product), the "browse from" picker,
and the front that relays ``/demo/ct/v1/...`` to the collector (docs/demo.md)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from clicktrail.services.demo import SITE_ID
from clicktrail.serving.redirects import own_path
from clicktrail.serving.relay import Upstream, UpstreamUnavailable
from reports.demo import places
from reports.demo.front import relayed_headers
from reports.demo.shop import Shop, category_path, product_path

bp = Blueprint(
    "demo",
    __name__,
    url_prefix="/demo",
    template_folder="templates",
    static_folder="static",
)
FRONT_PATH = "/demo/ct"  # the pages' collector: this front


@dataclass
class Demo:
    """What the demo's handlers share."""

    shop: Shop
    front: Upstream  # to the collector, from CLICKTRAIL_DEMO_FRONT_ADDRESS
    signed_origins: tuple[str, ...]  # where impression and click URLs point (the collector)


def _demo() -> Demo:
    return current_app.extensions["demo"]


def _chosen() -> places.Place | None:
    """The place of ``?from=`` on a page (a link to share), else the picker's cookie."""
    if "from" in request.args:
        return places.place(request.args["from"])
    return places.place(request.cookies.get(places.COOKIE))


@bp.before_request
def _from_argument() -> None:
    """``?from=DE`` on any page chooses the place before the page's first event (the reports
    place a session by its first event); ``?from=`` chooses none."""
    if "from" not in request.args or request.path.startswith(FRONT_PATH):
        return
    code = request.args["from"]
    chosen = places.place(code)
    if code and chosen is None:
        abort(400, description=f"from must be one of {', '.join(p.code for p in places.PLACES)}")

    @after_this_request
    def remember(response: WerkzeugResponse) -> WerkzeugResponse:
        _remember(response, chosen)
        return response


def _remember(response: WerkzeugResponse, chosen: places.Place | None) -> None:
    if chosen is None:
        response.delete_cookie(places.COOKIE, path="/demo")
    else:
        response.set_cookie(places.COOKIE, chosen.code, path="/demo", samesite="Lax")


def _here() -> str:
    """This page's address without ``from`` (where the picker comes back to)."""
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "from"])
    return request.path + (f"?{query}" if query else "")


def _nonce() -> str:
    """This answer's script nonce: the embed code runs inline, nothing else inline does."""
    if "demo_nonce" not in g:
        g.demo_nonce = secrets.token_urlsafe(16)
    return str(g.demo_nonce)


def _page(template: str, **context: object) -> str:
    return render_template(
        template,
        nonce=_nonce(),
        here=_here(),
        shop=_demo().shop,
        site_id=SITE_ID,
        collector=request.host_url.rstrip("/") + FRONT_PATH,
        places=places.PLACES,
        chosen=_chosen(),
        category_path=category_path,
        product_path=product_path,
        **context,
    )


@bp.get("/")
def home() -> str:
    return _page("demo/home.html")


@bp.get("/c/<slug>")
def category(slug: str) -> str:
    shop = _demo().shop
    found = shop.category(slug)
    if found is None:
        abort(404, description=f"no category {slug!r}")
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= shop.pages(found):
        abort(400, description=f"page must be 1 to {shop.pages(found)}, got {raw!r}")
    number = int(raw)
    return _page(
        "demo/category.html",
        category=found,
        products=shop.shelf(found, number),
        page=number,
        pages=shop.pages(found),
    )


@bp.get("/p/<slug>")
def product(slug: str) -> str:
    shop = _demo().shop
    found = shop.product(slug)
    if found is None:
        abort(404, description=f"no product {slug!r}")
    return _page("demo/product.html", product=found, category=shop.category_of(found))


@bp.post("/from")
def browse_from() -> WerkzeugResponse:
    """The picker: remember the chosen place (or none) and go back to the page."""
    code = request.form.get("place", "")
    chosen = places.place(code)
    if code and chosen is None:
        abort(400, description=f"place must be one of {', '.join(p.code for p in places.PLACES)}")
    back = request.form.get("next", "/demo/")
    if not own_path(back, "/demo"):
        back = "/demo/"  # only the shop's own pages: no open redirect
    response = redirect(back, code=303)
    _remember(response, chosen)
    return response


@bp.route("/ct/v1/<path:rest>", methods=["GET", "POST", "OPTIONS"])
def front(rest: str) -> Response:
    """Relay to the collector, stating the chosen place's address (else the peer's own)."""
    chosen = _chosen()
    address = chosen.address if chosen else (request.remote_addr or "127.0.0.1")
    path = f"/v1/{rest}"
    if request.query_string:
        path += "?" + request.query_string.decode("latin-1")
    headers = relayed_headers(request.headers.items(), address, request.scheme)
    try:
        relayed = _demo().front.relay(request.method, path, headers, request.get_data())
    except UpstreamUnavailable as exc:
        current_app.logger.warning("demo front: the collector did not answer: %s", exc)
        answer = jsonify(error="the collector cannot be reached; try again shortly")
        answer.status_code = 503
        answer.headers["Retry-After"] = "5"
        return answer
    response = Response(relayed.body, status=relayed.status)
    response.headers.clear()
    for name, value in relayed.headers:
        response.headers.add(name, value)
    return response


@bp.after_request
def _policy(response: WerkzeugResponse) -> WerkzeugResponse:
    """The shop's pages: scripts from this origin and the nonced embed code only, images also
    from where the impression URLs point (the collector), no framing."""
    if response.mimetype == "text/html":
        images = " ".join(dict.fromkeys(["'self'", "data:", *_demo().signed_origins]))
        response.headers["Content-Security-Policy"] = "; ".join(
            (
                "default-src 'none'",
                f"script-src 'self' 'nonce-{_nonce()}'",
                "style-src 'self'",
                f"img-src {images}",
                "connect-src 'self'",
                "base-uri 'none'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            )
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


@bp.errorhandler(400)
@bp.errorhandler(404)
def refused(exc: HTTPException) -> tuple[str, int]:
    return _page("demo/refused.html", message=exc.description), exc.code or 400
