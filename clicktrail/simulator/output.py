"""Files of a simulation run: batches as JSON lines, and the ground truth as one JSON file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from clicktrail.simulator.batching import Batch


def write_batches(path: Path, batches: Iterable[Batch]) -> int:
    """One batch envelope (what would be POSTed) per line; returns the number of lines."""
    count = 0
    with path.open("wb") as out:
        for batch in batches:
            out.write(batch.body)
            out.write(b"\n")
            count += 1
    return count


def read_batches(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_truth(path: Path, truth: dict[str, Any]) -> None:
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
