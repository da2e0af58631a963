"""The tracking endpoints: ``POST /v1/events``, ``GET /v1/pixel.gif`` and ``/v1/withdraw``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import EnvironHeaders, ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_cookie

from clicktrail.contract.envelope import (
    MAX_BODY_BYTES,
    Batch,
    EnvelopeError,
    Rejection,
    parse_batch,
    parse_event,
)
from clicktrail.contract.pixel import ENVELOPE_KEY, LINKER_KEY, event_from_query
from clicktrail.contract.protocol import (
    COLLECT_PATH,
    COLLECTOR_COOKIE,
    PIXEL_PATH,
    WITHDRAW_PATH,
    WRITE_KEY_HEADER,
)
from clicktrail.identity import build_records, request_facts
from clicktrail.identity.client_ip import client_ip
from clicktrail.identity.request import Lookup
from clicktrail.serving.answers import header_text
from clicktrail.serving.fastpath import FastPath, post_length
from clicktrail.serving.ratelimit import RateLimiter, address_key
from clicktrail.sites.model import Site
from pipelines.eventlog import LogUnavailable
from tracker import metrics
from tracker.collector import Collector

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

bp = Blueprint("collect", __name__)

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetime at 400 days
CORS_MAX_AGE = "86400"
WRITE_KEY_ENVIRON = "HTTP_" + WRITE_KEY_HEADER.upper().replace("-", "_")


class Refused(Exception):
    """The request as a whole is refused with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class TooMany(Refused):
    """Over a rate limit: ``429``, sent again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, message)
        self.retry_after = retry_after


def _check_address_limit() -> None:
    """Browsers are limited by their address, before their body is read; a sender with a
    write key by its site, once the key is checked (a server sends for many visitors)."""
    if WRITE_KEY_HEADER in request.headers:
        return
    limiter = _collector().address_limit
    if limiter.enabled:
        address = client_ip(
            request.remote_addr or "",
            request.headers.get("X-Forwarded-For"),
            _collector().settings.trusted_proxies,
        )
        _check_limit(limiter, "address", address_key(address))


def _check_limit(limiter: RateLimiter, kind: str, key: str) -> None:
    wait = limiter.hit(kind, key)
    if wait is not None:
        metrics.RATE_LIMITED.labels(kind).inc()
        raise TooMany(f"too many requests from this {kind}; send again in {wait} s", wait)


def _collector() -> Collector:
    return current_app.extensions["clicktrail"]


@bp.route(COLLECT_PATH, methods=["OPTIONS"])
def preflight() -> Response:
    """CORS preflight (``application/json`` bodies). The site is in the body, which a preflight
    does not carry, so any origin some site allows may go on; the POST checks the site's own."""
    origin = request.headers.get("Origin", "")
    if not any(site.allows_origin(origin) for site in _collector().registry.all().values()):
        return _count(COLLECT_PATH, _error(403, f"origin {origin!r} is not allowed"))
    response = Response(status=204)
    _allow_origin(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = f"Content-Type, {WRITE_KEY_HEADER}"
    response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return _count(COLLECT_PATH, response)


@bp.post(COLLECT_PATH)
def collect() -> Response:
    origin = request.headers.get("Origin")
    try:
        _check_address_limit()
        batch = parse_batch(_body())
        site, server_side = _authorize(batch.site_id, origin)
        if server_side:
            _check_limit(_collector().server_limit, "site", batch.site_id)
    except (EnvelopeError, Refused) as exc:
        # A browser reads the reason too (and gives up on the batch): refusals carry CORS
        # headers like any answer. They reveal nothing the request did not say.
        response = _error(exc.status, str(exc))
        if isinstance(exc, TooMany):
            response.headers["Retry-After"] = str(exc.retry_after)
        if origin:
            _allow_origin(response, origin)
        return _count(COLLECT_PATH, response)
    response = _accept(batch, site, server_side)
    if origin and not server_side:
        _allow_origin(response, origin)
    return _count(COLLECT_PATH, response)


@bp.get(PIXEL_PATH)
def pixel() -> Response:
    """One event in the query string, or a whole batch envelope in ``j`` (what the snippet
    sends where it cannot POST). Answered with a 1x1 GIF, so a page never shows a broken image,
    the outcome in the status and ``X-Clicktrail-Error``; except ``503`` (send again), which has
    no image: an image's ``error`` then tells a script to retry, its ``load`` that the answer is
    final (accepted, or refused for good)."""
    try:
        _check_address_limit()
        batch, site, linker = _pixel_batch()
    except TooMany as exc:  # no image, like a 503: the snippet's image fails and sends again
        response = _error(429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return _count(PIXEL_PATH, response)
    except (EnvelopeError, Refused) as exc:
        return _count(PIXEL_PATH, _gif(exc.status, str(exc)))
    except ValueError as exc:
        return _count(PIXEL_PATH, _gif(400, str(exc)))
    response = _accept(batch, site, server_side=False, linker=linker)
    if response.status_code == 503:
        return _count(PIXEL_PATH, _without_image(response))
    if response.status_code != 202:
        return _count(PIXEL_PATH, _gif(response.status_code, "not accepted", response))
    return _count(PIXEL_PATH, _gif(200, None, response))


def _pixel_batch() -> tuple[Batch, Site, str | None]:
    """The pixel's batch, its site and cross-domain identifier; raises ``EnvelopeError``,
    ``Refused`` or ``ValueError`` (an invalid event)."""
    if ENVELOPE_KEY in request.args:
        batch = parse_batch(request.args[ENVELOPE_KEY].encode())
        return batch, _known_site(batch.site_id), batch.linker
    site_id, sent_at, raw = event_from_query(request.args.to_dict())
    site = _known_site(site_id)
    event = parse_event(raw, site_id)
    batch = Batch(site_id=site_id, schema=1, sent_at=sent_at, events=[(0, event)])
    return batch, site, request.args.get(LINKER_KEY)


def _known_site(site_id: str) -> Site:
    site = _collector().registry.get(site_id)
    if site is None:
        raise Refused(403, f"unknown site {site_id!r}")
    return site


@bp.route(WITHDRAW_PATH, methods=["GET", "POST"])
def withdraw() -> Response:
    """A visitor withdrew consent (the snippet asks at once, ``?s=<site>`` for the record):
    the collector's cookie is expired in this browser. Needs no site or origin check: it only
    ever forgets, and only this browser's cookie."""
    response = Response(status=204, headers={"Cache-Control": "no-store"})
    _expire_visitor_cookie(response)
    return _count(WITHDRAW_PATH, response)


def _body() -> bytes:
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise EnvelopeError(f"body is larger than {MAX_BODY_BYTES} bytes", 413) from None


def _authorize(site_id: str, origin: str | None) -> tuple[Site, bool]:
    """The site, and whether the sender is server-side; raises ``Refused``."""
    site = _known_site(site_id)
    key = request.headers.get(WRITE_KEY_HEADER)
    if key is not None:
        if not site.accepts_write_key(key):
            raise Refused(403, f"wrong write key for site {site_id!r}")
        return site, True
    if origin is None:
        raise Refused(403, f"a request without Origin needs the site's {WRITE_KEY_HEADER}")
    if not site.allows_origin(origin):
        raise Refused(403, f"origin {origin!r} is not allowed for site {site_id!r}")
    return site, False


def _accept(batch: Batch, site: Site, server_side: bool, linker: str | None = None) -> Response:
    """Identify, write to the event log, wait for its acknowledgement, answer."""
    return accept(_collector(), batch, site, _sender(server_side), linker)


def _sender(server_side: bool) -> Sender:
    return Sender(
        peer=request.remote_addr or "",
        headers=request.headers,
        cookies=request.cookies,
        secure=request.is_secure,
        server_side=server_side,
    )


@dataclass(frozen=True)
class Sender:
    """What the answer to a batch needs of its request, whoever read it (the view, or
    ``FastCollect`` from the WSGI environ)."""

    peer: str
    headers: Lookup
    cookies: Lookup
    secure: bool
    server_side: bool


def accept(
    collector: Collector, batch: Batch, site: Site, sender: Sender, linker: str | None = None
) -> Response:
    """Identify, write to the event log, wait for its acknowledgement, answer (without CORS)."""
    rejected = list(batch.rejected)
    for rejection in rejected:
        metrics.EVENTS_REJECTED.labels(metrics.rejection_label(rejection.reason)).inc()
    if not batch.events:
        body = {"accepted": 0, "rejected": _rejections(rejected), "error": "no valid event"}
        return _json(400, body)

    facts = request_facts(
        site,
        peer=sender.peer,
        headers=sender.headers,
        cookies=sender.cookies,
        trusted_proxies=collector.settings.trusted_proxies,
        linker=linker if linker is not None else batch.linker,
        server_side=sender.server_side,
    )
    try:
        intake = build_records(
            site.site_id,
            [event for _, event in batch.events],
            facts,
            sent_at=batch.sent_at,
            received_at=collector.now_ms(),
            salt=collector.current_salt,
            new_id=collector.new_visitor_id,
        )
        with metrics.LOG_ACK_SECONDS.time():
            collector.event_log.append(intake.records, collector.ack_timeout)
    except LogUnavailable as exc:
        metrics.LOG_FAILURES.inc()
        collector.log.warning("event log did not acknowledge: %s", exc)
        response = _error(503, "the event log did not acknowledge in time; send again")
        response.headers["Retry-After"] = "1"
        return response
    metrics.EVENTS_ACCEPTED.inc(len(batch.events))
    body = {"accepted": len(batch.events), "rejected": _rejections(rejected)}
    # A valid cross-domain identifier (``_ct``) gave these events its visitor id: the answer
    # names it, and the snippet adopts it (the browser does not check ``_ct`` itself).
    linked = next((r.visitor_id for r in intake.records if r.id_source == "url"), None)
    if linked:
        body["linked"] = linked
    response = _json(202, body)
    if intake.cookie_visitor_id:
        _set_visitor_cookie(response, sender, intake.cookie_visitor_id)
    elif not sender.server_side and sender.cookies.get(COLLECTOR_COOKIE) is not None:
        # Every event refused cookies (consent denied, a privacy signal, no consent yet): the
        # id in our cookie was not used, and is not kept either (a lost withdrawal heals here).
        _expire_visitor_cookie(response, sender)
    return response


def _set_visitor_cookie(
    response: Response, sender: Sender, visitor_id: str, max_age: int = COOKIE_MAX_AGE
) -> None:
    """Long-lived and HttpOnly. ``SameSite=None; Secure`` only where it must be: a cross-site
    request over https (the collector on another site's domain); otherwise ``Lax``."""
    cross_site = sender.headers.get("Sec-Fetch-Site") == "cross-site"
    response.set_cookie(
        COLLECTOR_COOKIE,
        visitor_id,
        max_age=max_age,
        path="/",
        secure=sender.secure,
        httponly=True,
        samesite="None" if cross_site and sender.secure else "Lax",
    )


def _expire_visitor_cookie(response: Response, sender: Sender | None = None) -> None:
    """The same cookie, empty and expired, so the browser deletes it (by default for the
    request being answered)."""
    _set_visitor_cookie(response, sender or _sender(server_side=False), "", max_age=0)


def _allow_origin(response: Response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.vary.add("Origin")


def _rejections(rejected: list[Rejection]) -> list[dict]:
    return [rejection.as_json() for rejection in rejected]


def _json(status: int, body: dict) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(
        text, status=status, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


def _error(status: int, message: str) -> Response:
    return _json(status, {"error": message})


def _gif(status: int, error: str | None, source: Response | None = None) -> Response:
    response = Response(GIF, status=status, content_type="image/gif")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    if error:
        response.headers["X-Clicktrail-Error"] = header_text(error)
    if source is not None:
        for name, value in source.headers.items():
            if name in ("Set-Cookie", "Retry-After"):
                response.headers.add(name, value)
    return response


def _without_image(source: Response) -> Response:
    response = Response(b"", status=source.status_code, content_type="image/gif")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Retry-After"] = source.headers.get("Retry-After", "1")
    response.headers["X-Clicktrail-Error"] = "not accepted: send again"
    return response


def _count(endpoint: str, response: Response) -> Response:
    metrics.REQUESTS.labels(endpoint, str(response.status_code)).inc()
    return response


def body_length(environ: WSGIEnvironment, limit: int | None) -> int | None:
    """The length of the body ``FastCollect`` may read and answer: a browser's ``POST`` of
    ``COLLECT_PATH`` with an ``Origin``, no write key, a ``Content-Length`` within ``limit``
    and no ``Transfer-Encoding``; None for a request only the view answers."""
    if not environ.get("HTTP_ORIGIN"):  # refused, unless a write key: the view's
        return None
    return post_length(environ, COLLECT_PATH, limit, (WRITE_KEY_ENVIRON,))


class FastCollect(FastPath):
    """WSGI middleware: a browser's ``POST /v1/events`` (no write key, an allowed ``Origin``,
    a body that parses with at least one valid event, for a known site, an address under its
    limit) is written to the event log and answered here, by the view's own ``accept`` and
    with the headers the view gives, without Flask's request context, routing and request
    object. Every other request, and any batch this path does not answer (a broken, short,
    chunked or oversized body, no valid event, an unknown site, a refused or missing origin, a
    write key, an address over its limit), goes on to Flask with the body it read, so its
    answer, status, headers and counts are the view's. Nothing this path does before it
    answers changes any state (the limiter counts last), so a request handed on is counted
    once, by the view."""

    blueprint = bp.name

    def length(self, environ: WSGIEnvironment) -> int | None:
        return body_length(environ, self.app.config["MAX_CONTENT_LENGTH"])

    def answer(self, environ: WSGIEnvironment, body: bytes) -> Response | None:
        """The view's answer to an accepted batch, or None for the view to answer."""
        collector: Collector = self.app.extensions["clicktrail"]
        try:
            batch = parse_batch(body)
        except EnvelopeError:
            return None
        site = collector.registry.get(batch.site_id)
        origin: str = environ["HTTP_ORIGIN"]
        if site is None or not site.allows_origin(origin) or not batch.events:
            return None
        headers = EnvironHeaders(environ)
        sender = Sender(
            peer=environ.get("REMOTE_ADDR") or "",
            headers=headers,
            # as request.cookies reads them (its getlist("Cookie") holds this one value)
            cookies=parse_cookie(environ.get("HTTP_COOKIE"), cls=ImmutableMultiDict),
            secure=environ.get("wsgi.url_scheme") in ("https", "wss"),  # as request.is_secure
            server_side=False,
        )
        limiter = collector.address_limit
        if limiter.enabled:
            address = client_ip(
                sender.peer, headers.get("X-Forwarded-For"), collector.settings.trusted_proxies
            )
            if limiter.hit("address", address_key(address)) is not None:
                return None  # the view answers the 429 (a refused hit counts for nothing)
        response = accept(collector, batch, site, sender)
        _allow_origin(response, origin)
        return _count(COLLECT_PATH, self.after_request(response))
