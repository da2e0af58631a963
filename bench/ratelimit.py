"""``make bench-ratelimit``: what the rate limiters cost a request, beside what a request costs.

The limiter is a few microseconds of CPU inside requests that cost a millisecond or more, so
switching it on and off around a loaded server measures noise (``make bench-collector`` does
that too, and says how noisy it was). This measures the limiter itself, as the services call it:
each default limit (two windows) over 4,016 end-user addresses (keys made from the address as
the views make them, ``address_key``), from one thread as the collector's gevent workers call
it, and from 4 threads for the personalizer's gthread workers (their contention for the lock and
the interpreter counted); and puts it beside the CPU per request the latest ``make bench-
collector`` and ``make bench-decide`` runs measured (their JSON in bench/results), as the share
the issue bounds at 5 %.
"""

from __future__ import annotations

import json
import threading
import time

from bench.report import RESULTS, Figure, report
from clicktrail.serving.ratelimit import RateLimiter, address_key
from clicktrail.settings import Settings

ADDRESSES = [f"198.18.{n % 16}.{n % 251 + 1}" for n in range(4016)]
HITS = 200_000


def hit_cost_us(spec: str, threads: int) -> float:
    """CPU µs per hit, all threads together (process time, so waiting is not counted)."""
    limiter = RateLimiter(spec)

    def run(offset: int) -> None:
        for n in range(HITS // threads):
            limiter.hit("address", address_key(ADDRESSES[(n + offset) % len(ADDRESSES)]))

    workers = [threading.Thread(target=run, args=(k * 997,)) for k in range(threads)]
    started = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.process_time() - started) / HITS * 1e6


def measured(bench: str, metric: str) -> float | None:
    path = RESULTS / f"{bench}.json"
    if not path.exists():
        return None
    for figure in json.loads(path.read_text())["figures"]:
        if figure["metric"] == metric:
            return float(figure["value"])
    return None


def main() -> None:
    settings = Settings.from_env({})
    collector_us = hit_cost_us(settings.collector_rate_limit, 1)
    decide_us = hit_cost_us(settings.personalizer_rate_limit, 4)
    off_us = hit_cost_us("off", 1)
    figures = [
        Figure("rate limiter us per collector request", collector_us, "us", None, "lower"),
        Figure("rate limiter us per decision", decide_us, "us", None, "lower"),
        Figure("the loop and address key alone us per request", off_us, "us", None, "lower"),
    ]
    request_us = measured("collector", "collector CPU µs per single request")
    if request_us:
        figures.append(
            Figure(
                "rate limiter share of collector CPU",
                collector_us / request_us,
                "share",
                0.05,
                "lower",
            )
        )
    decision_ms = measured("decide", "server CPU ms per decision")
    if decision_ms:
        figures.append(
            Figure(
                "rate limiter share of decision CPU",
                decide_us / (decision_ms * 1000),
                "share",
                0.05,
                "lower",
            )
        )
    report("ratelimit", figures)
    print(
        f"  beside: collector {request_us} µs a single request, decision {decision_ms} ms of"
        " server CPU (bench/results/collector.json, decide.json: their latest runs)"
    )


if __name__ == "__main__":
    main()
