"""The dead-letter record: what could not be processed, why, and the bytes to replay it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from clicktrail.contract import jsontext
from clicktrail.contract.event import SCHEMA_VERSION


@dataclass(frozen=True)
class DeadLetter:
    stage: str  # "collector" or "pipeline"
    reason: str  # readable: what was wrong
    failed_at: int  # UTC ms
    payload: str  # the original bytes as text (UTF-8, invalid bytes replaced)
    site_id: str | None = None
    source: str | None = None  # where the payload came from, e.g. "kafka:events/3@1042"
    schema: int = SCHEMA_VERSION

    def encode(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes) -> DeadLetter:
        data = jsontext.loads(payload)
        if not isinstance(data, dict):
            raise jsontext.JsonError("a dead letter must be a JSON object")
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    @classmethod
    def of(
        cls,
        stage: str,
        reason: str,
        failed_at: int,
        payload: bytes,
        site_id: str | None = None,
        source: str | None = None,
    ) -> DeadLetter:
        return cls(stage, reason, failed_at, payload.decode("utf-8", "replace"), site_id, source)
