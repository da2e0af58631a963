"""The browser snippet, served by the collector: ``/v1/clicktrail.js`` (a stable name, cached
for an hour so a new release reaches pages soon) and ``/v1/clicktrail.<hash>.js`` (the
versioned name, content-addressed, cached for a year as immutable). Gzipped once, at first use.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request

bp = Blueprint("snippet", __name__)

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "js_snippet" / "dist" / "clicktrail.min.js"
CONFIG_KEY = "CLICKTRAIL_SNIPPET_FILE"  # tests and deployments may point elsewhere
STABLE_PATH = "/v1/clicktrail.js"
STABLE_MAX_AGE = 3600
VERSIONED_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Bundle:
    body: bytes
    gzipped: bytes
    version: str  # the first 12 hex digits of the body's SHA-256

    @property
    def versioned_path(self) -> str:
        return f"/v1/clicktrail.{self.version}.js"


@functools.cache
def load_bundle(path: Path) -> Bundle:
    """The built bundle; raises ``FileNotFoundError`` naming the build command if missing."""
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: build it with `make snippet`") from None
    version = hashlib.sha256(body).hexdigest()[:12]
    return Bundle(body, gzip.compress(body, compresslevel=9, mtime=0), version)


def current_bundle() -> Bundle:
    return load_bundle(Path(current_app.config.get(CONFIG_KEY, DEFAULT_FILE)))


@bp.get(STABLE_PATH)
def stable() -> Response:
    bundle = current_bundle()
    response = _serve(bundle, f"public, max-age={STABLE_MAX_AGE}")
    response.headers["Link"] = f"<{bundle.versioned_path}>; rel=canonical"
    return response


@bp.get("/v1/clicktrail.<version>.js")
def versioned(version: str) -> Response:
    bundle = current_bundle()
    if version != bundle.version:  # an old or unknown version: never serve other bytes for it
        abort(404, f"no snippet version {version!r}; the current one is {bundle.versioned_path}")
    return _serve(bundle, f"public, max-age={VERSIONED_MAX_AGE}, immutable")


def _serve(bundle: Bundle, cache_control: str) -> Response:
    use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(
        bundle.gzipped if use_gzip else bundle.body,
        content_type="text/javascript; charset=utf-8",
    )
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Cache-Control"] = cache_control
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public file, loadable from any site
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Encoding")
    # A strong validator names exact bytes: each encoding has its own (RFC 9110, 8.8.3).
    response.set_etag(f"{bundle.version}.gz" if use_gzip else bundle.version)
    return response.make_conditional(request)
