"""The browser files, served by the collector. The core snippet: ``/v1/clicktrail.js`` (a
stable name, cached for an hour so a new release reaches pages soon) and
``/v1/clicktrail.<hash>.js`` (the versioned name, content-addressed, cached for a year as
immutable); the personalization file beside it, named the same way:
``/v1/clicktrail-personalize.js`` and ``/v1/clicktrail-personalize.<hash>.js``; and the linker
file the core imports on pages that link domains, ``/v1/clicktrail-linker.js`` (and
``/v1/clicktrail-linker.<hash>.js``). Gzipped once, at first use.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from flask import Blueprint, Response, abort, current_app, request

bp = Blueprint("snippet", __name__)

DIST = Path(__file__).resolve().parents[2] / "js_snippet" / "dist"
DEFAULT_FILE = DIST / "clicktrail.min.js"
CONFIG_KEY = "CLICKTRAIL_SNIPPET_FILE"  # tests and deployments may point elsewhere
STABLE_PATH = "/v1/clicktrail.js"
PERSONALIZE_FILE = DIST / "clicktrail-personalize.min.js"
PERSONALIZE_CONFIG_KEY = "CLICKTRAIL_PERSONALIZE_FILE"
PERSONALIZE_PATH = "/v1/clicktrail-personalize.js"
LINKER_FILE = DIST / "clicktrail-linker.min.js"
LINKER_CONFIG_KEY = "CLICKTRAIL_LINKER_FILE"
LINKER_PATH = "/v1/clicktrail-linker.js"
STABLE_MAX_AGE = 3600
VERSIONED_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Bundle:
    body: bytes
    gzipped: bytes
    version: str  # the first 12 hex digits of the body's SHA-256
    name: str = "clicktrail"  # the served name without ".js"

    @property
    def versioned_path(self) -> str:
        return f"/v1/{self.name}.{self.version}.js"


@functools.cache
def load_bundle(path: Path, name: str = "clicktrail") -> Bundle:
    """The built bundle; raises ``FileNotFoundError`` naming the build command if missing."""
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: build it with `make snippet`") from None
    version = hashlib.sha256(body).hexdigest()[:12]
    return Bundle(body, gzip.compress(body, compresslevel=9, mtime=0), version, name)


def current_bundle() -> Bundle:
    return load_bundle(Path(current_app.config.get(CONFIG_KEY, DEFAULT_FILE)))


def personalize_bundle() -> Bundle:
    path = Path(current_app.config.get(PERSONALIZE_CONFIG_KEY, PERSONALIZE_FILE))
    return load_bundle(path, "clicktrail-personalize")


@bp.get(STABLE_PATH)
def stable() -> Response:
    return _stable(current_bundle())


@bp.get("/v1/clicktrail.<version>.js")
def versioned(version: str) -> Response:
    return _versioned(current_bundle(), version)


def linker_bundle() -> Bundle:
    path = Path(current_app.config.get(LINKER_CONFIG_KEY, LINKER_FILE))
    return load_bundle(path, "clicktrail-linker")


@bp.get(PERSONALIZE_PATH)
def personalize_stable() -> Response:
    return _stable(personalize_bundle())


@bp.get("/v1/clicktrail-personalize.<version>.js")
def personalize_versioned(version: str) -> Response:
    return _versioned(personalize_bundle(), version)


@bp.get(LINKER_PATH)
def linker_stable() -> Response:
    return _stable(linker_bundle())


@bp.get("/v1/clicktrail-linker.<version>.js")
def linker_versioned(version: str) -> Response:
    return _versioned(linker_bundle(), version)


def _stable(bundle: Bundle) -> Response:
    response = _serve(bundle, f"public, max-age={STABLE_MAX_AGE}")
    response.headers["Link"] = f"<{bundle.versioned_path}>; rel=canonical"
    return response


def _versioned(bundle: Bundle, version: str) -> Response:
    if version != bundle.version:  # an old or unknown version: never serve other bytes for it
        abort(
            404, f"no {bundle.name} version {version!r}; the current one is {bundle.versioned_path}"
        )
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
    return cast(Response, response.make_conditional(request))  # the same object, typed by werkzeug
