"""Which site-local days the rollup step builds now, and which it never builds again. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from clicktrail.sites.model import Site
from pipelines.steps.base import SiteDay
from pipelines.warehouse.rollups import local_today


@dataclass(frozen=True)
class RollupPlan:
    build: tuple[SiteDay, ...]  # closed days, within retention: build them now, oldest first
    wait: frozenset[SiteDay]  # still open in the site's time zone: built once they close
    expired: frozenset[SiteDay]  # older than the site's retention: their rollup is final


def plan(days: Iterable[SiteDay], site_of: Callable[[str], Site | None], now: float) -> RollupPlan:
    """Sort changed days: a day is closed once the site's own calendar has left it; a day
    older than the site's ``retention_days`` is never recomputed (its raw events may be gone).
    A site missing from the registry keeps UTC and the default retention."""
    build, wait, expired = [], set(), set()
    for site_id, day in days:
        site = site_of(site_id) or Site(site_id)
        today = local_today(site.timezone, now)
        if day >= today:
            wait.add((site_id, day))
        elif day < today - timedelta(days=site.retention_days):
            expired.add((site_id, day))
        else:
            build.append((site_id, day))
    return RollupPlan(tuple(sorted(build, key=_oldest_first)), frozenset(wait), frozenset(expired))


def _oldest_first(site_day: SiteDay) -> tuple[date, str]:
    return site_day[1], site_day[0]
