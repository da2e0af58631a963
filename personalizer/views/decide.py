"""``POST /v1/decide`` (JSON) and ``GET /v1/decide`` (a query string, for simple ad tags).

``FastDecide`` answers the common request — a browser's or a page's ``POST`` that is decided
and answered ``200`` — before Flask's request machinery (context, routing, response object:
about a third of the CPU of such a request, measured); anything else goes on to the Flask
view below, which answers it as it always did."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Response, request
from werkzeug.datastructures import EnvironHeaders, ImmutableMultiDict
from werkzeug.http import parse_cookie

from clicktrail.identity import RequestFacts, request_facts
from clicktrail.serving.fastpath import FastPath, post_length
from clicktrail.serving.ratelimit import address_key
from clicktrail.sites.model import Site
from personalizer import metrics
from personalizer.decide import answer
from personalizer.request import DecideRequest, RequestError, parse_body, parse_query
from personalizer.views.common import allow_origin, bearer, error, state

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from personalizer.app import Personalizer

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
        wait = shared.token_limit.hit("token", token.token_id)
        if wait is not None:
            return _count(too_many("token", wait))
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
    if not trusted:
        wait = shared.address_limit.hit("address", address_key(facts.ip))
        if wait is not None:
            return _count(too_many("address", wait), origin)
    if trusted:
        facts = dataclasses.replace(
            facts,
            ip=wanted.ip or facts.ip,
            user_agent=wanted.user_agent or facts.user_agent,
        )
    response = Response(
        _decided(shared, wanted, site, facts), status=200, content_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"  # as json_answer's
    if origin and not trusted:  # the site allowed this origin above
        allow_origin(response, origin)
    return _count(response)


def too_many(kind: str, wait: int) -> Response:
    metrics.RATE_LIMITED.labels(kind).inc()
    response = error(429, f"too many decisions asked for by this {kind}; ask again in {wait} s")
    response.headers["Retry-After"] = str(wait)
    return response


def _count(response: Response, origin: str | None = None) -> Response:
    if origin:
        site_ok = any(s.allows_origin(origin) for s in state().sites.all().values())
        if site_ok:
            allow_origin(response, origin)
    metrics.REQUESTS.labels(PATH, str(response.status_code)).inc()
    return response


def _decided(shared: Personalizer, wanted: DecideRequest, site: Site, facts: RequestFacts) -> bytes:
    """The decision's JSON answer, timed and counted."""
    started = time.perf_counter()
    decision = shared.service.decide(wanted, site, facts)
    metrics.DECISION_SECONDS.observe(time.perf_counter() - started)
    for store in decision.degraded:
        metrics.DEGRADED.labels(store).inc()
    return orjson.dumps(answer(decision, shared.catalogs.site(site.site_id)))


class FastDecide(FastPath):
    """WSGI middleware: ``POST /v1/decide`` from a browser or page (no token, an allowed
    ``Origin`` or none, a valid body for a known site) decided and answered ``200`` here, with
    the headers the view gives. Every other request, and any decision request this path does
    not answer (a bad or oversized body, an unknown site, a token, a refused origin), goes on
    to Flask with the body it read, so its answer, status and headers are the view's."""

    blueprint = bp.name

    def length(self, environ: WSGIEnvironment) -> int | None:
        # a token's caller is trusted: the view checks its token
        limit = self.app.config["MAX_CONTENT_LENGTH"]
        return post_length(environ, PATH, limit, ("HTTP_AUTHORIZATION",))

    def answer(self, environ: WSGIEnvironment, body: bytes) -> Response | None:
        answered = self._decide(environ, body)
        if answered is None:
            return None
        origin, content = answered
        response = Response(content, status=200, content_type="application/json")
        response.headers["Cache-Control"] = "no-store"  # as the view's
        if origin:  # allowed: checked in _decide
            allow_origin(response, origin)
        response = self.after_request(response)
        metrics.REQUESTS.labels(PATH, "200").inc()
        return response

    def _decide(self, environ: WSGIEnvironment, body: bytes) -> tuple[str | None, bytes] | None:
        """The allowed origin and the answer, or None for the view to answer."""
        shared: Personalizer = self.app.extensions["personalizer"]
        try:
            wanted = parse_body(body)
        except RequestError:
            return None
        site = shared.sites.get(wanted.site_id)
        origin = environ.get("HTTP_ORIGIN")
        if site is None or (origin is not None and not site.allows_origin(origin)):
            return None
        if wanted.ip or wanted.user_agent or wanted.user_id:
            return None
        headers = EnvironHeaders(environ)
        cookies: Any = parse_cookie(";".join(headers.getlist("Cookie")), cls=ImmutableMultiDict)
        facts = request_facts(
            site,
            peer=environ.get("REMOTE_ADDR") or "",
            headers=headers,
            cookies=cookies,
            trusted_proxies=shared.settings.trusted_proxies,
            linker=wanted.linker,
            server_side=False,
        )
        if shared.address_limit.hit("address", address_key(facts.ip)) is not None:
            return None  # the view answers the 429 (a refused request counts for nothing)
        return origin, _decided(shared, wanted, site, facts)
