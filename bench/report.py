"""The one result shape every benchmark writes, and the table it prints."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    metric: str
    value: float
    unit: str
    target: float | None = None
    better: str = "higher"  # or "lower"

    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target


def report(bench: str, figures: list[Figure]) -> Path:
    """Print the table and write ``bench/results/<bench>.json``."""
    width = max(len(f.metric) for f in figures)
    print(f"\n{bench} ({os.cpu_count()} cores)")
    for figure in figures:
        verdict = {True: "met", False: "MISSED", None: ""}[figure.meets_target()]
        target = "" if figure.target is None else f"target {figure.target:g}"
        value = f"{figure.value:>12,.2f} {figure.unit:<10}"
        print(f"  {figure.metric:<{width}}  {value} {target} {verdict}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.json"
    document = {"bench": bench, "cores": os.cpu_count(), "figures": [asdict(f) for f in figures]}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
