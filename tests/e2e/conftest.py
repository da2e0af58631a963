"""Fixtures of the browser tests; the machinery is ``bench/harness/browser.py``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.browser import (
    CHROMIUM,
    Browser,
    Collector,
    EventLogReader,
    SiteHandler,
    make_e2e_engine,
    make_tls,
    serve_site,
)
from bench.harness.engine import Engine
from pipelines.eventlog import open_event_log


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> tuple[Path, Path, str]:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    # The collector's 50 ms acknowledgement bound answers 503 now and then on a busy two-core
    # machine running Chromium too; a 503 is retried later, but a beacon's is lost for that
    # page. The snippet's retries have their own tests (the outage); here, a generous bound.
    return make_e2e_engine(tmp_path)


@pytest.fixture
def collector(engine: Engine, tls) -> Iterator[Collector]:
    server = Collector(engine, tls[0], tls[1])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def event_log(engine: Engine):
    log = open_event_log(engine.settings)
    reader = log.reader("e2e", "c1")
    yield EventLogReader(reader)
    reader.close()
    log.close()


@pytest.fixture(scope="session")
def site(tls) -> Iterator[type[SiteHandler]]:
    with serve_site(tls) as handler:
        yield handler


@pytest.fixture(scope="session")
def browser_process(tls) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing: run `make snippet-deps` (apt package chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    assert shutil.which("node"), "node is not installed"
    browser = Browser(tls[2])
    yield browser
    browser.close()


@pytest.fixture
def browser(browser_process: Browser, collector, site) -> Iterator[Browser]:
    browser_process.newContext()
    yield browser_process
    # Closed while this test's collector runs: the pages' last beacons must not reach the
    # next test's collector (same port, another event log stream).
    browser_process.closeContext()
