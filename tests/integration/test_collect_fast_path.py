"""``FastCollect`` (a browser's batch answered before Flask's request machinery) answers as the
Flask view does: every request below is sent through the collector with the fast path and
through Flask alone, and the status, every header in order, the body, the records appended to
the real Redis Streams log and the metrics counted must be the same. Which requests the fast
path answers and which it hands on is pinned too."""

from __future__ import annotations

import copy
import io
import ipaddress
import json
import re
import time
import uuid
from email.utils import parsedate_to_datetime

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import EnvironBuilder

from clicktrail.contract.linker import make_linker
from clicktrail.contract.record import LogRecord
from clicktrail.serving.ratelimit import RateLimiter
from clicktrail.settings import parse_event_log_url
from tests.integration.conftest import make_engine
from tracker.app import create_app
from tracker.views.collect import FastCollect

pytestmark = pytest.mark.redis

SHOP = "https://shop.example.test"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0.0.0 Safari/537.36"
NOW = time.time()  # one clock for both paths: the same received_at and salt day


def page_view(**fields) -> dict:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "created_at": int(NOW * 1000) - 500,
        "visitor_id": "v_snippet_1",
        "url": f"{SHOP}/",
        "session_id": "s1",
        "session_index": 1,
        "page_view_id": "pv1",
    }
    return {k: v for k, v in {**event, **fields}.items() if v is not None}


def batch(*events, **envelope) -> bytes:
    return json.dumps({"site_id": "shop", "sent_at": int(NOW * 1000), **envelope, "events": events})


def request(body, origin=SHOP, **headers) -> dict:
    sent = {"User-Agent": UA, "X-Forwarded-For": "203.0.113.9"}
    if origin is not None:
        sent["Origin"] = origin
    return {"body": body, "headers": {**sent, **headers}}


