"""The decision's pure pieces: the query string of a signed URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from personalizer.decide import query


@pytest.mark.parametrize(
    "params",
    [
        {"d": "0193b2c4-7a1e-7000-8000-000000000001", "h": "0", "x": "1765000000"},
        {"v": "a b+c", "p": "top/side", "s": "k1.AbC-_~", "c": "ümlaut&=?#%"},
        {"v": "", "r": "\x7f\n"},
    ],
)
def test_the_query_is_what_urlencode_gives(params):
    text = query(params)
    assert text == urlencode(params)
    assert dict(parse_qsl(text, keep_blank_values=True)) == params
