"""Rotating the signing key under a running personalizer (gunicorn, the real Redis), as an
operator does it: ``clicktrail secrets rotate-signing-key`` in another process. Within the
reload interval the personalizer signs with the new key; a link it gave before still works for
the grace period; a link of a key past its grace is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from bench.harness.engine import Engine, make_engine
from clicktrail import ports
from clicktrail.sites.model import Site
from tests.served_apps import ServedApp
from tests.served_apps import call as served_call
from tests.sites import site_with_marketer

pytestmark = [pytest.mark.redis, pytest.mark.services]

ROOT = Path(__file__).parents[2]
PORT = ports.port("personalizer") + 745  # a personalizer of this module's own
ORIGIN = "https://rotation.example.test"
LANDING = f"{ORIGIN}/landing/a"
RELOAD_SECONDS = 0.5
GRACE_DAYS = 30


def call(method: str, target: str, body: bytes | None = None, **headers: str):  # noqa: ANN201
    return served_call(PORT, method, target, body, **headers)


@pytest.fixture
def served(tmp_path):
    engine = make_engine(
        tmp_path,
        "redis",
        personalizer_bind=f"127.0.0.1:{PORT}",
        personalizer_public_url=f"http://127.0.0.1:{PORT}",
        signing_key_reload_seconds=RELOAD_SECONDS,
        signing_key_grace_days=GRACE_DAYS,
    )
    site_id = f"k{uuid.uuid4().hex[:10]}"  # campaigns live in the shared durable Redis
    secret = site_with_marketer(engine.settings, Site(site_id, origins=(ORIGIN,)))
    personalizer = ServedApp("personalizer", engine, PORT)
    personalizer.start(ready="/readyz")
    try:
        campaign = {
            "id": "always",
            "site_id": site_id,
            "name": "Always",
            "default": True,
            "creatives": [
                {
                    "id": "a",
                    "placement": "top",
                    "image_url": "https://cdn.example.test/a.png",
                    "alt": "a",
                    "landing_url": LANDING,
                    "width": 300,
                    "height": 250,
                }
            ],
        }
        status, _, text = call(
            "PUT",
            f"/v1/manage/sites/{site_id}/campaigns/always",
            json.dumps(campaign).encode(),
            Authorization=f"Bearer {secret}",
            Content_Type="application/json",
        )
        assert status == 201, text
        yield engine, site_id
    finally:
        personalizer.stop()


def click_link(site_id: str) -> str:
    """A fresh decision's click URL, as a path of the personalizer."""
    status, _, body = call(
        "POST",
        "/v1/decide",
        json.dumps({"site_id": site_id, "visitor_id": "v1", "placements": ["top"]}).encode(),
        Origin=ORIGIN,
        Content_Type="application/json",
    )
    assert status == 200, body
    url = urlsplit(json.loads(body)["placements"]["top"]["click_url"])
    return f"{url.path}?{url.query}"


def key_id(link: str) -> str:
    return dict(parse_qsl(urlsplit(link).query))["sig"].split(".")[0]


def clicked(link: str) -> tuple[int, str | None]:
    status, headers, _ = call("GET", link)
    return status, headers.get("Location")


def cli(engine: Engine, *args: str) -> str:
    env = {**os.environ, **engine.env()}
    done = subprocess.run(
        [sys.executable, "-m", "clicktrail.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_links_carry(site_id: str, wanted: str, seconds: float) -> str:
    """A link signed by ``wanted``, waiting up to ``seconds`` for the personalizer to re-read
    its keys; the last link otherwise."""
    deadline = time.monotonic() + seconds
    link = click_link(site_id)
    while key_id(link) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        link = click_link(site_id)
    return link


def age_retirement(secrets_file: Path, key: str, seconds: int) -> None:
    """Move ``key``'s retirement ``seconds`` into the past, as the calendar would."""
    document = json.loads(secrets_file.read_text())
    for entry in document["signing_keys"]:
        if entry["key_id"] == key:
            entry["retired_at"] -= seconds
    secrets_file.write_text(json.dumps(document))


def test_a_rotation_reaches_the_running_personalizer_and_old_links_live_out_their_grace(served):
    engine, site_id = served
    before = click_link(site_id)
    old_key = key_id(before)
    assert clicked(before) == (302, LANDING)

    said = cli(engine, "secrets", "rotate-signing-key")
    new_key = said.split()[3].rstrip(";")
    assert said.startswith("new signing key ") and new_key != old_key

    # New links carry the new key within the reload interval (with room for a loaded
    # machine), and the link given before the rotation is still followed.
    after = new_links_carry(site_id, new_key, RELOAD_SECONDS + 5)
    assert key_id(after) == new_key
    assert clicked(after) == (302, LANDING)
    assert clicked(before) == (302, LANDING)  # within its grace
    listed = cli(engine, "secrets", "list")
    assert f"{old_key}  created" in listed and "retired" in listed.split(old_key)[1]

    # A day before the grace ends the old link still works; a second after, it is refused
    # (the key file aged as thirty days would age it: the personalizer's clock is the wall's).
    grace = GRACE_DAYS * 86_400
    age_retirement(engine.settings.secrets_file, old_key, grace - 86_400)
    time.sleep(RELOAD_SECONDS + 0.2)
    assert clicked(before) == (302, LANDING)
    age_retirement(engine.settings.secrets_file, old_key, 86_400 + 1)
    deadline = time.monotonic() + RELOAD_SECONDS + 5
    while clicked(before)[0] == 302 and time.monotonic() < deadline:
        time.sleep(0.1)
    status, location = clicked(before)
    assert status == 400 and location is None
    assert clicked(click_link(site_id)) == (302, LANDING)  # the new key's links are unaffected

    # The next rotation drops the key past its grace from the file altogether.
    rotated = cli(engine, "secrets", "rotate-signing-key")
    assert "2 keys kept" in rotated
    assert old_key not in cli(engine, "secrets", "list")
    assert clicked(before)[0] == 400
