"""Exact daily rollups for the reports (``pipelines/warehouse/rollups.py``), kept current by
the batches' ``touched_days``.

Steps write in parallel, so while this step sees batch N the warehouse step may still be
inserting N's events. The step therefore builds, at batch N, the closed days that batches
before N touched (the worker finishes writing a batch before it hands the next one over), and
marks N's days in ``rollup_dirty`` for later; at ``close`` (after the last batch was written)
it builds what is left. A day batch N touches again waits (it would be built again at N+1),
for at most ``settle_seconds`` since it was first left to build: a catch-up through a day's
events builds that day once, and a steady trickle of late events still reaches its rollup.

The marks outlive the process: a restarted worker builds what its predecessor marked and
never built. A build replaces the day whole, so building a day twice
is harmless, and a replay that marks a day again only costs one more build.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from clicktrail.sites.model import Site
from pipelines.steps.base import PreparedBatch, SiteDay, WriteStep
from pipelines.steps.rollups_plan import plan
from pipelines.warehouse.rollups import RollupBuilder

log = logging.getLogger("clicktrail.pipeline.rollups")


class RollupStep(WriteStep):
    name = "rollups"

    def __init__(
        self,
        builder: RollupBuilder,
        site_of: Callable[[str], Site | None],
        clock: Callable[[], float] = time.time,
        settle_seconds: float = 60.0,
    ) -> None:
        self.builder = builder
        self._site_of = site_of
        self._clock = clock
        self._settle = settle_seconds
        # touched by batches already written -> when it was first left to build
        self._dirty: dict[SiteDay, float] = {}
        self._marked_open: set[SiteDay] = set()  # open days already marked by this process
        self._loaded = False

    def write(self, batch: PreparedBatch) -> None:
        now = self._clock()
        if not self._loaded:
            # Marks a previous process left unbuilt (its last batches were written).
            for site_day in self.builder.pending():
                self._dirty.setdefault(site_day, now)
            self._loaded = True
        self.build_closed(postpone=batch.touched_days)
        closed = plan(batch.touched_days, self._site_of, now)
        # An open day is marked once per process: every batch of the day would mark it again.
        self.builder.mark(set(closed.build) | (closed.wait - self._marked_open))
        self._marked_open |= closed.wait
        for site_day in batch.touched_days:
            self._dirty.setdefault(site_day, now)

    def build_closed(self, postpone: frozenset[SiteDay] = frozenset()) -> None:
        """Build every closed day touched by a batch already written, but those in
        ``postpone`` that have waited less than ``settle_seconds``. Raises what the warehouse
        raises; the worker then retries the batch, and the days stay to do."""
        now = self._clock()
        chosen = plan(self._dirty, self._site_of, now)
        for site_day in chosen.expired:
            del self._dirty[site_day]
        for site_id, day in chosen.build:
            if (site_id, day) in postpone and now - self._dirty[site_id, day] < self._settle:
                continue
            site = self._site_of(site_id) or Site(site_id)
            built = self.builder.build(site_id, day, site.timezone, sweep=False)
            del self._dirty[site_id, day]
            log.info(
                "rollup %s %s: %d sessions (generation %d)",
                site_id,
                day,
                built.sessions,
                built.generation,
            )
        # The older generations of every day rebuilt here, in one delete a table (a replay
        # touching many days made a mutation per table and day).
        self.builder.sweep()

    def close(self) -> None:
        try:
            self.build_closed()
        except Exception as exc:  # noqa: BLE001 - the marks stay: the next worker builds them
            log.warning("rollups left to the next worker: %r", exc)
