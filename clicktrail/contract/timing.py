"""Event time from three clocks: when the device made it, sent it, and the collector got it."""

from __future__ import annotations


def derived_time(created_at: int, sent_at: int | None, received_at: int) -> int:
    """The best estimate of when the event happened, in UTC milliseconds.

    The device clock may be wrong, but the gap between creating and sending an event is
    measured on that one clock, so subtracting it from the collector's receipt time corrects
    the device clock while keeping the real age of events queued offline for days (the way
    Snowplow derives its timestamp). Without a usable send time the receipt time is the
    honest answer. An event never happened after it arrived.
    """
    if sent_at is None or sent_at < created_at:
        return received_at
    return received_at - (sent_at - created_at)
