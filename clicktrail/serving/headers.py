"""Headers every answer of every service carries, whatever produced it (a view, an error
handler, or werkzeug's own redirect that tidies a path): nothing is sniffed into another type,
and an HTML answer without a policy of its own (a framework's redirect or error page; the
dashboard and the demo shop set theirs) runs no script, loads nothing and is framed nowhere."""

from __future__ import annotations

from flask import Flask, Response

STRICT_HTML_POLICY = (
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def add_baseline_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", STRICT_HTML_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def harden(app: Flask) -> None:
    """Register the baseline headers on ``app`` (after every view's and blueprint's own)."""
    app.after_request(add_baseline_headers)
