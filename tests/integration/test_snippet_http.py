"""The collector serves the built snippet: a stable and a versioned name, long caching,
gzip, conditional requests; the real app, over the real Redis Streams event log."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from tracker.app import create_app
from tracker.views.snippet import DEFAULT_FILE, LINKER_FILE, LINKER_PATH, STABLE_PATH, load_bundle

pytestmark = pytest.mark.redis

SIZES = DEFAULT_FILE.parents[1] / "size.json"  # what js_snippet/scripts/build.mjs recorded


@pytest.fixture
def client(redis_engine):
    app = create_app(redis_engine.settings)
    yield app.test_client()
    app.extensions["clicktrail"].event_log.close()


def test_stable_name_serves_the_committed_bundle(client):
    response = client.get(STABLE_PATH)
    assert response.status_code == 200
    assert response.data == DEFAULT_FILE.read_bytes()
    assert response.content_type == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    version = hashlib.sha256(response.data).hexdigest()[:12]
    assert response.headers["Link"] == f"</v1/clicktrail.{version}.js>; rel=canonical"


def test_versioned_name_is_immutable_for_a_year(client):
    version = load_bundle(DEFAULT_FILE).version
    response = client.get(f"/v1/clicktrail.{version}.js")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.data == DEFAULT_FILE.read_bytes()


def test_another_version_is_not_found_with_a_reason(client):
    response = client.get("/v1/clicktrail.000000000000.js")
    assert response.status_code == 404
    assert "current one is /v1/clicktrail." in response.get_json()["error"]


def test_gzip_when_accepted_and_conditional_requests(client):
    zipped = client.get(STABLE_PATH, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == DEFAULT_FILE.read_bytes()
    # As recorded by the build (gzip -9 of the file; served, the header holds no file name).
    assert len(zipped.data) <= json.loads(SIZES.read_text())["gzip"]
    again = client.get(
        STABLE_PATH, headers={"If-None-Match": zipped.headers["ETag"], "Accept-Encoding": "gzip"}
    )
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize(
    "path", [STABLE_PATH, f"/v1/clicktrail.{load_bundle(DEFAULT_FILE).version}.js"]
)
def test_each_encoding_has_its_own_etag(client, path):
    """Regression: the gzip and identity bodies shared one strong ETag, which names exact bytes."""
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    for first, other, encoding in ((zipped, plain, "gzip"), (plain, zipped, "identity")):
        same = client.get(
            path, headers={"If-None-Match": first.headers["ETag"], "Accept-Encoding": encoding}
        )
        assert same.status_code == 304
        # The other encoding's validator does not match these bytes: the full body comes.
        crossed = client.get(
            path, headers={"If-None-Match": other.headers["ETag"], "Accept-Encoding": encoding}
        )
        assert crossed.status_code == 200 and crossed.data == first.data


def test_a_missing_build_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="make snippet"):
        load_bundle(tmp_path / "nothing.js")


def test_the_linker_file_is_served_like_the_core(client):
    """The file the core imports on pages that link domains: stable and versioned names,
    gzip with its own validator, CORS (a module script is fetched in CORS mode)."""
    body = LINKER_FILE.read_bytes()
    assert b"export{" in body  # an ES module: the core takes its default export
    stable = client.get(LINKER_PATH, headers={"Accept-Encoding": "gzip"})
    assert stable.status_code == 200
    assert gzip.decompress(stable.data) == body
    assert stable.content_type == "text/javascript; charset=utf-8"
    assert stable.headers["Cache-Control"] == "public, max-age=3600"
    assert stable.headers["Access-Control-Allow-Origin"] == "*"
    assert len(stable.data) <= json.loads(SIZES.read_text())["linker"]["gzip"]
    version = hashlib.sha256(body).hexdigest()[:12]
    versioned_path = f"/v1/clicktrail-linker.{version}.js"
    assert stable.headers["Link"] == f"<{versioned_path}>; rel=canonical"
    plain = client.get(versioned_path, headers={"Accept-Encoding": "identity"})
    assert plain.data == body
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.headers["ETag"] != stable.headers["ETag"]
    again = client.get(
        LINKER_PATH, headers={"If-None-Match": stable.headers["ETag"], "Accept-Encoding": "gzip"}
    )
    assert again.status_code == 304
    assert client.get("/v1/clicktrail-linker.000000000000.js").status_code == 404
