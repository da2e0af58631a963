"""Impression and click endpoints against the real Redis servers: every impression and click
is written to the event log once per decision; a bad, tampered, expired or foreign-key link
gets 400 and never a redirect; an event log that is away costs a resend of the impression
(503), never a decision or a visitor's click."""

from __future__ import annotations

import json
import random
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from prometheus_client import REGISTRY

from bench.harness.engine import make_engine
from clicktrail.contract.record import LogRecord
from clicktrail.secrets.keyring import Keyring, SigningKey
from clicktrail.sites.model import Site
from personalizer.app import create_app
from personalizer.popularity import PopularityCache
from personalizer.signing import sign, verify
from pipelines.eventlog import open_event_log
from pipelines.eventlog.redis_streams import RedisStreamLog
from pipelines.warehouse.reader import WarehouseEventStore
from tests.sites import site_with_marketer

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"
LANDING = "https://shop.example.test/landing/spring-a"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def build(tmp_path, small_geoip_db, warehouse, clock: Clock, event_log=None):  # noqa: ANN201
    engine = make_engine(tmp_path, "redis", geoip_db=small_geoip_db)
    site_id = f"s{uuid.uuid4().hex[:10]}"
    secret = site_with_marketer(engine.settings, Site(site_id, origins=(ORIGIN,)))
    app = create_app(
        engine.settings,
        popularity=PopularityCache(WarehouseEventStore(warehouse)),
        event_log=event_log,
        clock=clock,
        rng=random.Random(1),
    )
    client = app.test_client()
    campaign = {
        "id": "spring",
        "site_id": site_id,
        "name": "Spring",
        "default": True,
        "creatives": [
            {
                "id": "spring-a",
                "placement": "top",
                "image_url": "https://cdn.example.test/a.png",
                "alt": "a",
                "landing_url": LANDING,
                "width": 300,
                "height": 250,
            }
        ],
    }
    answer = client.put(
        f"/v1/manage/sites/{site_id}/campaigns/spring",
        data=json.dumps(campaign),
        headers={"Authorization": f"Bearer {secret}"},
        content_type="application/json",
    )
    assert answer.status_code == 201
    return engine, app, client, site_id


def decide(client, site_id: str) -> dict:
    answer = client.post(
        "/v1/decide",
        data=json.dumps({"site_id": site_id, "visitor_id": "v1", "placements": ["top"]}),
        headers={"Origin": ORIGIN},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def local(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" + urlencode(extra) if extra else "")
    return f"{parts.path}?{query}"


def events_on_the_log(engine, expected: int) -> list[dict]:
    log = open_event_log(engine.settings, ack_timeout=5)
    reader = log.reader("check", "c1")
    events: list[dict] = []
    deadline = time.monotonic() + 10
    while len(events) < expected and time.monotonic() < deadline:
        messages = reader.read(100, 0.5)
        events += [e for m in messages for e in LogRecord.decode(m.payload).events]
        reader.commit(messages)
    reader.close()
    log.close()
    return events


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_impressions_and_clicks_are_written_once_per_decision(tmp_path, small_geoip_db, warehouse):
    engine, app, client, site_id = build(tmp_path, small_geoip_db, warehouse, Clock())
    placed = decide(client, site_id)["placements"]["top"]
    for _ in range(3):  # resent: the same event every time
        assert client.get(local(placed["impression_url"], vw="1")).status_code == 200
    assert client.get(local(placed["click_url"])).status_code == 302
    app.extensions["personalizer"].attribution.close()
    events = events_on_the_log(engine, 5)
    by_type: dict[str, set[str]] = {}
    for event in events:
        by_type.setdefault(event["event_type"], set()).add(event["event_id"])
    assert {kind: len(ids) for kind, ids in by_type.items()} == {
        "decision": 1,
        "banner_impression": 1,
        "banner_click": 1,
    }
    assert len(events) == 5  # three copies of the impression on the log; one event id
    assert all(e["viewable"] for e in events if e["event_type"] == "banner_impression")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: {**q, "vw": "yes"}, "vw must be"),
        (lambda q: {**q, "r": "other"}, "bad signature"),
        (lambda q: {k: v for k, v in q.items() if k != "d"}, "missing parameters: d"),
        (lambda q: {**q, "u": "https://evil.example/"}, "unexpected parameters: u"),
    ],
)
def test_a_bad_impression_is_a_400_gif(tmp_path, small_geoip_db, warehouse, change, message):
    _, _, client, site_id = build(tmp_path, small_geoip_db, warehouse, Clock())
    url = urlsplit(decide(client, site_id)["placements"]["top"]["impression_url"])
    query = change(dict(parse_qsl(url.query)))
    answer = client.get(f"{url.path}?{urlencode(query)}")
    assert answer.status_code == 400 and answer.content_type == "image/gif"
    assert message in answer.headers["X-Clicktrail-Error"]


def test_expired_foreign_and_unsigned_extra_clicks_never_redirect(
    tmp_path, small_geoip_db, warehouse
):
    clock = Clock()
    _, app, client, site_id = build(tmp_path, small_geoip_db, warehouse, clock)
    click = decide(client, site_id)["placements"]["top"]["click_url"]
    assert client.get(local(click)).headers["Location"] == LANDING

    # vw is an impression's unsigned observation; on a click it is an unexpected parameter
    extra = client.get(local(click, vw="1"))
    assert extra.status_code == 400 and "Location" not in extra.headers

    # the same click signed with a key the personalizer does not hold
    url = urlsplit(click)
    query = dict(parse_qsl(url.query))
    keyring = app.extensions["personalizer"].keyring()
    signed = verify("click", query, keyring, int(clock.now))
    foreign = Keyring((SigningKey.new(int(clock.now)),), grace_seconds=0)
    refused = client.get(f"{url.path}?{urlencode(sign('click', signed, foreign))}")
    assert refused.status_code == 400 and "Location" not in refused.headers

    clock.now += 2 * 86_400  # past the link's expiry
    expired = client.get(local(click))
    assert expired.status_code == 400 and "Location" not in expired.headers
    assert "expired" in expired.get_json()["error"]


def test_an_event_log_away_costs_a_resend_never_a_decision_or_a_click(
    tmp_path, small_geoip_db, warehouse
):
    away = RedisStreamLog("redis://127.0.0.1:1/0", "nowhere", ack_timeout=0.2)
    _, app, client, site_id = build(tmp_path, small_geoip_db, warehouse, Clock(), away)
    dropped = "clicktrail_personalizer_log_dropped_total"
    before = {
        kind: sample(dropped, kind=kind, reason="log_away")
        for kind in ("decision", "impression", "click")
    }
    placed = decide(client, site_id)["placements"]["top"]
    impression = client.get(local(placed["impression_url"], vw="1"))
    assert impression.status_code == 503
    assert "send again" in impression.headers["X-Clicktrail-Error"]
    click = client.get(local(placed["click_url"]))
    assert click.status_code == 302 and click.headers["Location"] == LANDING
    assert app.extensions["personalizer"].attribution.flush(10)
    after = {kind: sample(dropped, kind=kind, reason="log_away") for kind in before}
    assert {kind: after[kind] - before[kind] for kind in before} == {
        "decision": 1,
        "impression": 1,
        "click": 1,
    }
