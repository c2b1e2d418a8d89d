# Herald: `make run` starts the dashboard on seeded demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HERALD_DB ?= data/herald.duckdb
export HERALD_DB
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test setup setup-test seed reseed bench clean

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.runtime

setup-test: $(VENV)/.dev
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

seed: setup
	$(PY) -m core seed --db "$(HERALD_DB)" --if-missing

reseed: setup
	$(PY) -m core seed --db "$(HERALD_DB)" --reset

# app.py is the dashboard (streamlit_app.py) and the REST API (/api/v1/) in one st.App.
run: seed
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.headless true \
		--browser.gatherUsageStats false

# DuckDB's bindings print "nanobind: leaked ..." at interpreter exit; it is teardown noise, not a
# test result, so it is dropped to keep pytest's summary the last thing the run prints.
test: setup-test
	@set -o pipefail; $(PY) -m pytest 2>&1 | grep -v -E '^(nanobind: |See https://nanobind| - leaked | - \.\.\. skipped)'

# Each bench prints its table and exits 1 when it misses its target; `-` lets the others still run.
bench: setup-test
	-$(PY) -m bench.bench_seed
	-$(PY) -m bench.bench_audience
	-$(PY) -m bench.bench_run
	-$(PY) -m bench.bench_render
	-$(PY) -m bench.bench_stats
	-$(PY) -m bench.bench_report
	-$(PY) -m bench.bench_api

clean:
	rm -rf $(VENV) artifacts .pytest_cache
