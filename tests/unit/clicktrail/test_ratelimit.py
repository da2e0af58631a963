"""Rate limits: the notation, counting per key, the wait it names, the address keys."""

from __future__ import annotations

import pytest

from clicktrail.serving.ratelimit import RateLimiter, address_key, parse_limit


@pytest.mark.parametrize("text", ["", "off", "OFF", "  "])
def test_off(text):
    assert parse_limit(text) == ()
    limiter = RateLimiter(text)
    assert not limiter.enabled
    assert all(limiter.hit("address", "1.2.3.4") is None for _ in range(1000))


@pytest.mark.parametrize("text", ["ten per minute", "5/fortnight", "-1/second", "5/second;x"])
def test_a_bad_limit_says_what_is_expected(text):
    with pytest.raises(ValueError, match="50/second"):
        parse_limit(text)


def test_windows_of_a_limit():
    assert [(i.amount, i.get_expiry()) for i in parse_limit("20/second;600/minute")] == [
        (20, 1),
        (600, 60),
    ]


def test_each_key_counts_for_itself_and_the_wait_is_named():
    limiter = RateLimiter("3/minute")
    assert [limiter.hit("address", "1.2.3.4") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("address", "1.2.3.4")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("address", "1.2.3.5") is None  # another address
    assert limiter.hit("site", "1.2.3.4") is None  # another kind of key


def test_the_tighter_window_decides():
    limiter = RateLimiter("100/minute;2/hour")
    assert limiter.hit("site", "s") is None and limiter.hit("site", "s") is None
    assert limiter.hit("site", "s") > 60  # the hour's window: wait far beyond a minute


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same subscriber
        ("::ffff:203.0.113.7", "203.0.113.7"),  # a v4 client on a v6 socket
        ("not an address", "not an address"),
        ("", ""),
    ],
)
def test_address_keys(address, key):
    assert address_key(address) == key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_refills_steadily_and_refusals_do_not_count():
    clock = Clock()
    limiter = RateLimiter("3/minute", clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]  # a burst of a window
    assert limiter.hit("a") == 20  # one request's worth comes back every 20 s
    clock.now += 10
    assert limiter.hit("a") == 10  # refused again: the refusals did not push it further
    clock.now += 10
    assert limiter.hit("a") is None and limiter.hit("a") == 20
    clock.now += 60
    assert [limiter.hit("a") for _ in range(4)] == [None, None, None, 20]  # full again


def test_keys_whose_windows_refilled_are_forgotten():
    from clicktrail.serving import ratelimit

    clock = Clock()
    limiter = RateLimiter("10/second", clock=clock)
    for n in range(ratelimit.PRUNE_EVERY - 1):
        limiter.hit("address", str(n))
    assert len(limiter._arrivals) == ratelimit.PRUNE_EVERY - 1
    clock.now += 1
    limiter.hit("address", "last")  # the sweep runs on this hit, before counting it
    assert list(limiter._arrivals) == [("address", "last")]
