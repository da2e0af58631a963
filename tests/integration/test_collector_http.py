"""Every collector endpoint over HTTP, writing to the real Redis Streams log, read back."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import pytest

from clicktrail.contract.linker import make_linker
from clicktrail.contract.record import LogRecord
from clicktrail.settings import parse_event_log_url
from tests.integration.conftest import make_engine
from tests.protocol_fixtures import envelope_body, load
from tracker.app import create_app

pytestmark = pytest.mark.redis

SHOP = "https://shop.example.test"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0.0.0 Safari/537.36"
EVENTS = load("events.json")


def page_view(**fields) -> dict:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "created_at": int(time.time() * 1000),
        "visitor_id": "v_snippet_1",
        "url": f"{SHOP}/",
        "session_id": "s1",
        "session_index": 1,
        "page_view_id": "pv1",
    }
    return {**event, **fields}


@pytest.fixture
def engine(redis_engine):
    return redis_engine


@pytest.fixture
def app(engine):
    app = create_app(engine.settings)
    yield app
    app.extensions["clicktrail"].event_log.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def log_reader(app):
    reader = app.extensions["clicktrail"].event_log.reader("test", "c1")
    yield reader
    reader.close()


def read_records(reader, expected: int) -> list[LogRecord]:
    messages = []
    deadline = time.monotonic() + 5
    while len(messages) < expected and time.monotonic() < deadline:
        messages += reader.read(100, timeout=0.2)
    assert reader.read(100, timeout=0.1) == [], "more records than expected"
    return [LogRecord.decode(m.payload) for m in messages]


def post(client, body, origin=SHOP, headers=None, content_type="text/plain", **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"User-Agent": UA, **({"Origin": origin} if origin else {}), **(headers or {})}
    return client.post(
        "/v1/events", data=data, headers=all_headers, content_type=content_type, **kwargs
    )


def test_browser_batch_reaches_the_log_exactly(client, log_reader):
    events = [page_view(), page_view(event_type="page_ping", engaged_ms=5000, url=None)]
    events[1].pop("url")
    response = post(
        client, {"site_id": "shop", "sent_at": events[0]["created_at"], "events": events}
    )
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 2, "rejected": []}
    [record] = read_records(log_reader, 1)
    assert (record.site_id, record.visitor_id, record.id_source) == (
        "shop",
        "v_snippet_1",
        "cookie",
    )
    assert record.ip == "127.0.0.1" and record.user_agent == UA
    assert record.sent_at == events[0]["created_at"]
    assert [e["event_id"] for e in record.events] == [e["event_id"] for e in events]
    expected = {k: v for k, v in events[0].items() if k != "visitor_id"}
    assert record.events[0] == expected


def test_application_json_is_accepted_too(client):
    response = post(
        client, {"site_id": "shop", "events": [page_view()]}, content_type="application/json"
    )
    assert response.status_code == 202


def test_collector_cookie_attributes(client):
    response = post(client, {"site_id": "shop", "events": [page_view()]})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ct_vid=v_snippet_1;")
    for attribute in ("HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=34560000"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http


def test_cross_site_https_cookie_is_samesite_none_and_secure(client):
    response = post(
        client,
        {"site_id": "shop", "events": [page_view()]},
        headers={"Sec-Fetch-Site": "cross-site"},
        base_url="https://collector.example.net",
    )
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie


def test_cors_headers_and_preflight(client):
    response = post(
        client, {"site_id": "shop", "events": [page_view()]}, origin="https://www.shop.example.test"
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.shop.example.test"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]

    preflight = client.options(
        "/v1/events",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]

    refused = client.options("/v1/events", headers={"Origin": "https://evil.test"})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize(
    ("site_id", "origin", "headers", "message"),
    [
        ("nosuch", SHOP, {}, "unknown site 'nosuch'"),
        ("shop", "https://evil.test", {}, "origin 'https://evil.test' is not allowed"),
        ("shop", "http://shop.example.test", {}, "is not allowed"),
        ("shop", None, {}, "needs the site's X-Clicktrail-Key"),
        ("shop", None, {"X-Clicktrail-Key": "ctk_wrong"}, "wrong write key"),
        ("strict", None, {"X-Clicktrail-Key": ""}, "wrong write key"),
    ],
)
def test_refused_senders_get_a_clear_403(client, log_reader, site_id, origin, headers, message):
    response = post(
        client, {"site_id": site_id, "events": [page_view()]}, origin=origin, headers=headers
    )
    assert response.status_code == 403
    assert message in response.get_json()["error"]
    assert read_records(log_reader, 0) == []
    # A browser may read the reason (and stop sending): refusals carry CORS headers too.
    if origin:
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_a_body_refused_whole_carries_cors_headers(client):
    response = post(client, b"not json")
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == SHOP


def test_server_side_sender_with_the_write_key(client, engine, log_reader):
    event = page_view(visitor_id="crm-77", ip="198.51.100.23", user_agent="Backend/1.0")
    response = post(
        client,
        {"site_id": "shop", "events": [event]},
        origin=None,
        headers={"X-Clicktrail-Key": engine.write_key},
    )
    assert response.status_code == 202
    assert "Set-Cookie" not in response.headers
    [record] = read_records(log_reader, 1)
    assert (record.visitor_id, record.id_source) == ("crm-77", "server")
    assert (record.ip, record.user_agent) == ("198.51.100.23", "Backend/1.0")


def test_browsers_cannot_claim_another_ip(client, log_reader):
    post(client, {"site_id": "shop", "events": [page_view(ip="198.51.100.23")]})
    [record] = read_records(log_reader, 1)
    assert record.ip == "127.0.0.1"


def test_one_record_per_visitor_of_a_request(client, engine, log_reader):
    events = [page_view(visitor_id="a"), page_view(visitor_id="b"), page_view(visitor_id="a")]
    post(
        client,
        {"site_id": "shop", "events": events},
        origin=None,
        headers={"X-Clicktrail-Key": engine.write_key},
    )
    records = read_records(log_reader, 2)
    by_visitor = {r.visitor_id: [e["event_id"] for e in r.events] for r in records}
    assert by_visitor == {
        "a": [events[0]["event_id"], events[2]["event_id"]],
        "b": [events[1]["event_id"]],
    }


@pytest.mark.parametrize("case", load("envelopes.json")["cases"], ids=lambda case: case["name"])
def test_envelope_fixtures_over_http(client, log_reader, case):
    response = post(client, envelope_body(case))
    assert response.status_code == case["status"], response.get_json()
    body = response.get_json()
    if "accepted" in case:
        assert body["accepted"] == case["accepted"]
        assert [r["index"] for r in body["rejected"]] == case["rejected"]
        assert all(r["reason"] for r in body["rejected"])
        records = read_records(log_reader, 1 if case["accepted"] else 0)
        assert sum(len(r.events) for r in records) == case["accepted"]
    else:
        assert body["error"]
        assert read_records(log_reader, 0) == []


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("NUL byte in a field", '{"site_id":"shop","events":[%s,%s]}', 202),
        ("lone surrogate", '{"site_id":"shop","events":[%s,%s]}', 202),
    ],
)
def test_odd_text_is_refused_per_event(client, log_reader, name, body, status):
    good = json.dumps(page_view())
    bad = page_view()
    bad_text = json.dumps(bad).replace(
        '"url": "', '"url": "\\u0000' if "NUL" in name else '"url": "\\ud800'
    )
    response = post(client, (body % (good, bad_text)).encode())
    assert response.status_code == status
    assert [r["index"] for r in response.get_json()["rejected"]] == [1]
    assert len(read_records(log_reader, 1)[0].events) == 1


@pytest.mark.parametrize(
    "deep",
    ["[" * 5_000 + "]" * 5_000, '{"a":' * 5_000 + "1" + "}" * 5_000],
    ids=["arrays", "objects"],
)
@pytest.mark.parametrize("where", ["body", "event", "context"])
def test_deeply_nested_json_is_a_clear_400(client, log_reader, deep, where):
    good = json.dumps(page_view())
    with_context = good.replace("{", '{"context":' + deep + ",", 1)
    body = {
        "body": deep,
        "event": '{"site_id":"shop","events":[' + good + "," + deep + "]}",
        "context": '{"site_id":"shop","events":[' + with_context + "]}",
    }[where]
    assert len(body) < 64 * 1024
    response = post(client, body.encode())
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.get_json()["error"]
    assert read_records(log_reader, 0) == []
    assert post(client, {"site_id": "shop", "events": [page_view()]}).status_code == 202


@pytest.mark.parametrize("deep", ["[" * 900 + "]" * 900, '{"a":' * 500 + "1" + "}" * 500])
def test_deeply_nested_json_in_the_pixel_is_a_clear_400(client, deep):
    from urllib.parse import quote

    response = client.get(f"/v1/pixel.gif?j={quote(deep)}", headers={"Origin": SHOP})
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.headers["X-Clicktrail-Error"]


def test_pixel_with_many_odd_keys_is_a_clear_answer(client):
    keys = "&".join(f"a[{i}][b][c]=1&p.{i}=x" for i in range(300))
    response = client.get(f"/v1/pixel.gif?s=shop&e=page_view&{keys}", headers={"Origin": SHOP})
    assert response.status_code == 400
    assert response.content_type == "image/gif"
    assert response.headers["X-Clicktrail-Error"]


def test_oversize_body_with_a_lying_content_length_is_refused(client):
    response = client.post(
        "/v1/events", data=b"x" * 70000, headers={"Origin": SHOP}, content_type="text/plain"
    )
    assert response.status_code == 413
    assert "64" in response.get_json()["error"] or "large" in response.get_json()["error"]


def test_consent_denied_and_privacy_signals_set_no_cookie(client, log_reader):
    denied = post(client, {"site_id": "shop", "events": [page_view(consent="denied")]})
    dnt = post(client, {"site_id": "shop", "events": [page_view()]}, headers={"DNT": "1"})
    gpc = post(client, {"site_id": "shop", "events": [page_view()]}, headers={"Sec-GPC": "1"})
    for response in (denied, dnt, gpc):
        assert response.status_code == 202
        assert "Set-Cookie" not in response.headers
    records = read_records(log_reader, 1)  # same site, IP and browser: one cookieless visitor
    assert {r.id_source for r in records} == {"cookieless"}
    assert {r.visitor_id for r in records} != {"v_snippet_1"}


def test_denied_requests_ignore_and_expire_the_collector_cookie(client, log_reader):
    """Regression: ct_vid outlived a withdrawal. A request whose every event refuses cookies
    neither uses the collector's cookie nor keeps it."""
    client.set_cookie("ct_vid", "v_from_before", domain="localhost")
    denied = post(client, {"site_id": "shop", "events": [page_view(consent="denied")]})
    assert denied.status_code == 202
    assert _expired("ct_vid", denied)
    [record] = read_records(log_reader, 1)
    assert record.id_source == "cookieless" and record.visitor_id != "v_from_before"

    client.set_cookie("ct_vid", "v_from_before", domain="localhost")
    allowed = post(client, {"site_id": "shop", "events": [page_view(visitor_id=None)]})
    [record] = read_records(log_reader, 1)
    assert (record.visitor_id, record.id_source) == ("v_from_before", "collector_cookie")
    assert "ct_vid=v_from_before" in allowed.headers["Set-Cookie"]  # refreshed, as before


