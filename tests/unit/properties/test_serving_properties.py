"""Text a service puts in a header is a header gunicorn sends: any message, whatever the
client sent in it (found: a control character in X-Clicktrail-Error made gunicorn answer 500)."""

from __future__ import annotations

from gunicorn.http.wsgi import HEADER_VALUE_RE
from hypothesis import given

from clicktrail.serving.answers import header_text
from tests.unit.properties.strategies import ANY_TEXT


@given(ANY_TEXT)
def test_any_message_is_a_valid_header_value(message):
    value = header_text(message)
    assert HEADER_VALUE_RE.fullmatch(value)
    assert len(value) <= 200
    value.encode("latin-1")
