"""Decision quality (``make bench-quality``): how fast Thompson sampling finds the best
creative, through the personalizer's own selection code.

Bandit: four creatives of one campaign with true click-through rates 1.0 %, 0.8 %, 0.6 % and
0.5 %; 100,000 impressions, each chosen by ``personalizer.select.choose`` from the counts so
far; clicks drawn from the true rates. Reported: the best creative's share of impressions
50,001-100,000, and the regret (clicks lost against always showing the best, in expectation).
Averaged over several seeds.

The offer figures of the issue (HR@10, NDCG@10 against popularity, interest recovery) come
with the simulator's planted personas; they are not measured yet.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, report  # noqa: E402
from personalizer.campaigns import parse_campaign  # noqa: E402
from personalizer.select import CreativeStats, choose  # noqa: E402
from personalizer.visitor import Visitor  # noqa: E402

RATES = {"a": 0.010, "b": 0.008, "c": 0.006, "d": 0.005}


def bandit_run(impressions: int, seed: int) -> tuple[float, float]:
    """(best creative's share of the second half, expected regret in clicks)."""
    campaign = parse_campaign(
        {
            "id": "ad",
            "site_id": "bench",
            "name": "bench",
            "creatives": [
                {
                    "id": cid,
                    "placement": "top",
                    "image_url": f"https://cdn.example.test/{cid}.png",
                    "alt": cid,
                    "landing_url": "https://shop.example.test/",
                    "width": 300,
                    "height": 250,
                }
                for cid in RATES
            ],
        }
    )
    visitor = Visitor("bench", "v", datetime(2026, 1, 1, tzinfo=UTC))
    counts = {cid: [0, 0] for cid in RATES}
    chooser, world = random.Random(seed), random.Random(seed + 10_000)
    best = max(RATES.values())
    regret = 0.0
    best_late = 0
    for n in range(impressions):
        stats = {("ad", cid): CreativeStats(i, c) for cid, (i, c) in counts.items()}
        creative = choose("top", [campaign], visitor, {}, stats, chooser).creative
        assert creative is not None
        counts[creative.id][0] += 1
        counts[creative.id][1] += world.random() < RATES[creative.id]
        regret += best - RATES[creative.id]
        if n >= impressions // 2 and creative.id == "a":
            best_late += 1
    return best_late / (impressions - impressions // 2), regret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impressions", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    runs = [bandit_run(args.impressions, seed) for seed in range(args.seeds)]
    shares, regrets = zip(*runs, strict=True)
    for seed, (share, regret) in enumerate(runs):
        print(f"seed {seed}: best share {share:.3f}, regret {regret:.1f} clicks")
    report(
        "quality",
        [
            Figure("best creative share 50k-100k", statistics.mean(shares), "share", 0.8),
            Figure("regret", statistics.mean(regrets), "clicks", better="lower"),
        ],
    )


if __name__ == "__main__":
    main()