@pytest.fixture
def collector(tmp_path):
    """The collector behind a trusted proxy, with a small address limit and a fixed clock."""
    engine = make_engine(
        tmp_path,
        "redis",
        collector_rate_limit="3/minute",
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    app = create_app(engine.settings, clock=lambda: NOW)
    reader = app.extensions["clicktrail"].event_log.reader("test", "c1")
    yield app, engine, reader
    reader.close()
    app.extensions["clicktrail"].event_log.close()


def send(app, sent: dict, base_url: str = "http://localhost"):
    client = app.test_client()
    cookie = sent["headers"].pop("Cookie", None)
    if cookie:
        client.set_cookie("ct_vid", cookie, domain="localhost")
    body = sent["body"]
    return client.post(
        "/v1/events",
        data=body if isinstance(body, bytes) else body.encode(),
        headers=sent["headers"],
        content_type="text/plain",
        base_url=base_url,
    )


def drained(reader) -> list[LogRecord]:
    records = []
    while messages := reader.read(100, timeout=0.3):
        records += [LogRecord.decode(m.payload) for m in messages]
    return records


def counted() -> dict[str, float]:
    """The collector's counters (not its timings) as they stand."""
    values = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("clicktrail_collector_"):
            continue
        for sample in family.samples:
            if sample.name.endswith(("_created", "_sum", "_bucket")):
                continue
            values[f"{sample.name}{sorted(sample.labels.items())}"] = sample.value
    return values


EXPIRES = re.compile(r"Expires=([^;]+);")


def answered(app, reader, sequence: list[dict], base_url: str) -> tuple:
    """What a sequence of requests got, from a fresh limiter: each answer's status, headers
    (a cookie's Expires, the wall clock's second, apart) and body; the records; the counts."""
    state = app.extensions["clicktrail"]
    state.address_limit = RateLimiter(state.settings.collector_rate_limit)
    before = counted()
    answers, expires = [], []
    for sent in sequence:
        answer = send(app, copy.deepcopy(sent), base_url)
        headers = []
        for name, value in answer.headers.items():
            if name == "Set-Cookie":
                expires += EXPIRES.findall(value)
                value = EXPIRES.sub("Expires=<when>;", value)
            headers.append((name, value))
        answers.append((answer.status_code, headers, answer.get_data()))
    after = counted()
    counts = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    return answers, drained(reader), counts, expires


def both_paths(app, reader, sequence: list[dict], base_url: str = "http://localhost"):
    """The answers through the fast path, then through Flask alone; and the paths handed on."""
    fast = app.wsgi_app
    assert isinstance(fast, FastCollect)
    handed_on: list[str] = []
    flask = fast.wsgi_app

    def counting(environ, start_response):
        handed_on.append(environ["REQUEST_METHOD"])
        return flask(environ, start_response)

    fast.wsgi_app = counting
    try:
        through_fast = answered(app, reader, sequence, base_url)
    finally:
        fast.wsgi_app = flask
    app.wsgi_app = flask
    try:
        through_flask = answered(app, reader, sequence, base_url)
    finally:
        app.wsgi_app = fast
    return through_fast, through_flask, len(handed_on)


def same(fast, flask) -> None:
    answers, records, counts, expires = fast
    assert answers == flask[0]
    assert records == flask[1]
    assert counts == flask[2]
    # the cookies' Expires: the wall clock at the answer plus Max-Age, a second apart at most
    for mine, theirs in zip(expires, flask[3], strict=True):
        gap = parsedate_to_datetime(mine) - parsedate_to_datetime(theirs)
        assert abs(gap.total_seconds()) <= 2


def linked() -> str:
    return make_linker("v_from_other_domain", int(NOW), UA)


# Each case: the requests in order, and how many of them the fast path hands on to Flask.
CASES = {
    "single event": ([request(batch(page_view()))], 0),
    "20-event batch": ([request(batch(*[page_view() for _ in range(20)]))], 0),
    "with the collector cookie": (
        [request(batch(page_view(visitor_id=None)), Cookie="v_from_before")],
        0,
    ),
    "a new visitor (no id, no cookie: a new id in a cookie)": (
        [request(batch(page_view(visitor_id=None)))],
        None,  # the new id is random: compared apart below
    ),
    "another allowed origin": (
        [request(batch(page_view()), origin="https://www.shop.example.test")],
        0,
    ),
    "consent denied with a cookie: expired": (
        [request(batch(page_view(consent="denied")), Cookie="v_from_before")],
        0,
    ),
    "do not track": ([request(batch(page_view()), DNT="1")], 0),
    "opt-in site before consent": (
        [request(batch(page_view(), site_id="strict"), origin="https://strict.example.test")],
        0,
    ),
    "a valid cross-domain link": ([request(batch(page_view(), linker=linked()))], 0),
    "partially bad batch": (
        [request(batch(page_view(), {"event_type": "x"}, page_view(event_id="bad")))],
        0,
    ),
    "no valid event": ([request(batch({"event_type": "x"}))], 1),
    "broken JSON": ([request('{"site_id":"shop","events":[')], 1),
    "not UTF-8": ([request(b'{"site_id":"shop","events":["\xff"]}')], 1),
    "unknown site": ([request(batch(page_view(), site_id="nosuch"))], 1),
    "refused origin": ([request(batch(page_view()), origin="https://evil.test")], 1),
    "no origin": ([request(batch(page_view()), origin=None)], 1),
    "a wrong write key": ([request(batch(page_view()), **{"X-Clicktrail-Key": "ctk_no"})], 1),
    "oversized body": ([request(batch(page_view(url=SHOP + "/" + "x" * 70_000)))], 1),
    "a visitor over the address limit": (
        [request(batch(page_view())) for _ in range(5)] + [request("not json")],
        3,  # the 4th and 5th (429) and the broken one (429: the limit comes first)
    ),
}


@pytest.mark.parametrize("name", [name for name, (_, n) in CASES.items() if n is not None])
def test_both_paths_answer_alike(collector, name):
    app, _, reader = collector
    sequence, handed_on = CASES[name]
    fast, flask, passed = both_paths(app, reader, sequence)
    same(fast, flask)
    assert passed == handed_on
    statuses = [status for status, _, _ in fast[0]]
    assert statuses[0] in (202, 400, 403, 413)


def test_the_limited_visitor_sees_429s(collector):
    app, _, reader = collector
    fast, _, _ = both_paths(app, reader, CASES["a visitor over the address limit"][0])
    assert [status for status, _, _ in fast[0]] == [202, 202, 202, 429, 429, 429]
    assert len(fast[1]) == 3


def test_a_cross_site_https_cookie_is_alike(collector):
    app, _, reader = collector
    sequence = [request(batch(page_view()), **{"Sec-Fetch-Site": "cross-site"})]
    fast, flask, passed = both_paths(app, reader, sequence, "https://collector.example.net")
    same(fast, flask)
    assert passed == 0
    cookie = dict(fast[0][0][1])["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie


def test_a_new_visitor_gets_a_cookie_either_way(collector):
    app, _, reader = collector
    fast, flask, passed = both_paths(app, reader, CASES[next(k for k in CASES if "new" in k)][0])
    assert passed == 0
    ids = []
    for answers, records, _, _ in (fast, flask):
        [(status, headers, body)] = answers
        [record] = records
        ids.append(record.visitor_id)
        assert dict(headers)["Set-Cookie"].startswith(f"ct_vid={record.visitor_id};")
    unlike = {"Set-Cookie": None}
    assert [(s, [(k, unlike.get(k, v)) for k, v in h], b) for s, h, b in fast[0]] == [
        (s, [(k, unlike.get(k, v)) for k, v in h], b) for s, h, b in flask[0]
    ]
    assert fast[2] == flask[2]
    assert ids[0] != ids[1]  # two new visitors


def test_an_unreachable_log_is_the_views_503(tmp_path):
    engine = make_engine(tmp_path, "redis")
    settings = engine.settings.replace(
        event_log_url=parse_event_log_url("redis://127.0.0.1:1/0?stream=x")
    )
    app = create_app(settings, clock=lambda: NOW)
    fast = app.wsgi_app
    sent = request(batch(page_view()))
    through_fast = send(app, copy.deepcopy(sent))
    app.wsgi_app = fast.wsgi_app
    through_flask = send(app, copy.deepcopy(sent))
    assert through_fast.status_code == 503
    assert through_fast.headers["Retry-After"] == "1"
    assert through_fast.headers["Access-Control-Allow-Origin"] == SHOP
    assert list(through_fast.headers.items()) == list(through_flask.headers.items())
    assert through_fast.get_data() == through_flask.get_data()


def test_a_short_body_goes_to_the_view(collector):
    """The client sent less than its Content-Length: the view answers what werkzeug says."""
    app, _, reader = collector
    body = batch(page_view()).encode()
    results = []
    for wsgi in (app.wsgi_app, app.wsgi_app.wsgi_app):
        environ = EnvironBuilder(
            path="/v1/events",
            method="POST",
            headers={"Origin": SHOP, "User-Agent": UA},
            data=body,
        ).get_environ()
        environ["wsgi.input"] = io.BytesIO(body[:-10])
        started: list = []

        def start_response(status, headers, exc_info=None, started=started):
            started.append((status, headers))

        chunks = wsgi(environ, start_response)
        results.append((started, b"".join(chunks)))
    assert results[0] == results[1]
    assert results[0][0][0][0].startswith("400")
    assert drained(reader) == []


def test_an_error_in_the_answer_is_flasks_json_500(collector, monkeypatch):
    app, _, reader = collector
    app.testing = False  # as under gunicorn: Flask answers an error instead of raising it

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.extensions["clicktrail"], "new_visitor_id", broken)
    handed_on = []
    flask = app.wsgi_app.wsgi_app
    app.wsgi_app.wsgi_app = lambda environ, start: handed_on.append(1) or flask(environ, start)
    answer = send(app, request(batch(page_view(visitor_id=None))))
    assert answer.status_code == 500
    assert "error" in answer.get_json()
    assert handed_on == []  # answered where it failed, not written a second time by the view
    assert drained(reader) == []


def test_other_endpoints_go_to_flask(collector):
    app, _, _ = collector
    client = app.test_client()
    handed_on = []
    flask = app.wsgi_app.wsgi_app

    def counting(environ, start_response):
        handed_on.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return flask(environ, start_response)

    app.wsgi_app.wsgi_app = counting
    assert client.options("/v1/events", headers={"Origin": SHOP}).status_code == 204
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/withdraw?s=shop", headers={"Origin": SHOP}).status_code == 204
    assert handed_on == ["OPTIONS /v1/events", "GET /healthz", "POST /v1/withdraw"]
