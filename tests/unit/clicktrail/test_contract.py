from __future__ import annotations

import json

import pytest

from clicktrail.contract import linker
from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.envelope import EnvelopeError, parse_batch, parse_event
from clicktrail.contract.event import SCHEMA_VERSION, Event
from clicktrail.contract.pixel import event_from_query
from clicktrail.contract.record import LogRecord, RecordError
from clicktrail.contract.timing import derived_time
from tests.protocol_fixtures import envelope_body, load

EVENTS = load("events.json")
ENVELOPES = load("envelopes.json")["cases"]
LINKER = load("linker.json")
PIXEL = load("pixel.json")


@pytest.mark.parametrize("case", EVENTS["valid"], ids=lambda c: c["name"])
def test_valid_events_validate(case):
    event = parse_event(case["event"], "shop")
    record = event.to_record()
    assert record["event_id"] == case["event"]["event_id"]
    assert record.get("context", {}) == case.get("context", {})


@pytest.mark.parametrize("case", EVENTS["invalid"], ids=lambda c: c["name"])
def test_invalid_events_are_rejected_naming_the_field(case):
    with pytest.raises(ValueError) as error:
        parse_event(case["event"], "shop")
    assert str(error.value).startswith(case["field"]), str(error.value)


@pytest.mark.parametrize("case", ENVELOPES, ids=lambda c: c["name"])
def test_envelopes(case):
    body = envelope_body(case)
    if "accepted" not in case:
        with pytest.raises(EnvelopeError) as error:
            parse_batch(body)
        assert error.value.status == case["status"]
        return
    batch = parse_batch(body)
    assert len(batch.events) == case["accepted"]
    assert [r.index for r in batch.rejected] == case["rejected"]
    assert all(r.reason for r in batch.rejected)


@pytest.mark.parametrize("case", EVENTS["schema_1"], ids=lambda c: c["name"])
def test_schema_1_events_are_read_as_schema_1(case):
    if "reason" in case:
        with pytest.raises(ValueError) as error:
            parse_event(case["event"], "shop", schema=1)
        assert str(error.value).startswith(case["reason"]), str(error.value)
        return
    record = parse_event(case["event"], "shop", schema=1).to_record()
    assert record["context"] == case["context"]
    assert not {"decision_id", "creative_id", "viewable", "holdout"} & set(record)


def test_schema_2_fields_are_declared_fields_from_schema_2():
    case = next(c for c in EVENTS["valid"] if c["event"].get("viewable") is True)
    record = parse_event(case["event"], "shop", schema=2).to_record()
    assert "context" not in record
    assert (record["decision_id"], record["creative_id"], record["viewable"]) == (
        case["event"]["decision_id"],
        "hero-1",
        True,
    )


def test_rejection_reason_is_readable():
    batch = parse_batch(envelope_body(ENVELOPES[1]))
    assert batch.rejected[0].reason.startswith("event_type: Input should be")


def test_unknown_fields_never_displace_declared_ones():
    raw = {**EVENTS["valid"][0]["event"], "context": {"snowplow": [1]}, "new_field": 2}
    record = parse_event(raw, "shop").to_record()
    assert record["context"] == {"snowplow": [1], "new_field": 2}
    assert record["url"] == raw["url"]


def test_oversized_unknown_fields_are_rejected():
    raw = {**EVENTS["valid"][0]["event"], "blob": "x" * 20000}
    with pytest.raises(ValueError, match="exceed"):
        parse_event(raw, "shop")


def test_json_schema_names_every_event_type():
    schema = Event.model_json_schema()
    assert set(schema["properties"]["event_type"]["enum"]) == {
        "page_view",
        "page_ping",
        "click",
        "product_view",
        "add_to_cart",
        "purchase",
        "identify",
        "banner_impression",
        "banner_click",
        "decision",
        "custom",
    }


@pytest.mark.parametrize("case", LINKER["make"])
def test_linker_is_made_as_documented(case):
    assert (
        linker.make_linker(case["visitor_id"], case["now_s"], case["user_agent"]) == case["value"]
    )


@pytest.mark.parametrize("case", LINKER["hashes"], ids=lambda c: c["input"][:20])
def test_fnv1a32(case):
    assert f"{linker.fnv1a32(case['input']):08x}" == case["fnv1a32"]


@pytest.mark.parametrize("case", LINKER["check"], ids=lambda c: c["name"])
def test_linker_check(case):
    result = linker.check_linker(case["value"], case["user_agent"], case["now_s"])
    assert (result.visitor_id, result.reason) == (case["visitor_id"], case["reason"])


@pytest.mark.parametrize("case", PIXEL["valid"], ids=lambda c: c["name"])
def test_pixel_query(case):
    from urllib.parse import parse_qsl

    site_id, sent_at, raw = event_from_query(dict(parse_qsl(case["query"], keep_blank_values=True)))
    assert (site_id, sent_at, raw) == (case["site_id"], case["sent_at"], case["event"])
    parse_event(raw, site_id)


@pytest.mark.parametrize("case", PIXEL["invalid"], ids=lambda c: c["name"])
def test_pixel_query_invalid(case):
    from urllib.parse import parse_qsl

    with pytest.raises(EnvelopeError):
        event_from_query(dict(parse_qsl(case["query"], keep_blank_values=True)))


@pytest.mark.parametrize("case", load("derived_time.json")["cases"], ids=lambda c: c["name"])
def test_derived_time(case):
    assert (
        derived_time(case["created_at"], case["sent_at"], case["received_at"]) == case["derived_at"]
    )


def test_log_record_round_trip_keeps_newer_fields():
    record = LogRecord(
        site_id="shop",
        visitor_id="v1",
        id_source="cookie",
        received_at=1764000000000,
        events=[parse_event(EVENTS["valid"][0]["event"], "shop").to_record()],
        ip="203.0.113.9",
        user_agent="UA",
        sent_at=1763999999000,
    )
    data = json.loads(record.encode())
    assert data["schema"] == SCHEMA_VERSION
    data["added_in_v2"] = {"x": 1}
    decoded = LogRecord.decode(json.dumps(data).encode())
    assert decoded.extra == {"added_in_v2": {"x": 1}}
    assert json.loads(decoded.encode()) == data
    assert decoded.key == b"shop:v1"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"schema": 1}',
        b'{"schema": "1", "site_id": "s", "visitor_id": "v",'
        b' "id_source": "cookie", "received_at": 1, "events": []}',
    ],
)
def test_log_record_rejects_garbage(payload):
    with pytest.raises(RecordError):
        LogRecord.decode(payload)


def test_dead_letter_keeps_the_bytes():
    letter = DeadLetter.of("pipeline", "not JSON", 1764000000000, b"\xffabc", site_id="shop")
    data = json.loads(letter.encode())
    assert data == {
        "stage": "pipeline",
        "reason": "not JSON",
        "failed_at": 1764000000000,
        "payload": "\ufffdabc",
        "site_id": "shop",
        "source": None,
        "schema": SCHEMA_VERSION,
    }