@pytest.mark.parametrize("method", ["get", "post"])
def test_withdraw_expires_the_collector_cookie(client, log_reader, method):
    """What the snippet sends on ``ct('consent', false)`` (an image: GET; or a beacon: POST)."""
    client.set_cookie("ct_vid", "v_from_before", domain="localhost")
    response = getattr(client, method)("/v1/withdraw?s=shop", headers={"Origin": SHOP})
    assert response.status_code == 204
    assert _expired("ct_vid", response)
    assert client.get_cookie("ct_vid") is None
    assert read_records(log_reader, 0) == []


def _expired(name: str, response) -> bool:
    cookies = response.headers.getlist("Set-Cookie")
    return any(c.startswith(f"{name}=;") and "Max-Age=0" in c for c in cookies)


def test_opt_in_site_waits_for_consent(client, log_reader):
    origin = "https://strict.example.test"
    before = post(client, {"site_id": "strict", "events": [page_view()]}, origin=origin)
    after = post(
        client, {"site_id": "strict", "events": [page_view(consent="granted")]}, origin=origin
    )
    assert "Set-Cookie" not in before.headers and "Set-Cookie" in after.headers
    sources = sorted(r.id_source for r in read_records(log_reader, 2))
    assert sources == ["cookie", "cookieless"]


