"""What the views share: the app's state, JSON answers, the request's token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, request

from clicktrail.serving.answers import error, json_answer  # noqa: F401 - the views' API
from clicktrail.tokens.model import Token

if TYPE_CHECKING:
    from reports.app import Reports


def state() -> Reports:
    return current_app.extensions["reports"]


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def require_reports(site_id: str) -> Token:
    """The request's token, which must allow reports on ``site_id`` (roles read, marketer,
    admin); raises ``Denied`` (401 without a valid token, 403 with one that may not)."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Denied(401, "an API token is needed: Authorization: Bearer <token>")
    token = state().tokens.authenticate(presented.strip())
    if token is None:
        raise Denied(401, "the API token is not valid (revoked, or mistyped)")
    if not token.allows("reports", site_id):
        raise Denied(403, f"a {token.role} token on {token.site_id!r} may not read {site_id!r}")
    return token
