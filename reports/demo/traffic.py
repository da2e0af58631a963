"""The demo's simulated history, sent through the collector so it lands on its own days.

``clicktrail simulate --collector`` sends each batch with its *simulated* ``sent_at``; the
collector derives an event's time as ``received_at - (sent_at - created_at)`` (docs/protocol.md,
"Time"), so replayed days would all land on today. A sender replaying history has a right clock:
here each batch is stamped with the real time it is handed to the sender, and its events keep
their simulated days (the dashboard then shows a few days, not one)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from clicktrail.simulator.batching import Batch
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.sender import SenderOptions, SendSummary, send_batches
from clicktrail.simulator.simulation import SimulationConfig, run_simulation


def restamped(batches: Iterable[Batch], now_ms: Callable[[], int]) -> Iterator[Batch]:
    """Each batch as sent now: ``sent_at`` the sender's clock, the events as they were."""
    for batch in batches:
        envelope = json.loads(batch.body)
        envelope["sent_at"] = sent_at = now_ms()
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        yield Batch(sent_at, batch.visitor_id, batch.event_count, body)


def history(
    site_id: str, visitors: int, days: int, seed: int, today: dt.date, geoip_db: Path
) -> list[Batch]:
    """``days`` whole simulated UTC days ending yesterday, as the simulator makes them."""
    config = SimulationConfig(
        seed=seed,
        visitors=visitors,
        days=days,
        start=today - dt.timedelta(days=days),
        site_id=site_id,
    )
    networks = load_network_pool(geoip_db, seed)
    return run_simulation(config, networks, load_user_agents()).batches


def replay(batches: list[Batch], collector: str, write_key: str) -> SendSummary:
    """POST them to ``collector`` with the simulator's sender, each stamped as it goes."""
    options = SenderOptions(collector, write_key, concurrency=4)
    return send_batches(restamped(batches, lambda: int(time.time() * 1000)), options)
