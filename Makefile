# The two commands: `make demo` (the whole integration, end to end, on embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
ERP_VENV := .venv-erp
PY := $(VENV)/bin/python
PIP_QUIET ?= -q

.PHONY: demo test test-long stop audit chaos chaos-faults bench bench-quick bench-deps peak-day growth lock venv erp-venv erp-build browser

# EXECUTOR=celery: the same on the CeleryExecutor (PostgreSQL metadata database and warehouse, Redis broker,
# two Celery workers; the settings of docker/airflow-celery.env, which docker-compose.yaml reads too).
EXECUTOR ?= $(or $(DEMO_EXECUTOR),local)
demo: venv erp-venv vendure
	DEMO_EXECUTOR=$(EXECUTOR) $(PY) -m sandbox.demo up

stop:
	@if [ -x $(PY) ]; then $(PY) -m sandbox.demo down; else echo "nothing to stop (no $(VENV))"; fi

# Audit the running demo's ERP and store with code of its own (tests/support/audit.py): orders missing or
# booked twice, levels off what the ERP allows, products outside the web shop's assortment. Exit 1 on any.
audit: venv
	$(PY) -m tests.support.audit $(AUDIT_ARGS)

# `make chaos`: first each fault alone, with its figures (sandbox/chaos_faults.py: recovery time, orders
# missing / booked twice, inventory overwritten, per fault), then the demo trading for CHAOS_MINUTES (60)
# under mixed store faults, ERP outages and Airflow restarts, then audited (sandbox/chaos.py). On the
# executor of `make demo` (EXECUTOR=celery: the worker kills and the PostgreSQL restart apply too).
# The Shopify store alone: its faults and audit are the Shopify emulator's (the demo it builds on too).
CHAOS_MINUTES ?= 60
CHAOS_RESTARTS ?= 3
CHAOS_ARGS ?=
FAULTS_ARGS ?=
chaos chaos-faults: export DEMO_VENDURE = 0
chaos chaos-faults: export DEMO_EXECUTOR := $(EXECUTOR)
chaos: demo
	$(PY) -m sandbox.chaos_faults $(FAULTS_ARGS)
	$(PY) -m sandbox.chaos --minutes $(CHAOS_MINUTES) --restarts $(CHAOS_RESTARTS) $(CHAOS_ARGS)

# Only the faults one at a time (some 40 minutes; FAULTS_ARGS="--faults erp_down --fault-s 60" for fewer).
chaos-faults: demo
	$(PY) -m sandbox.chaos_faults $(FAULTS_ARGS)

# Two workers (pytest-xdist), each test file on one of them with an ERP, a store and an Airflow (or a demo)
# of its own: the tests mostly wait on one busy trytond, so the second core halves the time (measured: the
# flow tests 854 -> 470 s). TEST_WORKERS=0: one after the other.
TEST_WORKERS ?= 2
XDIST = $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)
test: venv erp-venv browser vendure
	$(PY) -m sandbox.tryton build
	$(PY) -m pytest -m "not long" $(XDIST) $(PYTEST_ARGS)

# The tests marked `long` (minutes each, e.g. the sandbox ERP built from scratch on PostgreSQL), kept out
# of `make test` so that it stays under 45 minutes; CI runs them after it, but for those marked
# `sandbox_build` (LONG_TESTS="long and not sandbox_build": CI's 90 minutes).
LONG_TESTS ?= long
test-long: venv erp-venv browser vendure
	$(PY) -m sandbox.tryton build
	$(PY) -m pytest -m "$(LONG_TESTS)" $(XDIST) $(PYTEST_ARGS)

# Benchmarks against the real sandbox systems -> bench/results.json, bench/report.md and its charts.
# See README "Benchmarks" for how long it takes (most of it the first full publish of 104,490 SKUs);
# bench-quick under 5 minutes.
bench: venv erp-venv bench-deps
	$(PY) -m sandbox.tryton build
	$(PY) -m bench $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

# A peak day (issue 17): a sale's burst of orders and 2% of the catalog changing per hour, at once, on the
# CeleryExecutor (PostgreSQL and Redis on this machine) -> bench/results.json (peak_day), bench/report.md
# and bench/chart-peak-day.png. The issue's 100k catalog and 3,000 orders in 10 minutes by default (the ERP
# grown once under var/bench; its first publish is set-up); PEAK_ARGS="--size 10k --quick": ~15 minutes.
PEAK_ARGS ?= --size 100k
peak-day: venv erp-venv bench-deps
	$(PY) -m sandbox.tryton build
	$(PY) -m bench.peak_day $(PEAK_ARGS)

# The warehouse's growth under the running demo's traffic, projected to a month under the retention
# (on PostgreSQL: make demo EXECUTOR=celery, let the shopper run 20 minutes or more). GROWTH_ARGS="--days 90".
GROWTH_ARGS ?=
growth: venv
	$(PY) -m bench.growth --markdown $(GROWTH_ARGS)

bench-deps: $(VENV)/.bench-installed

$(VENV)/.bench-installed: bench/requirements.txt $(VENV)/.installed
	$(VENV)/bin/pip install $(PIP_QUIET) -r bench/requirements.txt -c constraints.txt
	$(VENV)/bin/pip check
	touch $@

venv: $(VENV)/.installed
erp-venv: $(ERP_VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) --upgrade "pip==26.3"
	$(VENV)/bin/pip install $(PIP_QUIET) -r requirements-dev.txt -c constraints.txt
	$(VENV)/bin/pip install $(PIP_QUIET) --no-deps -e .
	$(VENV)/bin/pip check
	touch $@

# The sandbox ERP (Tryton) lives in its own environment: it is a stand-in for the customer's ERP server,
# never imported by the product.
$(ERP_VENV)/.installed: sandbox/tryton/requirements.txt
	test -x $(ERP_VENV)/bin/python || $(PYTHON) -m venv $(ERP_VENV)
	$(ERP_VENV)/bin/pip install $(PIP_QUIET) --upgrade "pip==26.3"
	$(ERP_VENV)/bin/pip install $(PIP_QUIET) -r sandbox/tryton/requirements.txt
	$(ERP_VENV)/bin/pip check
	touch $@

# The sandbox Vendure store (sandbox/vendure): its npm packages as pinned in package-lock.json, installed
# again only when the lock changes (~1.5-3 min: better-sqlite3 compiles).
.PHONY: vendure
vendure: sandbox/vendure/node_modules/.installed

sandbox/vendure/node_modules/.installed: sandbox/vendure/package-lock.json
	cd sandbox/vendure && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium and its driver: the sync-health page is tested in a real browser.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	echo "installing Debian's chromium and chromium-driver (for the sync-health page test)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y -q chromium chromium-driver >/dev/null \
	  || { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q chromium chromium-driver >/dev/null; } \
	  || { echo "FATAL: cannot install chromium and chromium-driver (run as root or with sudo)" >&2; exit 1; }

erp-build: venv erp-venv
	$(PY) -m sandbox.tryton build

# Re-resolve the pinned set after editing requirements*.txt; commit constraints.txt with it.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install $(PIP_QUIET) --upgrade "pip==26.3"
	.venv-lock/bin/pip install $(PIP_QUIET) -r requirements-dev.txt
	.venv-lock/bin/pip check
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^erpsync' > constraints.txt
	rm -rf .venv-lock
