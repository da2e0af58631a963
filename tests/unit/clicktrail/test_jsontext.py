"""Decoding JSON from outside: strict, bounded in depth, never a RecursionError."""

from __future__ import annotations

import json

import pytest

from clicktrail.contract import jsontext
from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.envelope import EnvelopeError, parse_batch
from clicktrail.contract.record import LogRecord, RecordError


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


SHAPES = [nested_arrays, nested_objects]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("depth", [jsontext.MAX_DEPTH + 1, 1_000, 5_000, 60_000])
def test_too_deep_is_a_clear_error(shape, depth):
    with pytest.raises(jsontext.JsonError, match="nested deeper than 64 levels"):
        jsontext.loads(shape(depth))
    with pytest.raises(jsontext.JsonError, match="nested deeper"):
        jsontext.loads(shape(depth).encode())


@pytest.mark.parametrize("shape", SHAPES)
def test_the_limit_itself_is_accepted(shape):
    assert jsontext.loads(shape(jsontext.MAX_DEPTH)) == json.loads(shape(jsontext.MAX_DEPTH))


def test_deep_input_the_fallback_decoder_sees_is_refused_too():
    # A lone surrogate sends the text to the standard library's decoder, which recurses.
    text = '["\\ud800",' + nested_arrays(5_000) + "]"
    with pytest.raises(jsontext.JsonError, match="deep"):
        jsontext.loads(text)


def test_lone_surrogate_escapes_still_decode():
    assert jsontext.loads('{"t": "a\\ud800"}') == {"t": "a\ud800"}


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "[1,", "", "'a'"])
def test_not_json(text):
    with pytest.raises(jsontext.JsonError):
        jsontext.loads(text)


def test_invalid_utf8_names_the_byte():
    with pytest.raises(jsontext.JsonError, match="byte 6"):
        jsontext.loads(b'{"a":"\xff"}')


@pytest.mark.parametrize("shape", SHAPES)
def test_envelope_too_deep_is_a_400(shape):
    for body in (shape(5_000), '{"site_id":"shop","events":[' + shape(5_000) + "]}"):
        with pytest.raises(EnvelopeError) as error:
            parse_batch(body.encode())
        assert error.value.status == 400
        assert "nested deeper than" in str(error.value)


@pytest.mark.parametrize("shape", SHAPES)
def test_record_and_dead_letter_too_deep(shape):
    body = '{"site_id":"s","visitor_id":"v","events":[' + shape(20_000) + "]}"
    with pytest.raises(RecordError, match="nested deeper"):
        LogRecord.decode(body.encode())
    with pytest.raises(jsontext.JsonError):
        DeadLetter.decode(shape(20_000).encode())
