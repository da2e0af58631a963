from datetime import date

from pipelines.steps.days import SiteDays

ZONES = {"berlin": "Europe/Berlin", "la": "America/Los_Angeles", "kathmandu": "Asia/Kathmandu"}


def row(site: str, iso_utc: str) -> dict:
    from datetime import datetime

    ms = int(datetime.fromisoformat(iso_utc + "+00:00").timestamp() * 1000)
    return {"site_id": site, "derived_ms": ms}


def test_the_sites_own_midnight_decides_the_day():
    days = SiteDays(ZONES.__getitem__)
    rows = [
        row("berlin", "2026-03-01T22:59:59"),  # 23:59:59 in Berlin
        row("berlin", "2026-03-01T23:00:00"),  # midnight in Berlin: the next day
        row("la", "2026-03-02T07:59:00"),  # still March 1st in Los Angeles
        row("kathmandu", "2026-03-01T18:14:59"),  # +05:45: 23:59:59
        row("kathmandu", "2026-03-01T18:15:00"),  # midnight
    ]
    assert days.touched(rows) == {
        ("berlin", date(2026, 3, 1)),
        ("berlin", date(2026, 3, 2)),
        ("la", date(2026, 3, 1)),
        ("kathmandu", date(2026, 3, 1)),
        ("kathmandu", date(2026, 3, 2)),
    }


def test_daylight_saving_change_and_a_changed_zone():
    zones = {"s": "Europe/Berlin"}
    days = SiteDays(zones.__getitem__)
    # 2026-10-25: Berlin goes from +02:00 to +01:00; 22:30 UTC on the 24th is 00:30 local
    assert days.touched([row("s", "2026-10-24T22:30:00")]) == {("s", date(2026, 10, 25))}
    zones["s"] = "UTC"  # the registry changed: the next batch uses the new zone
    assert days.touched([row("s", "2026-10-24T22:30:00")]) == {("s", date(2026, 10, 24))}


def test_nothing_touched_by_an_empty_batch():
    assert SiteDays(ZONES.__getitem__).touched([]) == frozenset()
