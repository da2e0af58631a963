"""The demo's history is the simulator's, each batch stamped with the time it is sent, so the
collector's derived time (received - (sent - created)) puts every event on its simulated day."""

from __future__ import annotations

import datetime as dt
import json

from clicktrail.settings import Settings
from reports.demo.traffic import history, restamped

TODAY = dt.date(2026, 12, 2)


def test_a_few_days_ending_yesterday_restamped_as_they_go() -> None:
    batches = history("demo", 20, 2, 1, TODAY, Settings.from_env({}).geoip_db)
    clock = iter(range(10**13, 10**13 + len(batches)))
    sent = list(restamped(batches, lambda: next(clock)))
    assert [b.sent_at for b in sent] == list(range(10**13, 10**13 + len(batches)))
    days = set()
    for old, new in zip(batches, sent, strict=True):
        before, after = json.loads(old.body), json.loads(new.body)
        assert after["sent_at"] == new.sent_at and before["sent_at"] == old.sent_at
        assert after["events"] == before["events"]  # created_at and all, as simulated
        assert (new.visitor_id, new.event_count) == (old.visitor_id, old.event_count)
        days |= {
            dt.datetime.fromtimestamp(e["created_at"] / 1000, dt.UTC).date()
            for e in after["events"]
        }
    assert days == {TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)}
