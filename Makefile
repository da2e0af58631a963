# Clicktrail: `make up` starts the engine on this machine, `make test` runs every test.
# Every service listens on 127.0.0.1; ports shift with CLICKTRAIL_PORT_OFFSET (docs/services.md).

PYTHON ?= python3
# DEMO=1 make up: the demo shop and its data (docs/demo.md); never by default.
ifeq ($(DEMO),1)
export CLICKTRAIL_DEMO = true
endif
SERVICES = scripts/services
# Two installs, each redone when setup.cfg or pyproject.toml changes: what running needs (make
# up, the benchmarks), and on top of it the test and lint tools (make test, make lint).
STAMP = .cache/install-run.stamp
DEV_STAMP = .cache/install-dev.stamp

.PHONY: install install-dev services services-stop status up down test test-unit lint bench \
	bench-simulator bench-collector bench-collector-profile bench-check
.PHONY: snippet snippet-deps test-snippet

# pip's own lines (each package collected, built, installed) are the progress: on a fresh
# machine this is the long part of the first make up.
$(STAMP): setup.cfg pyproject.toml
	@echo "make: pip installs Clicktrail and the packages it runs on (the first time: minutes)"
	$(PYTHON) -m pip install --disable-pip-version-check -e .
	@mkdir -p $(dir $@) && touch $@

$(DEV_STAMP): $(STAMP)
	@echo "make: pip installs the test and lint tools (setup.cfg's extras test and dev)"
	$(PYTHON) -m pip install --disable-pip-version-check -e '.[test,dev]'
	@mkdir -p $(dir $@) && touch $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

services: install
	$(SERVICES) start

services-stop:
	$(SERVICES) stop

# Every service and app; those the settings do not use say "not needed". Exits non-zero only
# when a needed one is not up or a part does not answer.
status:
	@$(SERVICES) status --engine; services=$$?; \
	$(PYTHON) -m clicktrail.services.welcome --no-wait; parts=$$?; \
	if [ $$services -ne 0 ]; then exit $$services; fi; exit $$parts

# Only the services the settings use: on the defaults (Redis Streams, embedded chdb) no Kafka
# broker and no ClickHouse server (`clicktrail config services` says which).
up: install
	$(PYTHON) -m clicktrail.cli config check > /dev/null
	$(SERVICES) start $$($(PYTHON) -m clicktrail.cli config services) collector pipeline personalizer reports
	@if [ "$(DEMO)" = 1 ]; then $(PYTHON) -m reports.demo.seed; fi
	@$(PYTHON) -m clicktrail.services.welcome

down:
	$(SERVICES) stop reports personalizer collector pipeline
	$(SERVICES) stop

# What DEMO=1 make up handed out and a later plain make up keeps: the demo's dashboard account,
# its site and the seed record's write key and password. Its events stay (docs/demo.md).
.PHONY: demo-clean
demo-clean: install
	$(PYTHON) -m clicktrail.services.demo clean

lint: install-dev
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -c 'from importlinter.cli import lint_imports_command; lint_imports_command()'  # the layers (setup.cfg)

test-unit: install-dev
	$(PYTHON) -m pytest tests/unit -q

# pytest exits 5 when it collected no test: that is a failure here, not a pass. The integration
# tests (mostly waiting on services) leave a core idle: the unit tests (no services, CPU) and
# then the browser tests (their own ports and pages; Chromium) run beside them, one after the
# other, so the whole run takes the longer of the two streams, not the sum.
test: lint services snippet-deps dashboard-deps deploy-deps
	@mkdir -p .cache && rm -f .cache/unit-tests.rc .cache/e2e-tests.rc
	( $(PYTHON) -m pytest -q -p no:cacheprovider tests/unit > .cache/unit-tests.log 2>&1; \
	  echo $$? > .cache/unit-tests.rc; \
	  $(PYTHON) -m pytest -q -p no:cacheprovider --durations=10 tests/e2e > .cache/e2e-tests.log 2>&1; \
	  echo $$? > .cache/e2e-tests.rc ) & side=$$!; \
	$(PYTHON) -m pytest -q -p no:cacheprovider --durations=30 --ignore=tests/unit --ignore=tests/e2e; rc=$$?; \
	wait $$side; urc=$$(cat .cache/unit-tests.rc || echo 1); erc=$$(cat .cache/e2e-tests.rc || echo 1); \
	echo "--- unit tests, run beside the others:"; cat .cache/unit-tests.log; \
	echo "--- browser tests, run beside the others after the unit tests:"; cat .cache/e2e-tests.log; \
	if [ $$rc -eq 5 ] || [ $$urc -eq 5 ] || [ $$erc -eq 5 ]; then echo "FAIL: pytest ran no test"; exit 1; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; if [ $$urc -ne 0 ]; then exit $$urc; fi; exit $$erc

.PHONY: bench-enrich
bench: bench-enrich bench-profiles  # before the other prerequisites, so bench-check runs last
bench: bench-snippet
bench: bench-quality
bench: bench-decide
bench: bench-reports
bench: bench-reports-workers
bench: bench-privacy
bench: bench-simulator bench-collector bench-warehouse bench-pipeline bench-ratelimit bench-check

bench-check:
	$(PYTHON) -m bench.check

bench-simulator: install
	$(PYTHON) -m bench.simulator

# The HTTP load generator of the benchmarks that load a served service (Debian's package).
.PHONY: wrk
wrk:
	@command -v wrk > /dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)

bench-collector: install wrk
	$(PYTHON) -m bench.collector

