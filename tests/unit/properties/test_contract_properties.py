"""The event contract on any input: bytes, JSON, envelopes and pixel queries give a batch or a
clear ``EnvelopeError``/``ValueError``, never another exception; valid envelopes round-trip."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from clicktrail.contract import fastcheck, jsontext
from clicktrail.contract.envelope import (
    MAX_EVENTS,
    EnvelopeError,
    parse_batch,
    parse_event,
)
from clicktrail.contract.event import Event
from clicktrail.contract.pixel import PIXEL_KEYS, event_from_query
from tests.unit.properties.strategies import IDS, MS, TEXT, json_values, valid_events

ENVELOPE_KEYS = st.sampled_from(["schema", "site_id", "sent_at", "linker", "events"])


def dumps(value: Any, ascii: bool = False) -> bytes:
    """JSON as a client sends it: UTF-8 (a lone surrogate as invalid UTF-8), or ASCII with
    every non-ASCII character escaped (a lone surrogate as a valid ``\\ud800`` escape)."""
    return json.dumps(value, ensure_ascii=ascii).encode("utf-8", "surrogatepass")


def check_batch(body: bytes) -> None:
    """``parse_batch`` answers a batch whose events and rejections partition the sent list,
    or refuses the whole request with an HTTP status of 400 or 413."""
    try:
        batch = parse_batch(body)
    except EnvelopeError as exc:
        assert exc.status in (400, 413)
        assert str(exc)
        return
    indices = sorted([index for index, _ in batch.events] + [r.index for r in batch.rejected])
    assert indices == list(range(len(indices)))
    assert len(batch.events) <= MAX_EVENTS
    for rejection in batch.rejected:
        assert rejection.reason
    for _, event in batch.events:
        event.to_record()


@given(st.binary(max_size=300))
def test_any_bytes(body):
    check_batch(body)


@given(json_values(), st.booleans())
def test_any_json(value, ascii):
    check_batch(dumps(value, ascii))


@given(json_values(ENVELOPE_KEYS | st.text(max_size=8)))
def test_any_json_with_envelope_keys(value):
    check_batch(dumps(value))


@given(
    site_id=IDS,
    schema=st.integers(-2, 4) | st.just(None),
    events=st.lists(
        valid_events() | json_values(st.sampled_from(list(Event.model_fields)) | st.text()),
        min_size=1,
        max_size=6,
    ),
)
def test_envelopes_of_any_events(site_id, schema, events):
    body: dict[str, Any] = {"site_id": site_id, "events": events}
    if schema is not None:
        body["schema"] = schema
    check_batch(dumps(body))
    check_batch(dumps(body, ascii=True))


@given(st.lists(valid_events(), min_size=1, max_size=5), IDS, MS)
def test_valid_envelopes_round_trip(events, site_id, sent_at):
    batch = parse_batch(
        dumps({"schema": 2, "site_id": site_id, "sent_at": sent_at, "events": events})
    )
    assert not batch.rejected, batch.rejected
    assert [index for index, _ in batch.events] == list(range(len(events)))
    assert (batch.site_id, batch.sent_at) == (site_id, sent_at)
    for (_, event), sent in zip(batch.events, events, strict=True):
        record = event.to_record()
        for name in ("event_id", "event_type", "created_at"):
            assert record[name] == sent[name]
        unknown = {name: value for name, value in sent.items() if name not in Event.model_fields}
        assert record.get("context", {}) == unknown
        # the record, sent again, is the same record: the log's records validate as events
        again = parse_event(json.loads(json.dumps(record)), site_id)
        assert again.to_record() == record


@given(valid_events() | json_values(st.sampled_from(list(Event.model_fields)) | st.text()))
def test_the_fast_path_never_accepts_what_the_model_refuses(raw):
    if isinstance(raw, dict) and fastcheck.accepts(raw):
        Event.model_validate(raw)


@given(
    st.dictionaries(
        st.sampled_from([*PIXEL_KEYS, "s", "st", "_ct", "p.colour", "other"]) | st.text(max_size=6),
        TEXT,
        max_size=8,
    )
)
def test_any_pixel_query(query):
    try:
        site_id, _, raw = event_from_query(query)
    except EnvelopeError as exc:
        assert exc.status == 400
        return
    assert site_id
    try:
        parse_event(raw, site_id)
    except ValueError as exc:
        assert str(exc)


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_json_text_is_a_value_or_a_json_error(data):
    with contextlib.suppress(jsontext.JsonError):
        jsontext.loads(data)


@given(st.integers(min_value=1, max_value=200))
def test_json_text_refuses_deep_nesting_clearly(depth):
    text = "[" * depth + "]" * depth
    try:
        jsontext.loads(text)
    except jsontext.JsonError:
        assert depth > jsontext.MAX_DEPTH
    else:
        assert depth <= jsontext.MAX_DEPTH
