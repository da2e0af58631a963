"""The campaigns' source of truth, shared by every personalizer process: the durable Redis
(``CLICKTRAIL_STATE_URL``: append-only, noeviction), never the evicting profile Redis.

- ``pz:campaigns:<site>``: hash, campaign id -> the campaign's JSON (as validated);
- ``pz:campaign-sites``: the set of sites with campaigns;
- ``pz:version:campaigns:<site>``: a counter every change of the site increments: running
  processes poll it (``CampaignCache``) and reload that site within a second or two;
- ``pz:campaigns:<site>:history``: a stream of changes (when, by which token, what, the JSON
  before and after), capped at ``HISTORY_LENGTH`` entries so it cannot grow without bound.

A change is applied with its history entry and the version bump in one transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from personalizer.campaigns import Campaign, parse_campaign
from personalizer.versioned import VersionedCache

SITES_KEY = "pz:campaign-sites"
HISTORY_LENGTH = 10_000
MAX_CAMPAIGNS = 1_000  # per site
log = logging.getLogger("clicktrail.personalizer")


class StoreUnavailable(Exception):
    """The durable Redis did not answer; nothing was changed."""


def campaigns_key(site_id: str) -> str:
    return f"pz:campaigns:{site_id}"


def version_key(site_id: str) -> str:
    return f"pz:version:campaigns:{site_id}"


def history_key(site_id: str) -> str:
    return f"pz:campaigns:{site_id}:history"


def _json(campaign: Campaign) -> str:
    return json.dumps(campaign.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


@dataclass
class Plan:
    """What applying a set of campaigns would change on a site."""

    added: list[Campaign] = field(default_factory=list)
    changed: list[tuple[Campaign, Campaign]] = field(default_factory=list)  # (before, after)
    removed: list[Campaign] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        """A human diff, one line per campaign and changed field."""
        out = [f"+ {c.id} ({c.name})" for c in self.added]
        for before, after in self.changed:
            old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
            for name in sorted(set(old) | set(new)):
                if old.get(name) != new.get(name):
                    out.append(f"~ {after.id}.{name}: {old.get(name)!r} -> {new.get(name)!r}")
        out += [f"- {c.id} ({c.name})" for c in self.removed]
        return out


class CampaignStore:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def load(self, site_id: str) -> dict[str, Campaign]:
        """The site's campaigns. A stored campaign that no longer validates is skipped and
        logged (a newer process wrote a field this one does not know)."""
        try:
            stored = self.client.hgetall(campaigns_key(site_id))
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        campaigns = {}
        for campaign_id, text in stored.items():
            try:
                campaign = parse_campaign(json.loads(text))
            except ValueError as exc:
                log.error("campaign %s of %s is not usable: %s", campaign_id, site_id, exc)
                continue
            campaigns[campaign.id] = campaign
        return campaigns

    def sites(self) -> list[str]:
        try:
            members: Any = self.client.smembers(SITES_KEY)
            return sorted(member.decode() for member in members)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def version(self, site_id: str) -> int:
        try:
            return int(self.client.get(version_key(site_id)) or 0)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def ping(self) -> None:
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def plan(self, site_id: str, wanted: Iterable[Campaign], prune: bool = False) -> Plan:
        """What ``apply`` would do. ``prune``: campaigns not in ``wanted`` are removed."""
        current = self.load(site_id)
        plan = Plan()
        seen = set()
        for campaign in wanted:
            if campaign.site_id != site_id:
                raise ValueError(f"campaign {campaign.id} belongs to {campaign.site_id}")
            if campaign.id in seen:
                raise ValueError(f"campaign {campaign.id} is listed twice")
            seen.add(campaign.id)
            before = current.get(campaign.id)
            if before is None:
                plan.added.append(campaign)
            elif _json(before) != _json(campaign):
                plan.changed.append((before, campaign))
            else:
                plan.unchanged.append(campaign.id)
        if prune:
            plan.removed = [c for cid, c in sorted(current.items()) if cid not in seen]
        if len(current) + len(plan.added) - len(plan.removed) > MAX_CAMPAIGNS:
            raise ValueError(f"a site holds at most {MAX_CAMPAIGNS} campaigns")
        return plan

    def apply(self, site_id: str, plan: Plan, actor: str, now_ms: int | None = None) -> int:
        """Write ``plan`` with its history, atomically; the new version (unchanged if empty)."""
        if plan.empty:
            return self.version(site_id)
        at = str(now_ms if now_ms is not None else int(time.time() * 1000))
        pipe = self.client.pipeline(transaction=True)
        entries: list[tuple[str, Campaign | None, Campaign | None]] = [
            ("add", None, c) for c in plan.added
        ]
        entries += [("change", before, after) for before, after in plan.changed]
        entries += [("remove", c, None) for c in plan.removed]
        for action, before, after in entries:
            campaign_id = (after or before).id  # type: ignore[union-attr]
            if after is not None:
                pipe.hset(campaigns_key(site_id), campaign_id, _json(after))
            else:
                pipe.hdel(campaigns_key(site_id), campaign_id)
            history: dict[Any, Any] = {
                "at": at,
                "actor": actor,
                "action": action,
                "campaign": campaign_id,
                "before": _json(before) if before else "",
                "after": _json(after) if after else "",
            }
            pipe.xadd(history_key(site_id), dict(history), maxlen=HISTORY_LENGTH, approximate=True)
        pipe.sadd(SITES_KEY, site_id)
        pipe.incr(version_key(site_id))
        try:
            return int(pipe.execute()[-1])
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def put(self, campaign: Campaign, actor: str) -> Plan:
        """Create or replace one campaign."""
        plan = self.plan(campaign.site_id, [campaign])
        plan.unchanged = []
        self.apply(campaign.site_id, plan, actor)
        return plan

    def history(self, site_id: str, count: int = 100) -> list[dict[str, Any]]:
        """The latest changes, newest first."""
        try:
            entries: Any = self.client.xrevrange(history_key(site_id), count=count)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [
            {key.decode(): value.decode() for key, value in fields.items()} for _, fields in entries
        ]


class CampaignCache:
    """Each site's campaigns in memory (``VersionedCache``): a change reaches every process
    within ``poll_seconds``; the last campaigns stay while the store is away."""

    def __init__(
        self,
        store: CampaignStore,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cache: VersionedCache[dict[str, Campaign]] = VersionedCache(
            "campaign",
            lambda site_id: self._store.version(site_id),
            lambda site_id: self._store.load(site_id),
            (StoreUnavailable,),
            poll_seconds,
            clock,
        )

    def site(self, site_id: str) -> dict[str, Campaign]:
        return self._cache.get(site_id) or {}

    def refresh(self, force: bool = False) -> None:
        self._cache.refresh(force)
