"""The event log's disk fills up under traffic: the collector answers 503 (never 202 for an
event that is then lost), and takes 202s again by itself once there is room, without a restart.

The log is the Redis Streams log on a Redis of its own whose data folder is a small tmpfs (the
AOF is where a full disk bites: Redis refuses writes with MISCONF until it can write again).
Needs root to mount the tmpfs; skipped, saying so, where mounting is not allowed."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.settings import RedisTarget, parse_event_log_url
from tests.integration.conftest import Engine, make_engine, own_service
from tests.integration.fault_scale import record
from tests.integration.test_collector_kafka import (
    page_view,
    post,
    read_event_ids,
    running_collector,
)

pytestmark = pytest.mark.redis

OFFSET = ports.port_offset() + 681  # a Redis of this test's own, above the run's ports
DISK_MB = 24
RECOVERY_BOUND = 10.0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    """A file that takes all the room but ``leave_bytes``."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("ab") as out:
        out.write(b"\0" * max(0, free - leave_bytes))
    return filler


def test_a_full_log_disk_means_503_then_recovery_by_itself(small_disk: Path, tmp_path: Path):
    service = own_service(small_disk, "redis-state", OFFSET)
    next(service)
    try:
        url = f"redis://127.0.0.1:{ports.BASE_PORTS['redis_state'] + OFFSET}/0"
        engine = make_engine(tmp_path / "engine", "redis")
        stream = engine.settings.event_log_url.stream
        engine = Engine(
            engine.settings.replace(
                event_log_url=parse_event_log_url(f"{url}?stream={stream}"),
                state_url=RedisTarget(url),
                ack_timeout_ms=1000,
            ),
            engine.write_key,
            engine.data_dir,
        )
        accepted: set[str] = set()
        with running_collector(engine) as base:
            event = page_view()
            assert post(base, [event])[0] == 202
            accepted.add(event["event_id"])

            filler = fill(small_disk, leave_bytes=256 * 1024)
            refused = 0
            for _ in range(2000):  # each batch ~10 KB of AOF: the 256 KB left run out quickly
                batch = [page_view(f"v{n}") for n in range(20)]
                status, body, _ = post(base, batch)
                assert status in (202, 503), (status, body)
                if status == 202:
                    accepted.update(e["event_id"] for e in batch)
                else:
                    refused += 1
                    assert "error" in body or "detail" in body, body
                    if refused >= 5:
                        break
            assert refused >= 5, "the log never refused while its disk was full"

            filler.unlink()
            freed = time.monotonic()
            recovered = None
            while time.monotonic() < freed + RECOVERY_BOUND + 5:
                batch = [page_view("after")]
                status, _, _ = post(base, batch)
                if status == 202:
                    accepted.update(e["event_id"] for e in batch)
                    recovered = time.monotonic() - freed
                    break
                time.sleep(0.2)
            assert recovered is not None and recovered <= RECOVERY_BOUND

        in_log = set(read_event_ids(engine, len(accepted), seconds=20))
        record(
            "event log's disk full",
            disk_mb=DISK_MB,
            batches_refused_503=refused,
            ready_again_s=round(recovered, 2),
            accepted=len(accepted),
            accepted_in_log=len(accepted & in_log),
        )
        assert accepted <= in_log, f"{len(accepted - in_log)} accepted events are not in the log"
    finally:
        next(service, None)
