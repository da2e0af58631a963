"""The collector's privacy routes (docs/privacy.md):

- ``POST /v1/privacy/forget``: erase a person; an admin token of the site; JSON body
  ``{"site_id": ..., "visitor_id": ...}`` or ``{"site_id": ..., "user_id": ...}``; answers the
  receipt;
- ``GET /v1/privacy/export?site_id=...&visitor_id=...`` (or ``user_id``): everything held
  about the person, as JSON; an admin token of the site;
- ``POST /v1/privacy/forget-me?s=<site>``: self-service from the browser, for the visitor id in
  the request's own ``ct_vid`` cookie only (a body naming another visitor id is refused), and
  that visitor id's data alone: no linked device, cross-domain id or user id is erased with it;
  from an origin the site allows, at most ``CLICKTRAIL_PRIVACY_FORGET_ME_PER_HOUR`` per client
  address; the cookie is expired in the answer.

An erasure runs while the request waits (seconds: the deletes are waited for, so the receipt
is true when it is sent).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, request

from clicktrail.contract.protocol import COLLECTOR_COOKIE
from clicktrail.identity import client_ip
from clicktrail.identity.request import valid_visitor_id
from clicktrail.privacy.person import Subject, SubjectError
from clicktrail.serving.answers import error, json_answer
from clicktrail.settings import Settings
from clicktrail.sites.registry import SiteRegistry
from clicktrail.tokens.model import ALL_SITES
from clicktrail.tokens.registry import TokenRegistry
from pipelines.privacy.erase import Eraser
from pipelines.privacy.export import export_person
from pipelines.privacy.factory import open_stores
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from tracker.views.collect import _allow_origin, _expire_visitor_cookie

bp = Blueprint("privacy", __name__)

FORGET_PATH = "/v1/privacy/forget"
FORGET_ME_PATH = "/v1/privacy/forget-me"
EXPORT_PATH = "/v1/privacy/export"
EXTENSION = "clicktrail.privacy"
_UNAVAILABLE = (WarehouseUnavailable, redis.ConnectionError, redis.TimeoutError, OSError)


@dataclass
class Privacy:
    settings: Settings
    registry: SiteRegistry
    tokens: TokenRegistry
    state: redis.Redis  # the rate limit's counters

    def erase(
        self, subject: Subject, requested_by: str, follow_links: bool = True
    ) -> dict[str, Any]:
        with open_stores(self.settings, role="reader") as stores:
            eraser = Eraser(stores, settle_seconds=self.settings.privacy_settle_ms / 1000)
            return eraser.forget(subject, requested_by, follow_links).to_json()

    def export(self, subject: Subject) -> dict[str, Any]:
        with open_stores(self.settings, role="reader") as stores:
            return export_person(stores, subject)


def install(app: Flask, settings: Settings, registry: SiteRegistry) -> None:
    app.extensions[EXTENSION] = Privacy(
        settings,
        registry,
        TokenRegistry(settings.tokens_file, settings.sites_reload_seconds),
        redis.Redis.from_url(
            settings.state_url.url, socket_timeout=0.5, socket_connect_timeout=0.5
        ),
    )
    app.register_blueprint(bp)


def _privacy() -> Privacy:
    return current_app.extensions[EXTENSION]


class Refused(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> Response:
    response = error(exc.status, str(exc))
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    # The self-service page reads why it was refused (a 429 says when to try again).
    origin = request.headers.get("Origin")
    if request.path == FORGET_ME_PATH and origin:
        site = _privacy().registry.get(request.args.get("s", ""))
        if site is not None and site.allows_origin(origin):
            _allow_origin(response, origin)
    return response


def _subject(values: Any) -> Subject:
    if not isinstance(values, dict):
        raise Refused(400, "the body must be a JSON object")
    site_id, visitor, user = values.get("site_id"), values.get("visitor_id"), values.get("user_id")
    if not isinstance(site_id, str):
        raise Refused(400, "site_id is required")
    if (visitor is None) == (user is None):
        raise Refused(400, "name exactly one of visitor_id and user_id")
    if _privacy().registry.get(site_id) is None:
        raise Refused(404, f"unknown site {site_id!r}")
    kind, value = ("visitor", visitor) if visitor is not None else ("user", user)
    if not isinstance(value, str):
        raise Refused(400, f"{kind}_id must be a string")
    try:
        return Subject(site_id, kind, value)  # type: ignore[arg-type]  # kind is one of two
    except SubjectError as exc:
        raise Refused(400, str(exc)) from None


def _admin(site_id: str) -> str:
    """The admin token's id, or ``Refused`` (401 without a valid token, 403 otherwise)."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Refused(401, "an admin token is needed: Authorization: Bearer <token>")
    token = _privacy().tokens.authenticate(presented.strip())
    if token is None:
        raise Refused(401, "the API token is not valid (revoked, or mistyped)")
    if token.role != "admin" or token.site_id not in (site_id, ALL_SITES):
        raise Refused(403, f"a {token.role} token on {token.site_id!r} may not erase or export")
    return token.token_id


