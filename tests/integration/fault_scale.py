"""One fault test, two sizes. `make test` runs the small version (seconds); `make bench-faults`
runs the same test code at the size of docs/reliability.md's table (``BENCH_FAULT_SCALE=full``:
60 s outages, 100,000 events, 10 kills) and collects the figures each test records into
``BENCH_FAULT_REPORT`` (JSON lines)."""

from __future__ import annotations

import json
import os
from typing import TypeVar

T = TypeVar("T")

FULL = os.environ.get("BENCH_FAULT_SCALE") == "full"


def sized(small: T, full: T) -> T:
    return full if FULL else small


def record(fault: str, **figures: float | int | str) -> None:
    """Append this fault's measured figures to the report file, when a benchmark asked."""
    print(f"{fault}: {figures}")
    path = os.environ.get("BENCH_FAULT_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"fault": fault, "full": FULL, **figures}) + "\n")
