"""Rebuilds profiles from the event store: Redis only holds state derived from it."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from pipelines.profiles.aggregate import Row
from pipelines.profiles.sink import ApplyResult, ProfileSink


def rebuild(
    rows: Iterable[Row],
    sink: ProfileSink,
    *,
    sites: Iterable[str] = (),
    batch_rows: int = 10_000,
) -> ApplyResult:
    """Clear ``sites``' profiles, then apply ``rows`` through the sink without watermarks.

    Every aggregate but two is order-free; identity links and co-view pairs follow the order of
    each visitor's rows, so give rows in the order they were logged: ``ORDER BY received_ms,
    created_ms, event_id`` over the whole site (not visitor by visitor: a merge moves history
    between visitors), deduplicated like the reports count them (copies left in are counted
    once anyway, as live). Run it with the site's workers stopped after a clean shutdown, so
    the event store holds exactly the committed records: the rebuilt profiles carry no
    watermark. They remember each visitor's last ``event_ids_kept`` events, in the order given,
    so a record a worker replays afterwards counts again only if its events are older.
    """
    for site_id in sites:
        sink.clear_site(site_id)
    total = ApplyResult()
    stream = iter(rows)
    while chunk := list(islice(stream, batch_rows)):
        # one record per row, so the sink can cut before a replacement like it does live
        result = sink.apply([(None, [row]) for row in chunk])
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(result, name))
    return total
