"""Which requests ``FastCollect`` may read and answer (``body_length``); the rest go to Flask."""

from __future__ import annotations

import pytest

from tracker.views.collect import body_length

LIMIT = 64 * 1024


def environ(**changes) -> dict:
    base = {
        "PATH_INFO": "/v1/events",
        "REQUEST_METHOD": "POST",
        "HTTP_ORIGIN": "https://shop.example.test",
        "CONTENT_LENGTH": "120",
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def test_a_browsers_post_is_read_for_its_length():
    assert body_length(environ(), LIMIT) == 120
    assert body_length(environ(CONTENT_LENGTH=str(LIMIT)), LIMIT) == LIMIT
    assert body_length(environ(CONTENT_LENGTH="0"), LIMIT) == 0  # the view's 400, after parsing
    assert body_length(environ(CONTENT_LENGTH=str(LIMIT + 1)), None) == LIMIT + 1


@pytest.mark.parametrize(
    "changes",
    [
        {"PATH_INFO": "/v1/pixel.gif"},
        {"PATH_INFO": "/v1/events/"},
        {"REQUEST_METHOD": "OPTIONS"},
        {"REQUEST_METHOD": "GET"},
        {"HTTP_ORIGIN": None},  # refused unless a write key: the view says which
        {"HTTP_ORIGIN": ""},
        {"HTTP_X_CLICKTRAIL_KEY": "ctk_x"},  # a server-side sender: the view checks the key
        {"HTTP_TRANSFER_ENCODING": "chunked"},
        {"CONTENT_LENGTH": None},
        {"CONTENT_LENGTH": ""},
        {"CONTENT_LENGTH": "-1"},
        {"CONTENT_LENGTH": "12x"},
        {"CONTENT_LENGTH": "\u00b2"},  # a digit to str.isdigit, not to int()
        {"CONTENT_LENGTH": str(LIMIT + 1)},  # the view's 413
    ],
    ids=repr,
)
def test_anything_else_goes_to_the_view(changes):
    assert body_length(environ(**changes), LIMIT) is None
