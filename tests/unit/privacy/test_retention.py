from datetime import UTC, date, datetime

import pytest

from clicktrail.privacy.retention import cut


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_the_cut_is_the_first_kept_days_start_in_the_sites_zone():
    # 2026-03-10 02:00 UTC is still the 9th in Los Angeles.
    found = cut("shop", 3, "America/Los_Angeles", at("2026-03-10T02:00:00"))
    assert found.first_kept_day == date(2026, 3, 6)
    assert found.before_ms == int(at("2026-03-06T08:00:00") * 1000)  # PST, UTC-8


def test_it_is_the_rollup_steps_rule():
    from datetime import timedelta

    from clicktrail.sites.model import Site
    from pipelines.steps.rollups_plan import plan

    now = at("2026-06-15T12:00:00")
    site = Site("shop", timezone="Asia/Tokyo", retention_days=10)
    found = cut("shop", 10, "Asia/Tokyo", now)
    days = {("shop", found.first_kept_day - timedelta(days=n)) for n in range(-2, 3)}
    expired = plan(days, {"shop": site}.get, now).expired
    assert {day for _, day in expired} == {d for _, d in days if d < found.first_kept_day}


def test_a_retention_below_a_day_is_refused():
    with pytest.raises(ValueError):
        cut("shop", 0, "UTC", 0.0)
