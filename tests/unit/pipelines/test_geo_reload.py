"""GeoLocator picks up a new database at the same path without a restart (pipelines/enrich/geo.py).

Two small databases from tests/geoip_db.py that place 81.2.69.0/24 in London and in Paris; a
hand-driven clock stands for ``time.monotonic``."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

import pipelines.enrich.geo as geo_module
from clicktrail.settings import Settings
from pipelines.enrich import GeoLocator
from tests.geoip_db import SMALL_GEOIP_NETWORKS, _city_record, write_small_geoip_db

IP = "81.2.69.142"
PARIS = _city_record("FR", "France", "EU", "Paris", 48.8566, 2.3522, "Europe/Paris")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _replace(path: Path, networks: dict | None = None, content: bytes | None = None) -> None:
    """As geoipupdate does: write beside the file, then rename over it."""
    staged = path.with_name(path.name + ".new")
    if content is None:
        write_small_geoip_db(staged, networks or SMALL_GEOIP_NETWORKS)
    else:
        staged.write_bytes(content)
    os.replace(staged, path)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_small_geoip_db(tmp_path / "city.mmdb")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_new_file_is_used_after_the_check_interval(db: Path, clock: Clock):
    with GeoLocator(db, check_seconds=30, clock=clock) as geo:
        assert geo.locate(IP).city == "London"  # cached from here on
        _replace(db, {**SMALL_GEOIP_NETWORKS, "81.2.69.0/24": PARIS})
        clock.now += 29
        assert geo.locate(IP).city == "London"  # not yet looked at
        clock.now += 1
        located = geo.locate(IP)
        assert (located.country, located.city) == ("FR", "Paris")  # the old answer not cached
        assert geo.reloads == 1
        assert geo.locate("126.0.0.1").country == "JP"  # the rest of the new file


def test_no_stat_between_checks(db: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch):
    calls = []
    real = geo_module.file_identity
    monkeypatch.setattr(geo_module, "file_identity", lambda p: calls.append(p) or real(p))
    with GeoLocator(db, check_seconds=10, clock=clock) as geo:
        calls.clear()
        for _ in range(1000):
            geo.locate(IP)
            clock.now += 0.001  # 1 s in all
        assert calls == []
        clock.now += 10
        geo.locate(IP)
        geo.locate(IP)
        assert len(calls) == 1  # one stat per interval, however many lookups


def test_unchanged_file_is_not_reopened(db: Path, clock: Clock):
    with GeoLocator(db, check_seconds=5, clock=clock) as geo:
        for _ in range(3):
            clock.now += 5
            geo.locate(IP)
        assert geo.reloads == 0
        assert geo.cache_stats().hits == 2  # one cache throughout


@pytest.mark.parametrize(
    "content",
    [b"", b"not a MaxMind database at all" * 100],
    ids=["empty", "garbage"],
)
def test_a_broken_file_keeps_the_old_reader_and_says_why(
    db: Path, clock: Clock, caplog: pytest.LogCaptureFixture, content: bytes
):
    with GeoLocator(db, check_seconds=1, clock=clock) as geo:
        _replace(db, content=content)
        clock.now += 1
        with caplog.at_level(logging.WARNING, logger="pipelines.enrich.geo"):
            assert geo.locate(IP).city == "London"
            clock.now += 1
            assert geo.locate("126.0.0.1").country == "JP"  # the old reader still answers
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, "a broken file is reported once, not at every check"
        assert str(db) in warnings[0].getMessage()
        assert "cannot be used" in warnings[0].getMessage()
        assert geo.reloads == 0
        # A good file afterwards is taken.
        _replace(db, {**SMALL_GEOIP_NETWORKS, "81.2.69.0/24": PARIS})
        clock.now += 1
        assert geo.locate(IP).city == "Paris"
        assert geo.reloads == 1


def test_a_database_of_another_kind_is_refused(
    db: Path, clock: Clock, caplog: pytest.LogCaptureFixture
):
    import mmdb_writer
    import netaddr

    writer = mmdb_writer.MMDBWriter(
        ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True
    )
    writer.insert_network(netaddr.IPSet(["81.2.69.0/24"]), {"autonomous_system_number": 1})
    staged = db.with_name("asn.mmdb")
    writer.to_db_file(str(staged))
    with GeoLocator(db, check_seconds=1, clock=clock) as geo:
        os.replace(staged, db)
        clock.now += 1
        with caplog.at_level(logging.WARNING, logger="pipelines.enrich.geo"):
            assert geo.locate(IP).city == "London"
        assert "a City database is needed" in caplog.text


def test_a_removed_file_keeps_the_old_reader(
    db: Path, clock: Clock, caplog: pytest.LogCaptureFixture
):
    with GeoLocator(db, check_seconds=1, clock=clock) as geo:
        db.unlink()
        clock.now += 1
        with caplog.at_level(logging.WARNING, logger="pipelines.enrich.geo"):
            assert geo.locate(IP).city == "London"
            clock.now += 1
            geo.locate(IP)
        assert caplog.text.count("the loaded one stays") == 1
        write_small_geoip_db(db, {**SMALL_GEOIP_NETWORKS, "81.2.69.0/24": PARIS})
        clock.now += 1
        assert geo.locate(IP).city == "Paris"


def test_zero_never_checks(db: Path, clock: Clock):
    with GeoLocator(db, check_seconds=0, clock=clock) as geo:
        _replace(db, {**SMALL_GEOIP_NETWORKS, "81.2.69.0/24": PARIS})
        clock.now += 10**9
        assert geo.locate(IP).city == "London"


def test_lookups_from_threads_during_a_swap_see_one_database(db: Path, clock: Clock):
    paris_db = {**SMALL_GEOIP_NETWORKS, "81.2.69.0/24": PARIS}
    with GeoLocator(db, check_seconds=0.5, clock=clock) as geo:
        seen: set[str] = set()
        errors: list[BaseException] = []
        start = threading.Barrier(5)

        def look() -> None:
            start.wait()
            try:
                for i in range(2000):
                    seen.add(geo.locate(f"81.2.69.{i % 250}").city)
            except BaseException as exc:  # pragma: no cover - what the test is for
                errors.append(exc)

        threads = [threading.Thread(target=look) for _ in range(4)]
        for thread in threads:
            thread.start()
        start.wait()
        for _ in range(3):
            _replace(db, paris_db)
            clock.now += 1
        for thread in threads:
            thread.join()
        assert errors == []
        assert seen <= {"London", "Paris"}
        clock.now += 1
        assert geo.locate(IP).city == "Paris"


def test_the_settings_default_is_the_locators():
    assert Settings.from_env({}).geoip_check_seconds == geo_module.DEFAULT_CHECK_SECONDS


def test_a_negative_interval_is_refused(db: Path):
    with pytest.raises(ValueError, match="check_seconds"):
        GeoLocator(db, check_seconds=-1)