def test_cross_domain_identifier(client, log_reader):
    now = int(time.time())
    valid = make_linker("v_from_other_domain", now, UA)
    expired = make_linker("v_from_other_domain", now - 3600, UA)
    tampered = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    answers = []
    for linker in (valid, expired, tampered):
        body = {"site_id": "shop", "linker": linker, "events": [page_view()]}
        response = post(client, body)
        assert response.status_code == 202
        answers.append(response.get_json().get("linked"))
    # The answer names the link's visitor only when the link was valid: the snippet adopts it.
    assert answers == ["v_from_other_domain", None, None]
    records = read_records(log_reader, 3)
    assert [(r.visitor_id, r.id_source, r.replaced_visitor_id) for r in records] == [
        ("v_from_other_domain", "url", "v_snippet_1"),
        ("v_snippet_1", "cookie", None),
        ("v_snippet_1", "cookie", None),
    ]


def test_pixel(client, log_reader):
    event_id = str(uuid.uuid4())
    response = client.get(
        f"/v1/pixel.gif?s=shop&e=page_view&eid={event_id}&ct={int(time.time() * 1000)}"
        "&url=https%3A%2F%2Fshop.example.test%2Fnojs&p.campaign=mail-7",
        headers={"User-Agent": UA},
    )
    assert response.status_code == 200
    assert response.content_type == "image/gif" and response.data.startswith(b"GIF89a")
    assert "ct_vid=" in response.headers["Set-Cookie"]
    [record] = read_records(log_reader, 1)
    assert record.id_source == "collector_cookie"
    assert record.events[0]["properties"] == {"campaign": "mail-7"}

    again = client.get(
        f"/v1/pixel.gif?s=shop&e=page_view&eid={uuid.uuid4()}&ct={int(time.time() * 1000)}&url=x",
        headers={"User-Agent": UA},
    )
    assert again.status_code == 200
    [second] = read_records(log_reader, 1)
    assert second.visitor_id == record.visitor_id  # the collector cookie came back


