"""The daily salt against the real state Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from clicktrail.secrets.salt import KEY_PREFIX, DailySalts, salt_period
from clicktrail.settings import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def state():
    # database 15 keeps the test's salts away from a running engine's
    client = redis.Redis.from_url(Settings.from_env().state_url.url.rsplit("/", 1)[0] + "/15")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_period_boundaries():
    assert salt_period(at("2026-11-23T03:59:59"), 4) == (
        at("2026-11-22T04:00"),
        at("2026-11-23T04:00"),
    )
    assert salt_period(at("2026-11-23T04:00:00"), 4) == (
        at("2026-11-23T04:00"),
        at("2026-11-24T04:00"),
    )


def test_one_salt_per_period_shared_by_every_process(state):
    now = datetime.now(UTC)
    first, second = DailySalts(state), DailySalts(state)
    salt = first.current(now)
    assert len(salt) == 32
    assert second.current(now) == salt
    assert second.current(now + timedelta(days=1)) != salt


def test_salt_is_random_not_derived_from_the_date(state):
    now = datetime.now(UTC)
    salt = DailySalts(state).current(now)
    state.flushdb()
    assert DailySalts(state).current(now) != salt


def test_previous_salt_is_kept_for_the_grace_then_expires(state):
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = salt_period(now, 0)
    salts = DailySalts(state, rotation_hour=0, grace=timedelta(minutes=30))
    old = salts.current(now)
    just_after = end + timedelta(minutes=5)
    assert salts.matching(just_after) == [salts.current(just_after), old]
    assert salts.matching(end + timedelta(minutes=31)) == [salts.current(just_after)]
    # Redis deletes the old salt itself, at the end of its period plus the grace.
    expires_at = state.expiretime(KEY_PREFIX + start.strftime("%Y%m%dT%H"))
    assert expires_at == int((end + timedelta(minutes=30)).timestamp())
