"""A report's period from any since= and until= text: a period within the days events can
have, or a ``ReportError`` (a 400), never another exception (found: a date before 1970 made
ClickHouse refuse the query, a 500; one near year 1 or 9999 overflowed Python's date)."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given
from hypothesis import strategies as st

from reports.query import FIRST_DAY, LAST_DAY, MAX_DAYS, ReportError, parse_period

DATES = st.dates().map(date.isoformat)
RELATIVE = st.integers(0, 99_999).map(lambda n: f"{n}d")
TEXTS = st.none() | DATES | RELATIVE | st.text(max_size=12)


@given(TEXTS, TEXTS, st.dates(FIRST_DAY, LAST_DAY))
@example("3d", "0097-12-11", date(2026, 1, 1))
@example("5d", "0001-01-01", date(2026, 1, 1))
@example(None, "9999-12-31", date(2026, 1, 1))
def test_any_period_is_answerable_or_refused(since, until, today):
    try:
        period = parse_period(since, until, today)
    except ReportError as exc:
        assert str(exc)
        return
    assert period.start <= period.dates()[-1] <= LAST_DAY
    assert period.dates()[-1] >= FIRST_DAY
    assert 1 <= period.days <= MAX_DAYS
