"""Caps, pacing, goals and click-through counts, in the durable Redis (``CLICKTRAIL_STATE_URL``:
noeviction, append-only), never in a cookie.

Every key expires with its period, because that Redis also holds the Redis Streams event log
and nothing may grow there without bound:

- ``pz:day:<site>:<campaign>:<YYYYMMDD>``: impressions on the site's day; 2 days.
- ``pz:total:<site>:<campaign>``: impressions in all; the campaign's end + 7 days, else 400
  days after the last impression.
- ``pz:cap:<site>:<campaign>:<visitor>:<period>``: a visitor's impressions in one cap period;
  the period.
- ``pz:ctr:<i|c>:<site>:<campaign>:<creative>``: a creative's impressions, clicks; 90 days
  after the last.
- ``pz:seen:<i|c>:<site>:<decision>:<placement>``: one impression / click counted; 2 days.

An impression or a click is counted once per decision and placement, whatever the retries:
the mark and the increments are one Lua script, atomic in Redis.

A decision reads a visitor's cap counts from Redis every time (a cap is exact), but a
campaign's site-wide counts (today's and all impressions, its creatives' impressions and
clicks: pacing, goals and the bandit's posteriors) at most every ``shared_max_age`` seconds,
in the same round trip as the caps; impressions this process counts are added at once. A
decision of a campaign without a frequency cap whose counts are fresh asks Redis nothing.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from personalizer.campaigns import Campaign
from personalizer.select import CreativeStats, Delivery
from pipelines.profiles.redis_store import direct_command

DAY_SECONDS = 86_400
SEEN_SECONDS = 2 * DAY_SECONDS
CTR_SECONDS = 90 * DAY_SECONDS
OPEN_TOTAL_SECONDS = 400 * DAY_SECONDS
AFTER_END_SECONDS = 7 * DAY_SECONDS


class CountersUnavailable(Exception):
    """The counter store did not answer: serve only what needs no counter."""


_COUNT_IMPRESSION = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('INCR', KEYS[3])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIREAT', KEYS[3], ARGV[4])
else redis.call('EXPIRE', KEYS[3], ARGV[3]) end
redis.call('INCR', KEYS[4]); redis.call('EXPIRE', KEYS[4], ARGV[5])
if KEYS[5] ~= '' then redis.call('INCR', KEYS[5]); redis.call('EXPIRE', KEYS[5], ARGV[6]) end
return 1
"""

_COUNT_CLICK = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