# The same, with py-spy recording one worker per log and the split per step printed.
bench-collector-profile: install wrk
	@command -v py-spy > /dev/null || $(PYTHON) -m pip install --quiet py-spy
	$(PYTHON) -m bench.collector --profile bench/results/collector-profile

bench-enrich: install
	$(PYTHON) -m bench.enrich

# --- the browser snippet (js_snippet/) --------------------------------------------------------
# npm ci from the lockfile (esbuild, terser, playwright-core; never a browser download), and
# Debian's chromium for the browser tests, through the services' apt module.
SNIPPET_STAMP = js_snippet/node_modules/.ci.stamp

$(SNIPPET_STAMP): js_snippet/package.json js_snippet/package-lock.json
	cd js_snippet && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

snippet-deps: install $(SNIPPET_STAMP)
	$(PYTHON) -c "from clicktrail.services import apt; apt.ensure(['chromium'], print)"

snippet: $(SNIPPET_STAMP)
	cd js_snippet && node scripts/build.mjs --check
	cd js_snippet && node scripts/build_personalize.mjs --check

test-snippet: install-dev snippet-deps
	cd js_snippet && node --test test/
	$(PYTHON) -m pytest tests/e2e -q

# The deploy guide's nginx site and Prometheus alert rules are checked by the real tools
# (nginx -t, promtool): Debian's packages, installed without starting a daemon here.
.PHONY: deploy-deps
deploy-deps: install
	$(PYTHON) -c "from clicktrail.services import apt; apt.ensure(['nginx', 'openssl', 'prometheus'], print)"

# --- the dashboard's browser code (reports/dashboard/assets) ----------------------------------
# npm ci from its lockfile (Chart.js, chartjs-chart-matrix, esbuild); `make dashboard-assets`
# rebuilds reports/dashboard/static/dashboard.min.js (committed: the reports service serves it,
# and a test fails when it is not what the lockfile's versions build).
.PHONY: dashboard-deps dashboard-assets
DASHBOARD_STAMP = reports/dashboard/assets/node_modules/.ci.stamp

$(DASHBOARD_STAMP): reports/dashboard/assets/package.json reports/dashboard/assets/package-lock.json
	cd reports/dashboard/assets && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dashboard-deps: install $(DASHBOARD_STAMP)

dashboard-assets: $(DASHBOARD_STAMP)
	cd reports/dashboard/assets && node scripts/build.mjs

.PHONY: bench-profiles bench-warehouse bench-pipeline
bench-profiles: install
	$(PYTHON) -m bench.profiles

# FINAL on 3 and 10 million rows, both engines (about 8 minutes).
bench-warehouse: install
	$(PYTHON) -m bench.warehouse --rows 3000000
	$(PYTHON) -m bench.warehouse --rows 10000000

# One worker over 500,000 simulated events in Kafka, both engines, and lag at 5,000 events/s.
bench-pipeline: install
	$(PYTHON) -m bench.pipeline --events 500000

.PHONY: bench-quality
# Offers on simulated traffic (5,000 people, 14 days, the last 2 held out) against popularity,
# interest recovery, then Thompson sampling on four creatives, 100,000 impressions, five seeds
# (about four minutes).
bench-quality: install
	$(PYTHON) -m bench.quality

.PHONY: bench-snippet
bench-snippet: snippet-deps
	$(PYTHON) -m bench.snippet

.PHONY: bench-decide
# The personalizer under gunicorn loaded by wrk: 200 campaigns, 50,000 products, 100,000 profiles
# (about 5 minutes; the profiles are kept a day in the profile Redis's database 11).
bench-decide: install wrk
	$(PYTHON) -m bench.decide

.PHONY: bench-privacy
# What the pipeline's tombstone filter costs (bench/privacy.py: enrichment bare, behind the
# filter with no tombstone, and with 10,000 tombstones on the site).
bench-privacy: install
	$(PYTHON) -m bench.privacy

.PHONY: bench-ratelimit
# The rate limiters' CPU per request beside the collector's and the decision's (their latest
# bench-collector and bench-decide runs): the share issue 15 bounds at 5 %.
bench-ratelimit: install
	$(PYTHON) -m bench.ratelimit

.PHONY: bench-faults
# The fault table of docs/reliability.md: the fault tests of make test at full size (60 s Kafka
# and ClickHouse outages, 10 SIGKILLs over ~100,000 events, a full log disk; about 10 minutes).
bench-faults: services
	$(PYTHON) -m bench.faults

.PHONY: bench-reports
# Every report's query hot over 10 million simulated events on chdb and the 18.16 server, the
# sales forecast's back-test, and the rollup step's cost to the pipeline (median of 3 runs of
# 200,000 events each way). The simulator makes a million events, each inserted ten times under
# renamed people (--copies): about 10 minutes to load, 2 to build the rollups.
bench-reports: install
	$(PYTHON) -m bench.reports --events 10000000 --copies 10

.PHONY: bench-reports-workers
# Requests a second of the reports service with 1, 2 and 3 gunicorn workers (a dashboard page, two
# API reports) over a million simulated events on the 18.16 server: what reports/gunicorn_conf.py's
# default worker count rests on (about 4 minutes).
bench-reports-workers: install wrk
	$(PYTHON) -m bench.reports_workers

.PHONY: bench-dashboard
# Each dashboard page's server time and largest contentful paint in headless Chromium over 10
# million simulated events on the 18.16 server (loaded as bench-reports loads them).
bench-dashboard: install dashboard-deps
	$(PYTHON) -m bench.dashboard --events 10000000 --copies 10
