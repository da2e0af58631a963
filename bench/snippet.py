"""``make bench-snippet``: the browser snippet's size, and its cost in Debian's headless Chromium.

Sizes: ``node scripts/build.mjs`` builds into temporary files and prints raw (esbuild's
unminified bundle), minified and ``gzip -9`` sizes of the core and of the linker file (loaded by
the core only on pages whose init names ``domains``); "as the collector serves it" is the shipped
``js_snippet/dist`` file gzipped at level 9 without a file name, and the bench says if a shipped
file differs from a fresh build.

In the browser, the end-to-end machinery of ``tests/e2e`` runs as in the tests: the driver
(``bench/harness/driver.mjs``, playwright-core), the test pages on real host names over https
(host-resolver rules, a self-signed certificate), the real collector over https writing to a
fresh Redis Streams event log. Each figure comes from a *new visitor* (a fresh browser context
each load: nothing cached, no cookie, the parent-domain probe runs) and a *returning visitor*
(one context: the script from the HTTP cache, ids from cookies).

Time from script execution to first send: an init script defines ``window.ct`` as an accessor
before the page runs; the first read of ``window.ct`` while ``document.currentScript`` is the
snippet (the bundle looks for its stub there right after declaring its functions) records
``performance.now()``. The first send is the Resource Timing entry of the first
``/v1/events`` request, whose ``startTime`` is when ``fetch`` was called. The figure is the
difference, both on the page's own clock, so no driver round trip is in it. The test pages name
``domains``, so the core imports the linker file: the time from the same mark to the end of its
response (Resource Timing ``responseEnd``) is the window in which a pressed link goes without
``_ct``.

Main-thread time per page view: the DevTools Protocol's ``Performance.getMetrics`` counters
``ScriptDuration`` (JavaScript execution, compilation included) and ``TaskDuration`` (every
main-thread task: script, style, layout, network callbacks, storage and cookie IPC), wall time,
read on a blank page of the same origin and again 1 s after the measured page's load event
(nothing polls the page meanwhile: Playwright's own scripts would count as script time; that
the snippet's queue is empty, its page view confirmed, is checked after the reading). The same
page without the snippet's ``<script>`` (the host's stub and its ``ct()`` calls stay) gives the
baseline; the figure is each load's counter minus the baseline's median, so it is the snippet's
own cost: evaluating the bundle (and the linker file), the page view, its send and the
collector's answer. Unload work
(the last engagement ping and its beacon) is not in it.

Figures are medians and 95th percentiles over ``--loads`` page loads (30). Never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository's `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness.browser import (  # noqa: E402
    Browser,
    Collector,
    make_e2e_engine,
    make_tls,
    origin,
    serve_site,
)
from bench.report import Figure, report  # noqa: E402
from clicktrail import services  # noqa: E402
from clicktrail.contract.record import LogRecord  # noqa: E402
from pipelines.eventlog import open_event_log  # noqa: E402

SNIPPET = Path(__file__).resolve().parents[1] / "js_snippet"
SHOP = origin("shop.example.test")
SETTLE_MS = 1000

# Marks the snippet's first look at the page: ``const stub = window[name]`` (name: ``ct``).
PROBE = """(() => {
  let value
  Object.defineProperty(window, 'ct', {configurable: true,
    get() {
      const script = document.currentScript
      if (self.__ctRun === undefined && script && script.src.includes('/v1/clicktrail'))
        self.__ctRun = performance.now()
      return value
    },
    set(v) { value = v }})
})()"""
FIRST_SEND = """(() => {
  const entries = performance.getEntriesByType('resource')
  const send = entries.find((e) => e.name.includes('/v1/events'))
  const linker = entries.find((e) => e.name.includes('/v1/clicktrail-linker'))
  return send && linker && self.__ctRun !== undefined
    ? {ms: send.startTime - self.__ctRun, linker: linker.responseEnd - self.__ctRun} : null
})()"""
QUEUE_EMPTY = "localStorage._ct_q === '[]'"
METRICS = ("ScriptDuration", "TaskDuration")


def sizes() -> tuple[dict[str, int], dict[str, int], bool]:
    """The core's and the linker file's raw/min/gzip (the build's own count) and budget (the
    core's target too), gzip as the collector serves them (Python's zlib), and whether the
    shipped files equal a fresh build."""
    with tempfile.TemporaryDirectory() as folder:
        out, linker_out = Path(folder) / "fresh.js", Path(folder) / "fresh-linker.js"
        numbers = Path(folder) / "sizes.json"
        subprocess.run(
            ["node", "scripts/build.mjs", f"--out={out}", f"--linker-out={linker_out}"]
            + [f"--sizes={numbers}"],
            cwd=SNIPPET,
            check=True,
            capture_output=True,
        )
        built = json.loads(numbers.read_text())
        fresh = out.read_bytes(), linker_out.read_bytes()
    shipped = tuple(
        (SNIPPET / "dist" / name).read_bytes()
        for name in ("clicktrail.min.js", "clicktrail-linker.min.js")
    )
    core = {key: built[key] for key in ("raw", "min", "gzip", "budget", "target")}
    core["served"] = len(gzip.compress(shipped[0], compresslevel=9, mtime=0))
    linker = {key: built["linker"][key] for key in ("raw", "min", "gzip", "budget")}
    linker["served"] = len(gzip.compress(shipped[1], compresslevel=9, mtime=0))
    return core, linker, fresh == shipped


def first_sends(browser: Browser, returning: bool, loads: int) -> list[dict[str, float]]:
    """Milliseconds from the snippet's execution to its first /v1/events request (``ms``) and
    to the linker file's arrival (``linker``: its response's end), per load."""
    values = []
    if returning:
        browser.newContext()
        browser.addInitScript(PROBE)
        browser.goto(f"{SHOP}/warm-up")
        browser.waitForFunction(QUEUE_EMPTY)
    for n in range(loads):
        if not returning:
            browser.newContext()
            browser.addInitScript(PROBE)
        browser.goto(f"{SHOP}/first-send/{n}")
        values.append(browser.waitForFunction(FIRST_SEND))
        browser.waitForFunction(QUEUE_EMPTY)
    return values


def main_thread(browser: Browser, returning: bool, bare: bool, loads: int) -> list[dict]:
    """ScriptDuration and TaskDuration (ms) of one page load and its settling, per load; raises
    if the snippet's page view was not confirmed within the window."""
    values = []
    if returning:
        browser.newContext()
        browser.goto(f"{SHOP}/warm-up")
        browser.waitForFunction(QUEUE_EMPTY)
    for n in range(loads):
        if not returning:
            browser.newContext()
        browser.goto(f"{SHOP}/blank?bare=1")
        browser.cdp("Performance.enable", {"timeDomain": "timeTicks"})
        before = metrics(browser)
        browser.goto(f"{SHOP}/main-thread/{n}" + ("?bare=1" if bare else ""))
        browser.wait(SETTLE_MS)
        after = metrics(browser)
        if not bare and not browser.evaluate(QUEUE_EMPTY):
            raise RuntimeError(f"the page view was not confirmed within {SETTLE_MS} ms")
        values.append({name: (after[name] - before[name]) * 1000 for name in METRICS})
    return values


