"""``POST /v1/decide`` (JSON) and ``GET /v1/decide`` (a query string, for simple ad tags)."""

from __future__ import annotations

import dataclasses
import time

import orjson
from flask import Blueprint, Response, request

from clicktrail.identity import request_facts
from personalizer import metrics
from personalizer.decide import answer
from personalizer.request import RequestError, parse_body, parse_query
from personalizer.views.common import allow_origin, bearer, error, state

bp = Blueprint("decide", __name__)
PATH = "/v1/decide"


@bp.route(PATH, methods=["OPTIONS"])
def preflight() -> Response:
    origin = request.headers.get("Origin", "")
    if not any(site.allows_origin(origin) for site in state().sites.all().values()):
        return _count(error(403, f"origin {origin!r} is not allowed"))
    response = Response(status=204)
    allow_origin(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
    response.headers["Access-Control-Max-Age"] = "86400"
    return _count(response)


@bp.route(PATH, methods=["GET", "POST"])
def decide() -> Response:
    shared = state()
    origin = request.headers.get("Origin")
    try:
        wanted = (
            parse_body(request.get_data(cache=False))
            if request.method == "POST"
            else parse_query(request.args.to_dict())
        )
    except RequestError as exc:
        return _count(error(400, str(exc)), origin)
    site = shared.sites.get(wanted.site_id)
    if site is None:
        return _count(error(403, f"unknown site {wanted.site_id!r}"), origin)
    trusted = False
    if bearer() is not None:
        token = shared.tokens.authenticate(bearer())
        if token is None or not token.allows("decide_trusted", site.site_id):
            return _count(error(403, "the token may not ask for trusted decisions here"), origin)
        trusted = True
    elif origin is not None and not site.allows_origin(origin):
        return _count(error(403, f"origin {origin!r} is not allowed for {site.site_id!r}"))
    if not trusted and (wanted.ip or wanted.user_agent or wanted.user_id):
        return _count(
            error(403, "ip, user_agent and user_id may be stated only with an adserver token"),
            origin,
        )
    facts = request_facts(
        site,
        peer=request.remote_addr or "",
        headers=request.headers,
        cookies=request.cookies,
        trusted_proxies=shared.settings.trusted_proxies,
        linker=wanted.linker,
        server_side=trusted,
    )
    if trusted:
        facts = dataclasses.replace(
            facts,
            ip=wanted.ip or facts.ip,
            user_agent=wanted.user_agent or facts.user_agent,
        )
    started = time.perf_counter()
    decision = shared.service.decide(wanted, site, facts)
    metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
    for store in decision.degraded:
        metrics.DEGRADED.labels(store).inc()
    response = Response(
        orjson.dumps(answer(decision, shared.catalogs.site(site.site_id))),
        status=200,
        content_type="application/json",
    )
    response.headers["Cache-Control"] = "no-store"  # as json_answer's
    if origin and not trusted:  # the site allowed this origin above
        allow_origin(response, origin)
    return _count(response)


def _count(response: Response, origin: str | None = None) -> Response:
    if origin:
        site_ok = any(s.allows_origin(origin) for s in state().sites.all().values())
        if site_ok:
            allow_origin(response, origin)
    metrics.REQUESTS.labels(PATH, str(response.status_code)).inc()
    return response
