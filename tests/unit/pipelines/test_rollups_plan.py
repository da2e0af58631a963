"""Which days the rollup step builds, waits for, or leaves alone; site-local day bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

from clicktrail.sites.model import Site
from pipelines.steps.rollups_plan import plan
from pipelines.warehouse.rollups import day_bounds, local_today

SITES = {
    "tehran": Site("tehran", timezone="Asia/Tehran", retention_days=30),
    "la": Site("la", timezone="America/Los_Angeles"),
}


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_a_day_closes_at_the_sites_own_midnight():
    # 20:29 UTC on 6 January is 23:59 in Tehran (+3:30): the 6th is still open there.
    now = at("2025-01-06T20:29:00")
    chosen = plan({("tehran", date(2025, 1, 6)), ("la", date(2025, 1, 5))}, SITES.get, now)
    assert chosen.wait == {("tehran", date(2025, 1, 6))}
    assert chosen.build == (("la", date(2025, 1, 5)),)
    # A minute later it is the 7th in Tehran; in Los Angeles (-8) the 6th is still going on.
    later = plan({("tehran", date(2025, 1, 6)), ("la", date(2025, 1, 6))}, SITES.get, now + 120)
    assert later.build == (("tehran", date(2025, 1, 6)),)
    assert later.wait == {("la", date(2025, 1, 6))}


def test_days_older_than_the_retention_are_never_built_again():
    now = at("2025-03-01T12:00:00")
    days = {("tehran", date(2025, 1, 29)), ("tehran", date(2025, 1, 30)), ("la", date(2024, 3, 1))}
    chosen = plan(days, SITES.get, now)
    assert chosen.expired == {("tehran", date(2025, 1, 29))}  # 31 days before 1 March
    assert chosen.build == (("la", date(2024, 3, 1)), ("tehran", date(2025, 1, 30)))


def test_an_unknown_site_counts_in_utc():
    chosen = plan({("gone", date(2025, 1, 6))}, SITES.get, at("2025-01-06T23:59:00"))
    assert chosen.wait == {("gone", date(2025, 1, 6))}


def test_day_bounds_follow_the_zone_and_daylight_saving():
    start, end = day_bounds(date(2025, 1, 6), "Asia/Tehran")
    assert start == int(at("2025-01-05T20:30:00") * 1000)
    assert end - start == 86_400_000
    start, end = day_bounds(date(2025, 3, 9), "America/Los_Angeles")  # clocks go forward
    assert start == int(at("2025-03-09T08:00:00") * 1000)
    assert end - start == 23 * 3_600_000
    assert local_today("America/Los_Angeles", at("2025-01-07T07:59:00")) == date(2025, 1, 6)