def _json_body() -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None


def _run(call: Any) -> Response:
    try:
        return json_answer(200, call())
    except WarehouseError as exc:
        raise Refused(503, f"the warehouse refused the erasure: {exc}") from None
    except _UNAVAILABLE as exc:
        return error(503, f"a store is not reachable, nothing is promised; retry: {exc}")


@bp.route(FORGET_PATH, methods=["POST"])
def forget() -> Response:
    subject = _subject(_json_body())
    token_id = _admin(subject.site_id)
    return _run(lambda: _privacy().erase(subject, f"token:{token_id}"))


@bp.route(EXPORT_PATH, methods=["GET"])
def export() -> Response:
    subject = _subject(request.args.to_dict())
    _admin(subject.site_id)
    return _run(lambda: _privacy().export(subject))


@bp.route(FORGET_ME_PATH, methods=["OPTIONS"])
def forget_me_preflight() -> Response:
    site = _privacy().registry.get(request.args.get("s", ""))
    origin = request.headers.get("Origin", "")
    if site is None or not site.allows_origin(origin):
        return error(403, f"origin {origin!r} is not allowed here")
    response = Response(status=204)
    _allow_origin(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return response


@bp.route(FORGET_ME_PATH, methods=["POST"])
def forget_me() -> Response:
    """Erase the visitor this browser's collector cookie names, and only that one."""
    privacy = _privacy()
    site_id = request.args.get("s", "")
    site = privacy.registry.get(site_id)
    if site is None:
        raise Refused(404, f"unknown site {site_id!r}")
    origin = request.headers.get("Origin")
    if origin is None or not site.allows_origin(origin):
        raise Refused(403, f"origin {origin!r} is not allowed for site {site_id!r}")
    cookie = request.cookies.get(COLLECTOR_COOKIE, "")
    if not valid_visitor_id(cookie):
        raise Refused(403, f"no {COLLECTOR_COOKIE} cookie: only this browser's id can be erased")
    body = _json_body() if request.content_length else None
    if isinstance(body, dict) and body.get("visitor_id") not in (None, cookie):
        raise Refused(403, "only the visitor id of this browser's cookie can be erased here")
    if isinstance(body, dict) and "user_id" in body:
        raise Refused(403, "erasure by user id needs an admin token (POST /v1/privacy/forget)")
    _count_request(privacy)
    # The cookie proves one browser, not who else used it or which other devices are the same
    # person's: the links are not followed (an admin erasure by user id follows them).
    subject = Subject(site_id, "visitor", cookie)
    response = _run(lambda: privacy.erase(subject, "self-service", follow_links=False))
    _allow_origin(response, origin)
    if response.status_code == 200:
        _expire_visitor_cookie(response)
    return response


def _count_request(privacy: Privacy) -> None:
    """A fixed hour window per client address (hashed: no raw address is kept)."""
    address = client_ip(
        request.remote_addr or "",
        request.headers.get("X-Forwarded-For"),
        privacy.settings.trusted_proxies,
    )
    hour = int(time.time() // 3600)
    digest = hashlib.blake2b(address.encode(), digest_size=12).hexdigest()
    key = f"privacy:forget-me:{hour}:{digest}"
    try:
        pipe = privacy.state.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 3600)
        count, _ = pipe.execute()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Refused(503, f"the rate limit cannot be checked; retry: {exc}", 1) from None
    if int(count) > privacy.settings.privacy_forget_me_per_hour:
        wait = 3600 - int(time.time()) % 3600  # the hour's window ends
        raise Refused(
            429, f"too many erasure requests from this address; try again in {wait} s", wait
        )
