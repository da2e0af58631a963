"""The profile sink: writes visitor deltas to the profile Redis, exactly once per record.

One ``EVALSHA`` of ``apply.lua`` per visitor delta, all of a batch in one pipeline: one round
trip per batch. The script checks and advances the visitor's watermark in the same atomic
step as the update, so a batch replayed after a crash changes nothing it already applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import NoScriptError

from pipelines.profiles import clients, stored, wire
from pipelines.profiles.aggregate import Batch, Row, VisitorDelta, aggregate
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position

Records = Sequence[tuple[Position | None, Sequence[Row]]]
APPLY_SCRIPT = (Path(__file__).parent / "apply.lua").read_text()
MAX_SPLITS = 3


class ProfileSinkError(RuntimeError):
    """Redis refused an update (the cause is chained); nothing after it was acknowledged."""


@dataclass
class ApplyResult:
    profiles: int = 0  # visitor deltas sent
    events: int = 0  # rows that went into them
    segments_applied: int = 0
    segments_skipped: int = 0  # already applied before a replay
    coview_pairs: int = 0
    round_trips: int = 0


class ProfileSink:
    """Applies batches of enriched rows to the profiles.

    ``apply`` blocks until Redis has answered and raises ``ProfileSinkError`` (or a
    ``redis.ConnectionError``) when it could not apply everything; the caller then retries the
    same batch (or a longer one from the same start) and must not commit before ``apply``
    returned. Batches must come in log order per partition.
    """

    def __init__(self, client: redis.Redis, config: ProfileConfig) -> None:
        """``client`` should not retry on its own (``clients.writer_client`` does not)."""
        self.client = client
        self.config = config
        self._settings = wire.script_settings(config)
        self._sha: str | None = None
        self.round_trips = 0  # since creation, for the benchmark

    @classmethod
    def from_url(
        cls,
        url: str,
        config: ProfileConfig,
        *,
        timeout_s: float = clients.DEFAULT_WRITER_TIMEOUT_S,
        connect_timeout_s: float = clients.DEFAULT_WRITER_CONNECT_TIMEOUT_S,
    ) -> ProfileSink:
        """A sink with its own writer client (``clients.writer_client``)."""
        client = clients.writer_client(
            url, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s
        )
        return cls(client, config)

    def apply(self, batch: Batch) -> ApplyResult:
        """Apply ``(position, rows)`` records; a position of ``None`` skips the watermark."""
        result = ApplyResult()
        before = self.round_trips
        for piece in _pieces(list(batch)):
            self._apply(piece, result)
        result.round_trips = self.round_trips - before
        return result

    def _apply(self, records: Records, result: ApplyResult) -> None:
        deltas = aggregate(records, self.config)
        result.profiles += len(deltas)
        result.events += sum(d.events for d in deltas)
        for _ in range(MAX_SPLITS):
            splits = self._send(deltas, result)
            if not splits:
                return
            # Only after a crash: a delta straddled what an earlier run applied. Send the
            # records after the watermark again; ``aggregate`` is deterministic, so they make
            # the same segments the earlier run would have made for them.
            deltas = [d for delta, mark in splits for d in _after(records, delta, mark, self)]
        raise ProfileSinkError("watermark kept moving under a replayed batch")

    def clear_site(self, site_id: str) -> int:
        """Delete every profile, alias, session set and co-view list of a site."""
        deleted = 0
        for pattern in stored.site_patterns(site_id):
            chunk: list[Any] = []
            for key in self.client.scan_iter(match=pattern, count=1000):
                chunk.append(key)
                if len(chunk) == 1000:
                    deleted += int(self.client.unlink(*chunk))
                    chunk = []
            if chunk:
                deleted += int(self.client.unlink(*chunk))
        return deleted

    def _send(
        self, deltas: Sequence[VisitorDelta], result: ApplyResult
    ) -> list[tuple[VisitorDelta, bytes]]:
        if not deltas:
            return []
        if self._sha is None:
            self._load()
        replies = self._pipeline(deltas)
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:  # the server restarted or its script cache was flushed
            self._load()
            again = self._pipeline([deltas[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        splits = []
        for delta, reply in zip(deltas, replies, strict=True):
            if isinstance(reply, Exception):
                raise ProfileSinkError(f"profile update of {delta.visitor_id} failed") from reply
            if reply[0] == b"split":
                splits.append((delta, reply[1]))
                continue
            result.segments_applied += int(reply[1])
            result.segments_skipped += int(reply[2])
            result.coview_pairs += int(reply[3])
        return splits

    def _pipeline(self, deltas: Sequence[VisitorDelta]) -> list[Any]:
        # evalsha rather than redis-py's Script objects: a pipeline of those first asks
        # SCRIPT EXISTS, a second round trip per batch.
        assert self._sha is not None
        pipe = self.client.pipeline(transaction=False)
        for delta in deltas:
            pipe.evalsha(
                self._sha,
                1,
                stored.visitor_key(delta.site_id, delta.visitor_id),
                delta.site_id,
                delta.partition,
                self._settings,
                wire.encode_delta(delta),
            )
        self.round_trips += 1
        return list(pipe.execute(raise_on_error=False))

    def _load(self) -> None:
        self._sha = str(self.client.script_load(APPLY_SCRIPT))
        self.round_trips += 1


def _pieces(records: Records) -> list[Records]:
    """Cut before each record that replaces a visitor id (a cross-domain link).

    A delta gathers one visitor's rows of the whole batch, which reorders visitors against each
    other. That is harmless for everything but a replacement: whether the replaced visitor
    still owns its profile depends on its own identify events, so a replacement is applied in
    log order against every other visitor. Such records are rare (the first request after a
    cross-domain link), so the extra round trips are too.
    """
    pieces: list[list[tuple[Position | None, Sequence[Row]]]] = [[]]
    for position, rows in records:
        if pieces[-1] and any(_replaces(row) for row in rows):
            pieces.append([])
        pieces[-1].append((position, rows))
    return list(pieces)


def _replaces(row: Row) -> bool:
    replaced = row.get("replaced_visitor_id")
    return bool(replaced) and replaced != row.get("visitor_id")


def _after(
    records: Records,
    delta: VisitorDelta,
    mark: bytes,
    sink: ProfileSink,
) -> list[VisitorDelta]:
    major, minor = stored.decode_watermark(mark.decode())
    after = Position(delta.partition, major, minor)
    kept = [
        (position, [r for r in rows if r["visitor_id"] == delta.visitor_id])
        for position, rows in records
        if position is not None and position.partition == delta.partition and position > after
    ]
    return [
        d
        for d in aggregate(kept, sink.config)
        if (d.site_id, d.visitor_id) == (delta.site_id, delta.visitor_id)
    ]
