"""What the personalizer's views share: the app's state, JSON answers, tokens, CORS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, current_app, request

from clicktrail.serving.answers import error, json_answer  # noqa: F401 - the views' API
from clicktrail.sites.model import Site
from clicktrail.tokens.model import Token

if TYPE_CHECKING:
    from personalizer.app import Personalizer


def state() -> Personalizer:
    return current_app.extensions["personalizer"]


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def require(permission: str, site_id: str) -> Token:
    """The request's token, which must allow ``permission`` on ``site_id``; raises ``Denied``
    (401 without a valid token, 403 with one that may not)."""
    presented = bearer()
    if presented is None:
        raise Denied(401, "an API token is needed: Authorization: Bearer <token>")
    token = state().tokens.authenticate(presented)
    if token is None:
        raise Denied(401, "the API token is not valid (revoked, or mistyped)")
    if not token.allows(permission, site_id):
        raise Denied(403, f"a {token.role} token on {token.site_id!r} may not do this here")
    return token


def allow_origin(response: Response, origin: str) -> Response:
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    if "Vary" in headers:
        response.vary.add("Origin")
    else:  # what vary.add gives, without parsing a header set
        headers["Vary"] = "Origin"
    return response


def site_allows(site: Site, origin: str | None) -> bool:
    return bool(origin) and site.allows_origin(origin or "")