@pytest.mark.parametrize("case", load("pixel.json")["snippet"], ids=lambda c: c["name"])
def test_pixel_carries_the_snippet_s_envelope(client, log_reader, case):
    """The query the snippet writes where it cannot POST: every field arrives with its type."""
    response = client.get(f"/v1/pixel.gif?{case['query']}", headers={"User-Agent": UA})
    assert response.status_code == 200 and response.data.startswith(b"GIF89a")
    [record] = read_records(log_reader, 1)
    assert record.sent_at == case["sent_at"]
    [event] = record.events
    sent = {k: v for k, v in case["event"].items() if k != "visitor_id"}
    assert {k: event[k] for k in sent} == sent
    if case.get("linker"):  # the fixture's linker is long expired: the snippet's id stands
        assert (record.visitor_id, record.id_source) == (case["event"]["visitor_id"], "cookie")


def test_pixel_envelope_with_no_valid_event_is_a_final_answer(client, log_reader):
    query = urlencode({"j": json.dumps({"site_id": "shop", "events": [{"event_type": "x"}]})})
    response = client.get(f"/v1/pixel.gif?{query}")
    assert response.status_code == 400 and response.data.startswith(b"GIF89a")
    assert "not accepted" in response.headers["X-Clicktrail-Error"]
    body = {"site_id": "nosuch", "events": [page_view()]}
    unknown = client.get("/v1/pixel.gif?" + urlencode({"j": json.dumps(body)}))
    assert unknown.status_code == 403 and unknown.data.startswith(b"GIF89a")
    assert "unknown site" in unknown.headers["X-Clicktrail-Error"]


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        (
            "s=nosuch&e=page_view&eid=019ab4f1-0001-7000-8000-000000000001&ct=1764000001000&url=x",
            403,
            "unknown site",
        ),
        ("e=page_view", 400, "site id"),
        ("s=shop&e=page_view&eid=bad&ct=1764000001000&url=x", 400, "event_id"),
    ],
)
def test_pixel_errors_still_answer_a_gif(client, query, status, error):
    response = client.get(f"/v1/pixel.gif?{query}")
    assert response.status_code == status
    assert response.content_type == "image/gif"
    assert error in response.headers["X-Clicktrail-Error"]


