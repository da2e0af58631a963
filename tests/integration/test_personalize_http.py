"""The collector serves the personalization file beside the snippet: a stable and a versioned
name, caching as the snippet's, gzip with its own validators; the real app over the real Redis
Streams event log."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from tracker.app import create_app
from tracker.views.snippet import PERSONALIZE_FILE, PERSONALIZE_PATH

pytestmark = pytest.mark.redis


@pytest.fixture
def client(redis_engine):
    app = create_app(redis_engine.settings)
    yield app.test_client()
    app.extensions["clicktrail"].event_log.close()


def test_stable_and_versioned_names(client):
    stable = client.get(PERSONALIZE_PATH)
    assert stable.status_code == 200
    assert stable.data == PERSONALIZE_FILE.read_bytes()
    assert stable.content_type == "text/javascript; charset=utf-8"
    assert stable.headers["Cache-Control"] == "public, max-age=3600"
    version = hashlib.sha256(stable.data).hexdigest()[:12]
    versioned = f"/v1/clicktrail-personalize.{version}.js"
    assert stable.headers["Link"] == f"<{versioned}>; rel=canonical"
    immutable = client.get(versioned)
    assert immutable.status_code == 200 and immutable.data == stable.data
    assert immutable.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    other = client.get("/v1/clicktrail-personalize.000000000000.js")
    assert other.status_code == 404
    assert f"the current one is {versioned}" in other.get_json()["error"]
    # the core's names still serve the core
    assert client.get("/v1/clicktrail.js").data != stable.data


def test_gzip_with_its_own_validator(client):
    zipped = client.get(PERSONALIZE_PATH, headers={"Accept-Encoding": "gzip"})
    plain = client.get(PERSONALIZE_PATH)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get(
        PERSONALIZE_PATH,
        headers={"If-None-Match": zipped.headers["ETag"], "Accept-Encoding": "gzip"},
    )
    assert again.status_code == 304