class CounterStore:
    """Thread-safe (the client's pool); every call is one round trip at most, or raises
    ``CountersUnavailable`` within the client's timeout. ``shared_max_age``: how old a
    campaign's site-wide counts may be when a snapshot uses them (0: read every time)."""

    def __init__(
        self,
        client: redis.Redis,
        shared_max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.shared_max_age = shared_max_age
        self._clock = clock
        self._plans: dict[int, _Plan] = {}
        self._impression = client.register_script(_COUNT_IMPRESSION)
        self._click = client.register_script(_COUNT_CLICK)

    def snapshot(
        self,
        site_id: str,
        campaigns: Sequence[Campaign],
        visitor_id: str,
        now: datetime,
        site_time_zone: str,
        uncounted: Sequence[Campaign] = (),
    ) -> tuple[dict[str, Delivery], dict[tuple[str, str], CreativeStats]]:
        """Each campaign's deliveries and each creative's counts: one ``MGET`` of the visitor's
        caps and of the site-wide counts older than ``shared_max_age``, or nothing to ask.
        ``uncounted``: campaigns whose creatives' counts only are wanted (defaults: no caps,
        goals or pacing)."""
        day = _day(now, site_time_zone)
        oldest = self._clock() - self.shared_max_age
        keys: list[str] = []
        stale: list[_Plan] = []
        plans: list[_Plan] = []
        capped: list[int] = []  # indexes into plans of campaigns with a frequency cap
        for campaign in campaigns:
            plan = self._plan(site_id, campaign)
            if campaign.frequency_cap is not None:
                capped.append(len(plans))
                keys.append(cap_key(site_id, campaign, visitor_id, now))
            plans.append(plan)
            if not plan.fresh(day, oldest):
                stale.append(plan)
        for campaign in uncounted:
            plan = self._plan(site_id, campaign)
            plans.append(plan)
            if not plan.fresh(day, oldest):
                stale.append(plan)
        caps = len(keys)
        for plan in stale:
            keys.append(plan.day_prefix + day)
            keys.append(plan.total)
            keys += plan.ctr
        values: Any = ()
        if keys:
            try:
                values = self._mget(keys)
            except redis.RedisError as exc:
                raise CountersUnavailable(str(exc)) from exc
        if stale:
            read_at = self._clock()
            at = caps
            for plan in stale:
                at = plan.remember(day, read_at, values, at)
        deliveries: dict[str, Delivery] = {}
        stats: dict[tuple[str, str], CreativeStats] = {}
        for plan in plans[len(campaigns) :]:
            stats.update(plan.counts[4])
        mine = dict(zip(capped, values[:caps], strict=True))
        for n, plan in enumerate(plans[: len(campaigns)]):
            counts = plan.counts
            stats.update(counts[4])
            if n in mine:
                seen = mine[n]
                deliveries[plan.campaign.id] = Delivery(
                    counts[2], counts[3], int(seen) if seen is not None else 0
                )
            else:
                deliveries[plan.campaign.id] = counts[5]
        return deliveries, stats

    def _plan(self, site_id: str, campaign: Campaign) -> _Plan:
        """A campaign's keys but the day's and the visitor's, and its site-wide counts, made
        once per campaign object (the campaign cache hands out the same objects until the
        campaigns change)."""
        plan = self._plans.get(id(campaign))
        if plan is None or plan.campaign is not campaign or plan.site_id != site_id:
            plan = _Plan(
                campaign,
                site_id,
                day_key(site_id, campaign.id, ""),
                total_key(site_id, campaign.id),
                tuple(_ctr_keys(site_id, campaign)),
                tuple((campaign.id, creative.id) for creative in campaign.creatives),
            )
            if len(self._plans) >= _PLANS:
                self._plans.clear()
            self._plans[id(campaign)] = plan
        return plan

    def _mget(self, keys: list[str]) -> list[Any]:
        return direct_command(self.client, "MGET", *keys)

    def count_impression(
        self,
        site_id: str,
        campaign: Campaign,
        creative_id: str,
        placement: str,
        visitor_id: str,
        decision_id: str,
        now: datetime,
        site_time_zone: str,
    ) -> bool:
        """Count one impression of a decision's placement; False if it was counted before."""
        day = _day(now, site_time_zone)
        cap = campaign.frequency_cap
        end = campaign.schedule.end
        keys = [
            seen_key("i", site_id, decision_id, placement),
            day_key(site_id, campaign.id, day),
            total_key(site_id, campaign.id),
            ctr_key(site_id, campaign.id, creative_id, "i"),
            cap_key(site_id, campaign, visitor_id, now) if cap else "",
        ]
        # After its end (a week's grace for late impressions), and never in the past, which
        # would delete the count at once.
        expire_at = (
            max(int(end.timestamp()) + AFTER_END_SECONDS, int(now.timestamp()) + 2 * DAY_SECONDS)
            if end is not None
            else 0
        )
        args = [SEEN_SECONDS, 2 * DAY_SECONDS, OPEN_TOTAL_SECONDS, expire_at, CTR_SECONDS]
        args.append(cap.seconds if cap else 0)
        counted = bool(self._run(self._impression, keys, args))
        if counted:
            plan = self._plans.get(id(campaign))
            if plan is not None and plan.campaign is campaign and plan.site_id == site_id:
                plan.add_impression(day, creative_id)
        return counted

    def count_click(
        self, site_id: str, campaign_id: str, creative_id: str, placement: str, decision_id: str
    ) -> bool:
        """Count one click of a decision's placement; False if it was counted before."""
        keys = [
            seen_key("c", site_id, decision_id, placement),
            ctr_key(site_id, campaign_id, creative_id, "c"),
        ]
        return bool(self._run(self._click, keys, [SEEN_SECONDS, CTR_SECONDS]))

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.client.close()

    def _run(self, script: object, keys: Iterable[str], args: Iterable[object]) -> object:
        try:
            return script(keys=list(keys), args=list(args))  # type: ignore[operator]
        except redis.RedisError as exc:
            raise CountersUnavailable(str(exc)) from exc


def _ctr_keys(site_id: str, campaign: Campaign) -> list[str]:
    keys = []
    for creative in campaign.creatives:
        keys.append(ctr_key(site_id, campaign.id, creative.id, "i"))
        keys.append(ctr_key(site_id, campaign.id, creative.id, "c"))
    return keys


class _Plan:
    """A campaign's keys, and its site-wide counts as last read (``counts``: the day they are
    of, when read, today's and all impressions, each creative's ``CreativeStats``, and the
    ``Delivery`` of a visitor under no cap), replaced whole so threads share it safely."""

    __slots__ = ("campaign", "site_id", "day_prefix", "total", "ctr", "creatives", "counts")

    def __init__(
        self,
        campaign: Campaign,
        site_id: str,
        day_prefix: str,  # the day key without its day
        total: str,
        ctr: tuple[str, ...],  # impressions, clicks of each creative
        creatives: tuple[tuple[str, str], ...],  # (campaign id, creative id) of each
    ) -> None:
        self.campaign = campaign
        self.site_id = site_id
        self.day_prefix = day_prefix
        self.total = total
        self.ctr = ctr
        self.creatives = creatives
        self.counts: _Counts = ("", float("-inf"), 0, 0, {}, _NOTHING)

    def fresh(self, day: str, oldest: float) -> bool:
        counts = self.counts
        return counts[0] == day and counts[1] > oldest

    def remember(self, day: str, read_at: float, values: Sequence[Any], at: int) -> int:
        """Take the counts from ``values`` at ``at`` (day, total, the creatives' impressions
        and clicks); the index after them."""
        today = int(values[at]) if values[at] is not None else 0
        total = int(values[at + 1]) if values[at + 1] is not None else 0
        at += 2
        stats = {}
        for key in self.creatives:
            shown, clicked = values[at], values[at + 1]
            at += 2
            stats[key] = CreativeStats(
                int(shown) if shown is not None else 0,
                int(clicked) if clicked is not None else 0,
            )
        self.counts = (day, read_at, today, total, stats, Delivery(today, total, 0))
        return at

    def add_impression(self, day: str, creative_id: str) -> None:
        """This process counted one: seen at once, without waiting for the next read."""
        counts = self.counts
        if counts[0] != day:
            return
        today, total = counts[2] + 1, counts[3] + 1
        stats = dict(counts[4])
        key = (self.campaign.id, creative_id)
        seen = stats.get(key, _NO_STATS)
        stats[key] = CreativeStats(seen.impressions + 1, seen.clicks)
        self.counts = (day, counts[1], today, total, stats, Delivery(today, total, 0))


# the day, when read (the clock's seconds), today, total, stats, the uncapped delivery
_Counts = tuple[str, float, int, int, dict[tuple[str, str], CreativeStats], Delivery]
_NOTHING = Delivery()
_NO_STATS = CreativeStats()
_PLANS = 10_000  # campaigns' plans kept; more (many sites, many reloads) starts afresh


def day_key(site_id: str, campaign_id: str, day: str) -> str:
    return f"pz:day:{site_id}:{campaign_id}:{day}"


def total_key(site_id: str, campaign_id: str) -> str:
    return f"pz:total:{site_id}:{campaign_id}"


def cap_key(site_id: str, campaign: Campaign, visitor_id: str, now: datetime) -> str:
    """Fixed periods of the cap's length from the epoch: "3 per 24 h" is 3 per UTC day."""
    assert campaign.frequency_cap is not None
    period = math.floor(now.timestamp()) // campaign.frequency_cap.seconds
    return f"pz:cap:{site_id}:{campaign.id}:{visitor_id}:{period}"


def ctr_key(site_id: str, campaign_id: str, creative_id: str, kind: str) -> str:
    """``kind``: ``i`` impressions or ``c`` clicks."""
    return f"pz:ctr:{kind}:{site_id}:{campaign_id}:{creative_id}"


def seen_key(kind: str, site_id: str, decision_id: str, placement: str) -> str:
    return f"pz:seen:{kind}:{site_id}:{decision_id}:{placement}"


def _day(now: datetime, zone: str) -> str:
    local = now.astimezone(_zone(zone))
    return f"{local.year:04d}{local.month:02d}{local.day:02d}"


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
