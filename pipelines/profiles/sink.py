"""The profile sink: writes visitor deltas to the profile Redis, once per record and once per
event.

One ``EVALSHA`` of ``apply.lua`` per visitor delta, all of a batch in one pipeline: one round
trip per batch. The script checks and advances the visitor's watermark in the same atomic
step as the update, so a batch replayed after a crash changes nothing it already applied; and
it checks the delta's event ids against those the visitor applied last, so an event logged
twice (at two positions) counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import NoScriptError

from pipelines.profiles import clients, stored, wire
from pipelines.profiles.aggregate import (
    Batch,
    Row,
    VisitorDelta,
    aggregate,
    event_hash,
    owner,
    replaces,
)
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position

Records = Sequence[tuple[Position | None, Sequence[Row]]]
APPLY_SCRIPT = (Path(__file__).parent / "apply.lua").read_text()
# Sends of one delta: a split, then copies found, then (their removal re-cutting segments) one
# more split at most; one more for slack.
MAX_ROUNDS = 4


class ProfileSinkError(RuntimeError):
    """Redis refused an update (the cause is chained); nothing after it was acknowledged."""


@dataclass
class ApplyResult:
    profiles: int = 0  # visitor deltas sent
    events: int = 0  # rows that went into them (copies left out)
    duplicates: int = 0  # rows left out: their event was counted already (replays included)
    segments_applied: int = 0
    segments_skipped: int = 0  # already applied before a replay
    coview_pairs: int = 0
    round_trips: int = 0


@dataclass(frozen=True)
class _Redo:
    """Why a delta comes back: what the script found, to leave out when it is made again."""

    after: Position | None  # the visitor's watermark: send only records after it
    known: frozenset[bytes]  # event hashes the visitor applied already


class ProfileSink:
    """Applies batches of enriched rows to the profiles.

    ``apply`` blocks until Redis has answered and raises ``ProfileSinkError`` (or a
    ``redis.ConnectionError``) when it could not apply everything; the caller then retries the
    same batch (or a longer one from the same start) and must not commit before ``apply``
    returned. Batches must come in log order per partition. A record at or below the visitor's
    watermark is skipped; an event (``event_id`` and ``created_ms``) seen earlier in the batch,
    or among the visitor id's last ``config.event_ids_kept`` applied events, is not counted
    again.
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
        result.duplicates += sum(d.duplicates for d in deltas)
        redone: dict[tuple[str, str, str], _Redo] = {}
        for _ in range(MAX_ROUNDS):
            answers = self._send(deltas, result)
            if not answers:
                return
            # A delta comes back after a crash (it straddled what an earlier run applied: send
            # the records after the watermark) or when it held copies of events the visitor
            # applied in an earlier batch (send it without them). ``aggregate`` is
            # deterministic, so the records make the same segments an earlier run made.
            deltas = []
            for delta, kind, value in answers:
                key = (delta.site_id, delta.visitor_id, delta.partition)
                redo = redone.get(key, _Redo(None, frozenset()))
                if kind == b"split":
                    major, minor = stored.decode_watermark(value.decode())
                    redo = _Redo(Position(delta.partition, major, minor), redo.known)
                elif kind != b"dup":
                    raise ProfileSinkError(f"unexpected answer {kind!r} for {delta.visitor_id}")
                else:
                    copies = _split_ids(value)
                    result.events -= len(copies)
                    result.duplicates += len(copies)
                    redo = _Redo(redo.after, redo.known | copies)
                redone[key] = redo
                deltas.extend(_again(records, delta, redo, self.config))
        raise ProfileSinkError("a replayed batch kept coming back (watermark or event ids moving)")

    def clear_site(self, site_id: str) -> int:
        """Delete every profile, alias, session set, remembered event ids and co-view list of a
        site."""
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
    ) -> list[tuple[VisitorDelta, bytes, bytes]]:
        """Apply ``deltas``; the ones the script sent back, with its answer (``split`` and the
        watermark, or ``dup`` and the hashes of the copies)."""
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
        answers = []
        for delta, reply in zip(deltas, replies, strict=True):
            if isinstance(reply, Exception):
                raise ProfileSinkError(f"profile update of {delta.visitor_id} failed") from reply
            if reply[0] != b"ok":
                answers.append((delta, bytes(reply[0]), bytes(reply[1])))
                continue
            result.segments_applied += int(reply[1])
            result.segments_skipped += int(reply[2])
            result.coview_pairs += int(reply[3])
        return answers

    def _pipeline(self, deltas: Sequence[VisitorDelta]) -> list[Any]:
        # evalsha rather than redis-py's Script objects: a pipeline of those first asks
        # SCRIPT EXISTS, a second round trip per batch.
        assert self._sha is not None
        pipe = self.client.pipeline(transaction=False)
        with_ids = self.config.event_ids_kept > 0
        for delta in deltas:
            pipe.evalsha(
                self._sha,
                1,
                stored.visitor_key(delta.site_id, delta.visitor_id),
                delta.site_id,
                delta.partition,
                self._settings,
                wire.encode_delta(delta, with_ids),
                wire.encode_ids(delta, with_ids),
                wire.encode_through(delta),
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
        if pieces[-1] and any(map(replaces, rows)):
            pieces.append([])
        pieces[-1].append((position, rows))
    return list(pieces)


def _split_ids(hashes: bytes) -> frozenset[bytes]:
    width = stored.EVENT_ID_BYTES
    return frozenset(hashes[i : i + width] for i in range(0, len(hashes), width))


def _again(
    records: Records, delta: VisitorDelta, redo: _Redo, config: ProfileConfig
) -> list[VisitorDelta]:
    """``delta`` made again from ``records``: only the records after ``redo.after``, without
    the events in ``redo.known`` or at or below ``redo.after`` (applied, so known too)."""
    site, visitor = delta.site_id, delta.visitor_id
    known = set(redo.known)
    kept = []
    for position, rows in records:
        if (position.partition if position is not None else "") != delta.partition:
            continue
        mine = [r for r in rows if owner(r) == (site, visitor)]
        if redo.after is not None and (position is None or position <= redo.after):
            known.update(filter(None, map(event_hash, mine)))
        else:
            kept.append((position, mine))
    return [
        d
        for d in aggregate(kept, config, {(site, visitor): known})
        if (d.site_id, d.visitor_id) == (site, visitor)
    ]
