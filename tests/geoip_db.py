"""A small GeoIP test database, shared by every test folder (tests/conftest.py imports the
fixtures).

``small_geoip_db`` is a tiny GeoIP2-City-shaped MaxMind DB built with ``mmdb-writer``, so no
test depends on the 2018 GeoLite2 file. Its networks are listed in ``SMALL_GEOIP_NETWORKS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mmdb_writer
import netaddr
import pytest


def _city_record(
    country: str,
    country_name: str,
    continent: str,
    city: str | None,
    latitude: float,
    longitude: float,
    time_zone: str,
    region: tuple[str, str] | None = None,
    postal: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "continent": {"code": continent},
        "country": {"iso_code": country, "names": {"en": country_name}},
        "registered_country": {"iso_code": country, "names": {"en": country_name}},
        "location": {
            "latitude": latitude,
            "longitude": longitude,
            "accuracy_radius": 100,
            "time_zone": time_zone,
        },
    }
    if city is not None:
        record["city"] = {"names": {"en": city}}
    if region is not None:
        record["subdivisions"] = [{"iso_code": region[0], "names": {"en": region[1]}}]
    if postal is not None:
        record["postal"] = {"code": postal}
    return record


# network -> record. Cities are real places; the assignments are made up for tests.
SMALL_GEOIP_NETWORKS: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": _city_record(
        "GB",
        "United Kingdom",
        "EU",
        "London",
        51.5142,
        -0.0931,
        "Europe/London",
        region=("ENG", "England"),
        postal="EC2V",
    ),
    "89.160.20.0/22": _city_record(
        "SE", "Sweden", "EU", "Linköping", 58.4167, 15.6167, "Europe/Stockholm"
    ),
    "216.160.83.56/29": _city_record(
        "US",
        "United States",
        "NA",
        "Milton",
        47.2513,
        -122.3149,
        "America/Los_Angeles",
        region=("WA", "Washington"),
        postal="98354",
    ),
    "24.0.0.0/12": _city_record(
        "US", "United States", "NA", "New York", 40.7128, -74.006, "America/New_York"
    ),
    "91.0.0.0/10": _city_record("DE", "Germany", "EU", "Berlin", 52.52, 13.405, "Europe/Berlin"),
    "126.0.0.0/8": _city_record("JP", "Japan", "AS", "Tokyo", 35.6895, 139.6917, "Asia/Tokyo"),
    "175.16.199.0/24": _city_record(
        "CN", "China", "AS", "Changchun", 43.88, 125.3228, "Asia/Harbin"
    ),
    "200.0.0.0/11": _city_record(
        "BR", "Brazil", "SA", "São Paulo", -23.5475, -46.6361, "America/Sao_Paulo"
    ),
    "1.128.0.0/11": _city_record(
        "AU", "Australia", "OC", None, -33.494, 143.2104, "Australia/Sydney"
    ),
    # Known only to a continent (as satellite providers are): no country, so no location.
    "67.43.156.0/24": {"continent": {"code": "AS"}},
    "2a02:cf40::/32": _city_record("DE", "Germany", "EU", "Berlin", 52.52, 13.405, "Europe/Berlin"),
    "2600:1700::/28": _city_record(
        "US", "United States", "NA", "Dallas", 32.7831, -96.8067, "America/Chicago"
    ),
    "2400:cb00::/32": _city_record("JP", "Japan", "AS", None, 35.69, 139.69, "Asia/Tokyo"),
}


def write_small_geoip_db(
    path: Path, networks: dict[str, dict[str, Any]] = SMALL_GEOIP_NETWORKS
) -> Path:
    writer = mmdb_writer.MMDBWriter(
        ip_version=6,
        database_type="GeoIP2-City",
        languages=["en"],
        description="Clicktrail test database",
        ipv4_compatible=True,
    )
    for network, record in networks.items():
        writer.insert_network(netaddr.IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def small_geoip_db(tmp_path: Path) -> Path:
    """Path of a small GeoIP2 City database (see ``SMALL_GEOIP_NETWORKS``)."""
    return write_small_geoip_db(tmp_path / "small-city.mmdb")


@pytest.fixture(scope="session")
def shared_small_geoip_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same database, built once per test run for module- and session-scoped fixtures."""
    return write_small_geoip_db(tmp_path_factory.mktemp("geoip") / "small-city.mmdb")
