"""A fast path in front of a Flask app: a WSGI middleware that answers an endpoint's common
request itself, without Flask's request context, routing and request object, and hands every
other request to Flask unchanged (with the body it read). The collector's ``FastCollect`` and
the personalizer's ``FastDecide`` are two."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def post_length(
    environ: WSGIEnvironment, path: str, limit: int | None, handed_on: Iterable[str] = ()
) -> int | None:
    """The body length of a ``POST`` of ``path`` a fast path may read: a ``Content-Length``
    of ASCII digits within ``limit`` (``"²".isdigit()`` holds, ``int("²")`` refuses), not
    chunked, and none of the environ keys ``handed_on`` (what only the view judges, such as
    a token). None: the view answers."""
    if (
        environ.get("PATH_INFO") != path
        or environ.get("REQUEST_METHOD") != "POST"
        or "HTTP_TRANSFER_ENCODING" in environ
        or any(key in environ for key in handed_on)
    ):
        return None
    length = environ.get("CONTENT_LENGTH") or ""
    if not (length.isascii() and length.isdigit()) or (limit is not None and int(length) > limit):
        return None
    return int(length)


class FastPath:
    """Subclasses say which requests they may read (``length``) and answer a body or decline
    (``answer``, None: Flask answers, with the body as it came). A body shorter than its
    length (the client went away) goes to Flask for the view's error; an exception is
    answered as Flask answers an error in a view (its 500 handler)."""

    blueprint: str  # the view's blueprint: its after-request functions run before the app's

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def length(self, environ: WSGIEnvironment) -> int | None:
        raise NotImplementedError

    def answer(self, environ: WSGIEnvironment, body: bytes) -> Response | None:
        raise NotImplementedError

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = self.length(environ)
        if length is None:
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        try:
            response = self.answer(environ, body) if len(body) == length else None
        except Exception as exc:
            with self.app.request_context(environ):
                failed = self.app.handle_exception(exc)
            return failed(environ, start_response)
        if response is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        return response(environ, start_response)

    def after_request(self, response: Response) -> Response:
        """The after-request functions, in Flask's order: the view's blueprint's, then the
        app's (the baseline headers). They get no request context here."""
        for name in (self.blueprint, None):
            for after in reversed(self.app.after_request_funcs.get(name, [])):
                response = after(response)
        return response
