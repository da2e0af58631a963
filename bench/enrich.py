"""``make bench-enrich``: what each enricher costs per event, with and without its cache.

Traffic is the simulator's (Zipf-weighted user agents, visitors returning from the same
networks, search/social/email/campaign arrivals) with IPs sampled from the configured GeoIP
database (the 2018 GeoLite2 City file by default), so the hit rates are those of realistic
traffic, not of distinct strings. Figures:

- ``<step>_us_per_event``: the stream of events through the step as the worker runs it (a fresh
  cache of the default size, so misses are included);
- ``<step>_hit_only_us``: the same stream again, everything cached;
- ``<step>_uncached_per_second``: distinct inputs with no cache (cache_size=0);
- ``device_legacy_uncached_per_second``: ``user_agents.parse`` on distinct strings, the parser
  the native one replaced, and ``device_classification_differences`` against it on the whole
  corpus (docs/enrichment.md explains the few).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository's `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, report  # noqa: E402
from clicktrail.settings import Settings  # noqa: E402
from clicktrail.simulator.devices import load_user_agents  # noqa: E402
from clicktrail.simulator.geography import load_network_pool  # noqa: E402
from clicktrail.simulator.simulation import SimulationConfig, run_simulation  # noqa: E402
from clicktrail.sites.model import Site, UrlRule  # noqa: E402
from pipelines.enrich import (  # noqa: E402
    DeviceDetector,
    GeoLocator,
    Referrer,
    classify_referrer,
    page_fields,
    parse_campaign,
)
from pipelines.enrich import referrer as referrer_module  # noqa: E402
from pipelines.enrich.domains import public_suffix, registrable_domain  # noqa: E402

SITE = Site(
    "demo",
    internal_hosts=("www.demo.example",),
    url_rules=(
        UrlRule("product", r"^/p/(?P<sku>[^/?]+)"),
        UrlRule("category", r"^/c/(?P<category>[^?]+)"),
    ),
)


def per_item_us(function: Callable[[Any], object], items: Sequence[Any]) -> float:
    began = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - began) / len(items) * 1e6


def traffic(visitors: int, days: int, db: Path) -> list[dict[str, Any]]:
    networks = load_network_pool(db, seed=1)
    result = run_simulation(
        SimulationConfig(seed=1, visitors=visitors, days=days), networks, load_user_agents()
    )
    return [event for batch in result.batches for event in json.loads(batch.body)["events"]]


def geo_figures(db: Path, ips: list[str]) -> list[Figure]:
    distinct = list(dict.fromkeys(ips))
    with GeoLocator(db) as geo:
        stream_us = per_item_us(geo.locate, ips)
        stats = geo.cache_stats()
        hit_us = per_item_us(geo.locate, ips)
    with GeoLocator(db, cache_size=0) as geo:
        uncached_us = per_item_us(geo.locate, distinct)
    return [
        Figure("geo_distinct_ips", len(distinct), "ips"),
        Figure("geo_us_per_event", stream_us, "µs", better="lower"),
        Figure("geo_hit_only_us", hit_us, "µs", better="lower"),
        Figure("geo_cache_hit_rate", stats.hit_rate * 100, "%"),
        Figure("geo_uncached_per_second", 1e6 / uncached_us, "lookups/s"),
    ]


def device_figures(user_agents_seen: list[str], corpus: list[str]) -> list[Figure]:
    import user_agents

    detector = DeviceDetector()
    stream_us = per_item_us(detector.detect, user_agents_seen)
    stats = detector.cache_stats()
    hit_us = per_item_us(detector.detect, user_agents_seen)
    native = DeviceDetector(cache_size=0)
    native_us = per_item_us(native.detect, corpus)
    # user_agents.parse goes through ua-parser's legacy API and its small internal cache: a
    # distinct string each time, so that cache never answers.
    legacy_us = per_item_us(user_agents.parse, corpus[::4])
    differences = sum(
        _legacy_class(user_agents.parse(ua)) != native.detect(ua).device_type for ua in corpus
    )
    return [
        Figure("device_distinct_user_agents", len(set(user_agents_seen)), "strings"),
        Figure("device_us_per_event", stream_us, "µs", better="lower"),
        Figure("device_hit_only_us", hit_us, "µs", better="lower"),
        Figure("device_cache_hit_rate", stats.hit_rate * 100, "%"),
        Figure("device_uncached_per_second", 1e6 / native_us, "parses/s"),
        Figure("device_legacy_uncached_per_second", 1e6 / legacy_us, "parses/s"),
        Figure("device_classification_differences", differences, "strings", better="lower"),
        Figure("device_corpus_size", len(corpus), "strings"),
    ]


def _legacy_class(ua: Any) -> str:
    if ua.is_bot:
        return "bot"
    if ua.is_tablet:
        return "tablet"
    if ua.is_mobile:
        return "mobile"
    return "desktop" if ua.is_pc else "other"


def url_figures(events: list[dict[str, Any]]) -> list[Figure]:
    urls = [event["url"] for event in events]
    campaigns = [parse_campaign(url) for url in urls]
    pages = [page_fields(url, SITE) for url in urls]
    triples = [
        (event.get("referrer"), page.host, campaign)
        for event, page, campaign in zip(events, pages, campaigns, strict=True)
    ]

    def classify(triple: tuple[Any, str, Any]) -> Referrer:
        return classify_referrer(triple[0], triple[1], SITE.internal_hosts, triple[2])

    for cached in (referrer_module._known_host, registrable_domain, public_suffix):
        cached.cache_clear()
    referrer_us = per_item_us(classify, triples)
    referrer_hit_us = per_item_us(classify, triples)
    media: dict[str, int] = {}
    for triple in triples:
        medium = classify(triple).medium
        media[medium] = media.get(medium, 0) + 1
    landings = [event for event in events if event.get("referrer") or "utm_" in event["url"]]
    return [
        Figure("campaign_us_per_event", per_item_us(parse_campaign, urls), "µs", better="lower"),
        Figure(
            "page_us_per_event",
            per_item_us(lambda url: page_fields(url, SITE), urls),
            "µs",
            better="lower",
        ),
        Figure("referrer_us_per_event", referrer_us, "µs", better="lower"),
        Figure("referrer_hit_only_us", referrer_hit_us, "µs", better="lower"),
        Figure("referrer_events_with_referrer_or_utm", len(landings) / len(events) * 100, "%"),
        *(
            Figure(f"referrer_medium_{name}", count / len(events) * 100, "%")
            for name, count in sorted(media.items())
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=5000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--geoip-db", type=Path, default=None)
    args = parser.parse_args()
    db = args.geoip_db or Settings.from_env().geoip_db

    events = traffic(args.visitors, args.days, db)
    figures = [Figure("events", len(events), "events")]
    figures += geo_figures(db, [event.get("ip") or "" for event in events])
    figures += device_figures(
        [event.get("user_agent") or "" for event in events], load_user_agents()
    )
    figures += url_figures(events)
    total = sum(f.value for f in figures if f.metric.endswith("_us_per_event"))
    figures += [
        Figure("enrich_us_per_event", total, "µs", better="lower"),
        Figure("enrich_events_per_second", 1e6 / total, "events/s"),
    ]
    report("enrich", figures)


if __name__ == "__main__":
    main()
