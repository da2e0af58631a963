"""Loads the shared protocol fixtures (tests/fixtures/protocol), read by the JS tests too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "protocol"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def envelope_body(case: dict[str, Any]) -> bytes:
    """The request body an envelope case describes."""
    if "raw" in case:
        return case["raw"].encode()
    if "raw_hex" in case:
        return bytes.fromhex(case["raw_hex"])
    body = json.loads(json.dumps(case["body"]))
    if "repeat_events" in case:
        body["events"] = body["events"] * case["repeat_events"]
    if "pad_bytes" in case:
        body["padding"] = "x" * case["pad_bytes"]
    return json.dumps(body, ensure_ascii=False).encode()
