"""What keeps the dashboard's pages safe in a browser: the response headers (a
Content-Security-Policy with scripts only from the dashboard's own static files), a session
cookie that is Secure when the request came over TLS, and the sign-in rate limit."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSessionInterface
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from clicktrail.identity.client_ip import Network

# No inline script, no eval, no other origin: the bundle reads its charts' data from
# <script type="application/json"> elements, which are data, not scripts.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def came_over_tls(req: Request, trusted: Sequence[Network]) -> bool:
    """TLS to this server, or to a trusted proxy that says so (``X-Forwarded-Proto``)."""
    if req.is_secure:
        return True
    if req.headers.get("X-Forwarded-Proto", "") != "https":
        return False
    try:
        peer = ipaddress.ip_address(req.remote_addr or "")
    except ValueError:
        return False
    return any(peer in network for network in trusted)


def add_headers(response: Response, secure: bool) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure exactly when the request came over TLS (HttpOnly
    and SameSite=Lax from the app's configuration)."""

    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = tuple(trusted)

    def get_cookie_secure(self, app: Flask) -> bool:
        return came_over_tls(request, self.trusted)


class SignInLimit:
    """At most ``rate`` (``10 per minute``) sign-in attempts per client address, in a moving
    window counted in Redis (the ``limits`` library), so every worker counts the same."""

    def __init__(self, storage_url: str, rate: str, prefix: str = "clicktrail-signin") -> None:
        self.storage = storage_from_string(storage_url, key_prefix=prefix)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.rate = parse(rate)

    def attempt(self, address: str) -> bool:
        """Count one attempt; False when it is over the limit."""
        return self.limiter.hit(self.rate, address)

    def retry_after(self, address: str) -> int:
        reset, _ = self.limiter.get_window_stats(self.rate, address)
        return max(1, int(reset - time.time()) + 1)
