"""Decision quality (``make bench-quality``): how fast Thompson sampling finds the best
creative, through the personalizer's own selection code.

Bandit: four creatives of one campaign with true click-through rates 1.0 %, 0.8 %, 0.6 % and
0.5 %; 100,000 impressions, each chosen by ``personalizer.select.choose`` from the counts so
far; clicks drawn from the true rates. Reported: the best creative's share of impressions
50,001-100,000, and the regret (clicks lost against always showing the best, in expectation).
Averaged over several seeds.

Offers: simulator traffic with planted personas (40 % of each person's product views
off-persona), the humans' product views, carts and purchases (bots left out by the pipeline's
own user-agent check) through ``personalizer.evaluate``: profiles by the pipeline's
aggregation, offers by ``rank_offers`` on held-out sessions after a time split, against the
most popular products. Reported: ``HR@10 ratio to popularity``, ``NDCG@10`` (and the
baseline's), and ``interest recovery share``: of the visitors with at least 5 product views,
the share whose top interest is one of their persona's categories (and, stricter, the
persona's top category). The personas are read only to score, never to rank, except by the
reference ranking ``persona_oracle``: told each person's planted persona and the simulator's
rules, it shows how far any ranking of the offers could go on this traffic (a ceiling, not a
target; printed and reported beside the offers' figures).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, report  # noqa: E402
from clicktrail.settings import Settings  # noqa: E402
from clicktrail.simulator import difficulty  # noqa: E402
from clicktrail.simulator.devices import load_user_agents  # noqa: E402
from clicktrail.simulator.geography import load_network_pool  # noqa: E402
from clicktrail.simulator.simulation import (  # noqa: E402
    SimulationConfig,
    SimulationResult,
    run_simulation,
)
from personalizer.campaigns import parse_campaign  # noqa: E402
from personalizer.evaluate import (  # noqa: E402
    KINDS,
    View,
    evaluate,
    hit_rank,
    interest_recovery,
    popularity_until,
    time_split,
)
from personalizer.offers import category_cap  # noqa: E402
from personalizer.select import CreativeStats, choose  # noqa: E402
from personalizer.visitor import Visitor  # noqa: E402
from pipelines.enrich.device import DeviceDetector  # noqa: E402
from pipelines.profiles.config import DAY_MS  # noqa: E402

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


def simulated_views(result: SimulationResult) -> list[View]:
    """The product events of a simulation run, as the evaluation reads them; events whose
    user agent the pipeline's enrichment calls a bot are left out, as the warehouse's
    ``is_bot = 0`` leaves them out of popularity and the profiles leave them out."""
    detector = DeviceDetector()
    views = []
    for batch in result.batches:
        for event in json.loads(batch.body)["events"]:
            kind = event["event_type"]
            if kind not in KINDS or detector.detect(event.get("user_agent")).is_bot:
                continue
            visitor, at = event["visitor_id"], event["created_at"]
            if kind == "purchase":
                for item in event["items"]:
                    views.append(View(visitor, item["sku"], "/".join(item["category"]), at, kind))
            else:
                views.append(View(visitor, event["sku"], "/".join(event["category"]), at, kind))
    return views


def planted_interests(result: SimulationResult) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per human visitor id: their persona's categories (names, as events carry them), and
    the persona's top category alone."""
    names = {c["slug"]: c["name"] for c in result.truth["catalog"]["categories"]}
    every, top = {}, {}
    for visitor, truth in result.truth["visitors"].items():
        persona = truth["persona"]
        if truth["is_bot"] or not persona:
            continue
        every[visitor] = {names[slug] for slug in persona}
        top[visitor] = {names[max(persona, key=lambda slug: (persona[slug], slug))]}
    return every, top


