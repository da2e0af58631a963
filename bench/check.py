"""Which benchmark targets are met: ``python -m bench.check`` reads bench/results/*.json."""

from __future__ import annotations

import json
import sys

from bench.report import RESULTS, Figure


def main() -> int:
    missed = 0
    for path in sorted(RESULTS.glob("*.json")):
        document = json.loads(path.read_text())
        for item in document["figures"]:
            figure = Figure(**item)
            verdict = figure.meets_target()
            if verdict is None:
                continue
            missed += not verdict
            state = "met   " if verdict else "MISSED"
            print(
                f"{state} {document['bench']}: {figure.metric} = {figure.value:g} {figure.unit}"
                f" (target {figure.target:g}, {figure.better} is better)"
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