def test_trusted_proxy_forwarded_for(tmp_path, log_reader):
    import ipaddress

    engine = make_engine(tmp_path, "redis", trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    app = create_app(engine.settings)
    reader = app.extensions["clicktrail"].event_log.reader("test", "c1")
    post(
        app.test_client(),
        {"site_id": "shop", "events": [page_view()]},
        headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.44"},
    )
    [record] = read_records(reader, 1)
    assert record.ip == "198.51.100.44"
    reader.close()


def metric(client, line_start: str) -> float:
    """The value of the sample whose line starts with ``line_start`` (0 when absent)."""
    for line in client.get("/metrics").data.decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_health_ready_and_metrics(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"event_log": "ok", "state": "ok"}
    names = (
        "clicktrail_collector_events_accepted_total",
        'clicktrail_collector_events_rejected_total{reason="event_id"}',
        'clicktrail_collector_requests_total{endpoint="/v1/events",status="202"}',
        "clicktrail_collector_log_ack_seconds_count",
    )
    before = {name: metric(client, name) for name in names}
    post(client, {"site_id": "shop", "events": [page_view(), page_view(), {"bad": 1}]})
    after = {name: metric(client, name) for name in names}
    assert {name: after[name] - before[name] for name in names} == {
        names[0]: 2,  # two events accepted
        names[1]: 1,  # one refused for its event_id
        names[2]: 1,  # one request answered 202
        names[3]: 1,  # one acknowledgement waited for
    }


def test_state_redis_away_is_not_ready(tmp_path):
    from clicktrail.settings import RedisTarget

    engine = make_engine(tmp_path, "redis")
    client = create_app(engine.settings.replace(state_url=RedisTarget("redis://127.0.0.1:1/0")))
    answer = client.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"] == {"event_log": "ok", "state": "failing"}


def test_unreachable_log_answers_503_never_202(tmp_path):
    engine = make_engine(tmp_path, "redis")
    settings = engine.settings.replace(
        event_log_url=parse_event_log_url("redis://127.0.0.1:1/0?stream=x")
    )
    client = create_app(settings).test_client()
    started = time.monotonic()
    response = post(client, {"site_id": "shop", "events": [page_view()]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 1.0
    assert client.get("/readyz").status_code == 503

    # The pixel's 503 has no image, so the page's image fails and the snippet sends again
    # (an image that loads, whatever its status, is a final answer to it).
    query = urlencode({"j": json.dumps({"site_id": "shop", "events": [page_view()]})})
    pixel = client.get(f"/v1/pixel.gif?{query}")
    assert (pixel.status_code, pixel.data) == (503, b"")
    assert pixel.headers["Retry-After"] == "1"


@pytest.fixture
def limited(engine):
    """A collector with tiny limits, behind a trusted proxy at 127.0.0.1."""
    import ipaddress

    settings = engine.settings.replace(
        collector_rate_limit="3/minute",
        collector_server_rate_limit="2/minute",
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    app = create_app(settings)
    yield app.test_client(), app.extensions["clicktrail"].event_log.reader("test", "c1")
    app.extensions["clicktrail"].event_log.close()


def test_a_browser_address_over_its_limit_gets_429_and_nothing_is_kept(limited):
    client, reader = limited
    behind = {"X-Forwarded-For": "203.0.113.7"}
    sent = [page_view(event_id=str(uuid.uuid4())) for _ in range(4)]
    answers = [post(client, {"site_id": "shop", "events": [e]}, headers=behind) for e in sent]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many requests from this address" in refused.json["error"]
    assert refused.headers["Access-Control-Allow-Origin"] == SHOP  # the snippet reads it
    kept = [e["event_id"] for r in read_records(reader, 3) for e in r.events]
    assert kept == [e["event_id"] for e in sent[:3]]  # the refused one is not in the log

    # The key is the end user's address, not the proxy's: another user behind it goes on...
    other = post(
        client,
        {"site_id": "shop", "events": [page_view()]},
        headers={"X-Forwarded-For": "203.0.113.8"},
    )
    assert other.status_code == 202
    # ...and the pixel shares the address's count: no image, so the snippet sends again.
    pixel = client.get(
        f"/v1/pixel.gif?s=shop&e=page_view&eid={uuid.uuid4()}&ct={int(time.time() * 1000)}&url=x",
        headers={"User-Agent": UA, **behind},
    )
    assert pixel.status_code == 429 and not pixel.data.startswith(b"GIF")
    assert pixel.headers["Retry-After"]


def test_an_address_cannot_escape_its_limit_by_naming_another(engine):
    """X-Forwarded-For from a peer that is not a trusted proxy is the client's own text."""
    app = create_app(engine.settings.replace(collector_rate_limit="2/minute"))
    client = app.test_client()
    statuses = [
        post(
            client,
            {"site_id": "shop", "events": [page_view()]},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(3)
    ]
    assert statuses == [202, 202, 429]
    app.extensions["clicktrail"].event_log.close()


def test_a_server_side_sender_is_limited_by_its_site(limited, engine):
    client, _ = limited
    key = {"X-Clicktrail-Key": engine.write_key}
    statuses = [
        post(client, {"site_id": "shop", "events": [page_view()]}, origin=None, headers=key)
        for _ in range(3)
    ]
    assert [s.status_code for s in statuses] == [202, 202, 429]
    assert "too many requests from this site" in statuses[-1].json["error"]
    # A wrong key is refused as such, and counts against no one's limit.
    wrong = post(
        client,
        {"site_id": "shop", "events": [page_view()]},
        origin=None,
        headers={"X-Clicktrail-Key": "nope"},
    )
    assert wrong.status_code == 403