def persona_weights(result: SimulationResult) -> dict[str, dict[str, float]]:
    """Per human visitor id: their persona's weights by category name."""
    names = {c["slug"]: c["name"] for c in result.truth["catalog"]["categories"]}
    return {
        visitor: {names[slug]: share for slug, share in truth["persona"].items()}
        for visitor, truth in result.truth["visitors"].items()
        if not truth["is_bot"] and truth["persona"]
    }


# The simulator's rules of navigation (clicktrail/simulator/sessions.py, personas.py): after a
# product page, another product of the same top category ("you may also like") this share of
# the time; otherwise a category picked by the persona: off-persona NOISE_SHARE of the time
# (uniformly), else the session's focus SESSION_FOCUS_SHARE of the time, else by the weights.
ALSO_LIKED_SHARE = 0.4


def persona_oracle(
    views: list[View],
    at_ms: int,
    personas: dict[str, dict[str, float]],
    k: int = 10,
    per_category: int | None = None,
) -> float:
    """Hit rate@k, on the held-out views ``evaluate`` scores, of a reference ranking told
    each person's planted persona and the simulator's rules: the chance of each top category
    next (the page's category, the persona's focus guessed from the session's views, the
    noise) times the product's share of its category's product views before the split, at
    most ``per_category`` of one top category (the decision endpoint's default). Visitors
    without a persona (bots the user-agent check missed) get the most popular products."""
    split = time_split(views, at_ms)
    top_of = {view.sku: view.category.split("/")[0] for view in views}
    counts = Counter(view.sku for view in split.train if view.kind == "product_view")
    ranked: dict[str, list[str]] = defaultdict(list)
    for sku, _ in counts.most_common():
        ranked[top_of[sku]].append(sku)
    total = {top: sum(counts[sku] for sku in skus) for top, skus in ranked.items()}
    categories = sorted(ranked)
    popular = list(popularity_until(split.train, at_ms).overall[:k])
    cap = category_cap(k) if per_category is None else per_category
    noise, focus_share = difficulty.NOISE_SHARE, difficulty.SESSION_FOCUS_SHARE
    hits = cases = 0
    for visitor, sessions in split.held_out.items():
        weights = personas.get(visitor)
        outside = [top for top in categories if weights and top not in weights]
        for session in sessions:
            page, in_session = "", Counter[str]()
            for view in session:
                if view.kind == "product_view" and view.sku != page:
                    if not weights:
                        offers = popular
                    else:
                        guess = {top: w * (1 + 3 * in_session[top]) for top, w in weights.items()}
                        guessed = sum(guess.values())
                        chance = {top: noise / len(outside) for top in outside}
                        for top, w in weights.items():
                            picked = focus_share * guess[top] / guessed + (1 - focus_share) * w
                            chance[top] = (1 - noise) * picked
                        if page:
                            chance = {top: (1 - ALSO_LIKED_SHARE) * p for top, p in chance.items()}
                            chance[top_of[page]] += ALSO_LIKED_SHARE
                        offers = _best_by_chance(chance, ranked, counts, total, k, cap, page)
                    cases += 1
                    hits += hit_rank(offers, view.sku, k) is not None
                if view.kind == "product_view":
                    page = view.sku
                    in_session[top_of[page]] += 1
    return hits / cases if cases else 0.0


