"""Each place of the demo's "browse from" picker is where the bundled GeoIP database puts its
address (the pipeline and the personalizer locate visitors with it)."""

from __future__ import annotations

import geoip2.database
import pytest

from clicktrail.settings import Settings
from reports.demo.places import PLACES, place


@pytest.mark.parametrize("chosen", PLACES, ids=lambda p: p.code)
def test_the_address_of_a_place_is_located_there(chosen) -> None:  # noqa: ANN001
    with geoip2.database.Reader(Settings.from_env({}).geoip_db) as reader:
        assert reader.city(chosen.address).country.iso_code == chosen.code


def test_only_the_pickers_codes_are_places() -> None:
    assert place("DE") is PLACES[0]
    assert place(None) is None
    assert place("") is None
    assert place("de") is None
    assert place("85.214.132.117") is None  # a code, never an address, comes from the browser
