# Clicktrail: `make up` starts the engine on this machine, `make test` runs every test.
# Every service listens on 127.0.0.1; ports shift with CLICKTRAIL_PORT_OFFSET (docs/services.md).

PYTHON ?= python3
SERVICES = scripts/services
STAMP = .cache/install.stamp

.PHONY: install services services-stop status up down test test-unit lint bench bench-simulator

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	@mkdir -p $(dir $@) && touch $@

install: $(STAMP)

services: install
	$(SERVICES) start

services-stop:
	$(SERVICES) stop

status:
	$(SERVICES) status

up: services
	$(PYTHON) -m clicktrail.cli config check > /dev/null
	@echo "Clicktrail is up: services running (make status); the collector and pipelines arrive with their issues."

down: services-stop

lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

test-unit: install
	$(PYTHON) -m pytest tests/unit -q

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: lint services
	$(PYTHON) -m pytest -q -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "FAIL: pytest ran no test"; exit 1; fi; exit $$rc

bench: bench-simulator

bench-simulator: install
	$(PYTHON) bench/simulator.py
