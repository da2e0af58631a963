"""JSON answers as every service gives them: compact UTF-8, never cached, errors as
``{"error": "..."}`` for people to read."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def json_answer(status: int, body: Any, **headers: str) -> Response:
    """``headers``: keyword names with ``_`` for ``-`` (``Retry_After="5"``)."""
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def error(status: int, message: str) -> Response:
    return json_answer(status, {"error": message})


def header_text(text: str, limit: int = 200) -> str:
    """``text`` as a header value: printable ASCII only (anything else is "?"), at most
    ``limit`` characters. A control character in a header is refused by the server (gunicorn
    answers 500 instead), and a message may quote what a client sent."""
    return "".join(c if " " <= c <= "~" else "?" for c in text[:limit])
