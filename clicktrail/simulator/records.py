"""Simulated batches as the log records the collector would write for a server-side sender,
for loading the event log directly in tests and benchmarks (no HTTP in between)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from clicktrail.contract.envelope import parse_batch
from clicktrail.contract.record import LogRecord
from clicktrail.identity import RequestFacts, build_records
from clicktrail.simulator.batching import Batch
from clicktrail.sites.model import Site


def records_of(
    batches: Iterable[Batch], site: Site, received_delay_ms: int = 300
) -> Iterator[LogRecord]:
    """One record per batch and (ip, user agent), received ``received_delay_ms`` after sending.
    Identity is the sender's visitor id (``id_source`` ``server``), as with a write key."""
    for batch in batches:
        parsed = parse_batch(batch.body)
        if parsed.rejected:
            raise ValueError(f"simulated batch has invalid events: {parsed.rejected[:3]}")
        facts = RequestFacts(site, "", "", None, None, False, False, server_side=True)
        intake = build_records(
            parsed.site_id,
            [event for _, event in parsed.events],
            facts,
            parsed.sent_at,
            batch.sent_at + received_delay_ms,
            salt=lambda: b"simulated",
            new_id=lambda: "unused",
        )
        yield from intake.records
