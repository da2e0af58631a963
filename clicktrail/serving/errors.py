"""Every HTTP error of a service is JSON with a reason, never an HTML page."""

from __future__ import annotations

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException


def json_http_error(error: HTTPException) -> Response:
    response = jsonify(error=error.description)
    response.status_code = error.code or 500
    # the error's own headers: Allow on a 405 (RFC 9110 requires it), WWW-Authenticate, ...
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
