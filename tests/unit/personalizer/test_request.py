"""The decision request's parsing: types are taken as they are written, never coerced (a
``false`` is not 0 offers, a ``"4"`` not four), with the field named in the refusal."""

from __future__ import annotations

import pytest

from personalizer.request import RequestError, parse_body, parse_query, parse_request


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("offers", False),
        ("offers", "4"),
        ("offers", 4.5),
        ("explain", 1),
        ("explain", "true"),
        ("consent", "yes"),
        ("placements", "top"),
        ("visitor_id", 7),
    ],
)
def test_a_value_of_another_type_is_refused_with_its_field(field, value):
    with pytest.raises(RequestError, match=f"^{field}"):
        parse_request({"site_id": "shop", field: value})


def test_well_typed_requests_parse():
    wanted = parse_body(
        b'{"site_id": "shop", "offers": 4, "explain": true, "consent": false,'
        b' "placements": ["top"], "page": {"url": "https://shop.example.test/"}}'
    )
    assert (wanted.offers, wanted.explain, wanted.consent) == (4, True, False)
    assert wanted.placements == ["top"]


def test_the_query_string_form_converts_its_text_first():
    wanted = parse_query({"site_id": "shop", "offers": "4", "explain": "1", "placements": "a,b"})
    assert (wanted.offers, wanted.explain, wanted.placements) == (4, True, ["a", "b"])
    with pytest.raises(RequestError, match="offers"):
        parse_query({"site_id": "shop", "offers": "four"})