def _best_by_chance(
    chance: dict[str, float],
    ranked: dict[str, list[str]],
    counts: Counter[str],
    total: dict[str, int],
    k: int,
    cap: int,
    page: str,
) -> list[str]:
    scored = [
        (chance[top] * counts[sku] / total[top], sku, top)
        for top in chance
        for sku in ranked.get(top, [])[: k + 1]
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    offers: list[str] = []
    per_top: Counter[str] = Counter()
    for _, sku, top in scored:
        if sku == page or per_top[top] >= cap:
            continue
        per_top[top] += 1
        offers.append(sku)
        if len(offers) == k:
            break
    return offers


def offer_figures(
    visitors: int, days: int, held_out_days: int, seed: int
) -> tuple[dict[str, float], float, float, float]:
    """(evaluation figures, interest recovery share, its strict variant, off-persona share)."""
    config = SimulationConfig(seed=seed, visitors=visitors, days=days)
    db = Settings.from_env().geoip_db
    result = run_simulation(config, load_network_pool(db, seed), load_user_agents())
    views = simulated_views(result)
    every, top = planted_interests(result)
    persona_of = {visitor: every[visitor] for visitor in every}
    product_views = [v for v in views if v.kind == "product_view" and v.visitor in persona_of]
    off = sum(v.category.split("/")[0] not in persona_of[v.visitor] for v in product_views)
    at_ms = config.start_ms + (days - held_out_days) * DAY_MS
    evaluation = evaluate(views, at_ms, k=10)
    print(f"offers that hit, by reason: {dict(evaluation.reasons.most_common())}")
    recovery = interest_recovery(views, every)
    strict = interest_recovery(views, top)
    print(
        f"interest recovery: {recovery.recovered}/{recovery.visitors} visitors "
        f"(persona's top category: {strict.recovered}/{strict.visitors})"
    )
    figures = evaluation.figures()
    baseline = figures["HR@10 popularity"]
    for label, cap in (("", None), (", uncapped", 10)):
        oracle = persona_oracle(views, at_ms, persona_weights(result), k=10, per_category=cap)
        figures[f"HR@10 ratio to popularity, persona oracle{label}"] = oracle / baseline
        print(f"persona oracle{label}: HR@10 {oracle:.4f}, {oracle / baseline:.2f} x popularity")
    return figures, recovery.share, strict.share, off / len(product_views)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impressions", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--visitors", type=int, default=5000, help="simulated people")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--held-out-days", type=int, default=2)
    args = parser.parse_args()
    began = time.perf_counter()
    offers, recovery, strict, off_persona = offer_figures(
        args.visitors, args.days, args.held_out_days, seed=1
    )
    print(f"offer evaluation: {time.perf_counter() - began:.1f} s")
    runs = [bandit_run(args.impressions, seed) for seed in range(args.seeds)]
    shares, regrets = zip(*runs, strict=True)
    for seed, (share, regret) in enumerate(runs):
        print(f"seed {seed}: best share {share:.3f}, regret {regret:.1f} clicks")
    report(
        "quality",
        [
            Figure("HR@10 ratio to popularity", offers["HR@10 ratio to popularity"], "x", 2),
            Figure("HR@10", offers["HR@10"], "share"),
            Figure("HR@10 popularity", offers["HR@10 popularity"], "share"),
            Figure("NDCG@10", offers["NDCG@10"], "score"),
            Figure("NDCG@10 popularity", offers["NDCG@10 popularity"], "score"),
            Figure(
                "HR@10 ratio to popularity, returning visitors",
                offers["HR@10 ratio to popularity, returning visitors"],
                "x",
            ),
            Figure(
                "HR@10 ratio to popularity, persona oracle",
                offers["HR@10 ratio to popularity, persona oracle"],
                "x",
            ),
            Figure(
                "HR@10 ratio to popularity, persona oracle, uncapped",
                offers["HR@10 ratio to popularity, persona oracle, uncapped"],
                "x",
            ),
            Figure("held-out views scored", offers["held-out views scored"], "views"),
            Figure(
                "held-out views of returning visitors",
                offers["held-out views of returning visitors"],
                "views",
            ),
            Figure("held-out sessions", offers["held-out sessions"], "sessions"),
            Figure("interest recovery share", recovery, "share", 0.9),
            Figure("interest recovery share, persona's top category", strict, "share"),
            Figure("off-persona share of product views", off_persona, "share", 0.4),
            Figure("best creative share 50k-100k", statistics.mean(shares), "share", 0.8),
            Figure("regret", statistics.mean(regrets), "clicks", better="lower"),
        ],
    )


if __name__ == "__main__":
    main()