def metrics(browser: Browser) -> dict[str, float]:
    answer = browser.cdp("Performance.getMetrics")
    return {m["name"]: m["value"] for m in answer["metrics"] if m["name"] in METRICS}


def page_views_on_log(engine, expected: int) -> int:
    """How many page views reached the event log (waits up to 10 s for ``expected``)."""
    log = open_event_log(engine.settings)
    reader = log.reader("bench", "c1")
    seen = 0
    deadline = time.monotonic() + 10
    try:
        while seen < expected and time.monotonic() < deadline:
            for message in reader.read(500, 0.2):
                record = LogRecord.decode(message.payload)
                seen += sum(e["event_type"] == "page_view" for e in record.events)
    finally:
        reader.close()
        log.close()
    return seen


def median_p95(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=30, help="page loads per figure")
    args = parser.parse_args()

    size, linker, fresh = sizes()
    print(f"bundle: raw {size['raw']} B, minified {size['min']} B, gzip -9 {size['gzip']} B")
    print(
        f"linker file: raw {linker['raw']} B, minified {linker['min']} B,"
        f" gzip -9 {linker['gzip']} B"
    )
    if not fresh:
        print("NOTE: js_snippet/dist differs from a fresh build (run `make snippet`)")
    figures = [
        Figure("bundle raw (unminified)", size["raw"], "B", better="lower"),
        Figure("bundle minified", size["min"], "B", better="lower"),
        Figure("bundle gzip -9", size["gzip"], "B", size["target"], "lower"),
        Figure("bundle gzip -9, the build's enforced budget", size["budget"], "B", better="lower"),
        Figure("bundle gzip -9 as the collector serves it", size["served"], "B", better="lower"),
        Figure("linker file raw (unminified)", linker["raw"], "B", better="lower"),
        Figure("linker file minified", linker["min"], "B", better="lower"),
        Figure("linker file gzip -9", linker["gzip"], "B", linker["budget"], "lower"),
        Figure(
            "linker file gzip -9 as the collector serves it", linker["served"], "B", better="lower"
        ),
    ]

    services.start(["redis-state"])
    folder = Path(tempfile.mkdtemp(prefix="clicktrail-bench-snippet-"))
    tls = make_tls(folder)
    (folder / "engine").mkdir()
    engine = make_e2e_engine(folder / "engine")
    collector = Collector(engine, tls[0], tls[1])
    collector.start()
    # The test site's server prints every connection the browser drops; not news here.
    noise = io.StringIO()
    try:
        with serve_site(tls), contextlib.redirect_stderr(noise):
            browser = Browser(tls[2])
            try:
                snippet_loads = 0
                for visitor, returning in (("new visitor", False), ("returning visitor", True)):
                    sends = first_sends(browser, returning, args.loads)
                    snippet_loads += args.loads + returning
                    median, p95 = median_p95([v["ms"] for v in sends])
                    name = f"first send after execution, {visitor}"
                    figures += [
                        Figure(f"{name}: median", median, "ms", better="lower"),
                        Figure(f"{name}: p95", p95, "ms", better="lower"),
                    ]
                    # Links pressed before it are followed without `_ct` (docs/snippet.md).
                    median, p95 = median_p95([v["linker"] for v in sends])
                    name = f"linker file arrived after execution, {visitor}"
                    figures += [
                        Figure(f"{name}: median", median, "ms", better="lower"),
                        Figure(f"{name}: p95", p95, "ms", better="lower"),
                    ]
                    bare = main_thread(browser, returning, True, args.loads)
                    loaded = main_thread(browser, returning, False, args.loads)
                    snippet_loads += args.loads + 2 * returning  # and the warm-ups
                    for metric in METRICS:
                        baseline = statistics.median(v[metric] for v in bare)
                        median, p95 = median_p95([v[metric] - baseline for v in loaded])
                        name = f"main thread {metric}, {visitor}"
                        figures += [
                            Figure(f"{name}: median", median, "ms", better="lower"),
                            Figure(f"{name}: p95", p95, "ms", better="lower"),
                            Figure(f"{name}: page alone, median", baseline, "ms", better="lower"),
                        ]
                browser.closeContext()
            finally:
                browser.close()
    finally:
        collector.stop()
    arrived = page_views_on_log(engine, snippet_loads)
    figures.append(Figure("page views on the event log", arrived, "events"))
    print(f"{arrived} of {snippet_loads} page views with the snippet reached the event log")
    report("snippet", figures)


if __name__ == "__main__":
    main()
