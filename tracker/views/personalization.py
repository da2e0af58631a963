"""The personalizer's browser paths under the collector's origin: ``/v1/decide``,
``/v1/pz/i`` (impressions) and ``/v1/pz/c`` (clicks), relayed to the personalizer as they came
(docs/personalizer.md, "Deploying behind one origin"). So the collector's own cookie
(``ct_vid``: HttpOnly, on the collector's host) reaches the decision, and a page needs one
origin for tracking and personalization. The personalizer answers, CORS included (each site's
registered origins, with credentials); the collector only relays, and answers ``503`` itself
when the personalizer cannot be reached."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from clicktrail.identity.client_ip import client_ip
from clicktrail.serving.relay import Upstream, UpstreamUnavailable, forwarded_headers
from tracker import metrics
from tracker.collector import Collector

bp = Blueprint("personalization", __name__)

PATHS = ("/v1/decide", "/v1/pz/i", "/v1/pz/c")
EXTENSION = "clicktrail.personalizer"  # app.extensions: the Upstream of the personalizer
RETRY_AFTER_SECONDS = "5"


def relay() -> Response:
    collector: Collector = current_app.extensions["clicktrail"]
    upstream: Upstream = current_app.extensions[EXTENSION]
    path = request.path
    headers = forwarded_headers(
        request.headers.items(),
        client_ip(
            request.remote_addr or "",
            request.headers.get("X-Forwarded-For"),
            collector.settings.trusted_proxies,
        ),
        request.scheme,
        request.host,
    )
    query = request.query_string.decode("latin-1")
    target = f"{path}?{query}" if query else path
    try:
        relayed = upstream.relay(request.method, target, headers, request.get_data(cache=False))
    except UpstreamUnavailable as exc:
        collector.log.warning("the personalizer is not reachable: %s", exc)
        return _count(path, _unavailable(collector))
    response = Response(relayed.body, status=relayed.status)
    response.headers.clear()
    for name, value in relayed.headers:
        response.headers.add(name, value)
    return _count(path, response)


for _path in PATHS:
    bp.add_url_rule(
        _path,
        endpoint=_path.rsplit("/", 1)[1],
        view_func=relay,
        methods=["GET", "POST", "OPTIONS"] if _path == "/v1/decide" else ["GET"],
        provide_automatic_options=False,
    )


def _unavailable(collector: Collector) -> Response:
    response = Response(
        '{"error":"the personalizer is not reachable; try again"}',
        status=503,
        content_type="application/json",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    origin = request.headers.get("Origin")
    # The page reads why, as with the collector's own refusals (only origins a site allows).
    if origin and any(site.allows_origin(origin) for site in collector.registry.all().values()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.vary.add("Origin")
    return response


def _count(path: str, response: Response) -> Response:
    metrics.REQUESTS.labels(path, str(response.status_code)).inc()
    return response
