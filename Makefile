# Mouachir — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
WAREHOUSE ?= data/warehouse.duckdb
GEO ?= data/geo
HOST ?= 127.0.0.1
PORT ?= 8050
WORKERS ?= 2

.PHONY: run test venv demo bench clean browser

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(WAREHOUSE): | venv
	$(BIN)/python -m etl demo --warehouse $(WAREHOUSE)
	$(BIN)/python -m kpi --warehouse $(WAREHOUSE) compute

# Rebuilds the demo from scratch (regenerated sources reuse the same update times, which an
# incremental load into the old warehouse would rightly take as nothing new).
demo: venv
	rm -f $(WAREHOUSE) $(WAREHOUSE).wal
	$(BIN)/python -m etl demo --warehouse $(WAREHOUSE)
	$(BIN)/python -m kpi --warehouse $(WAREHOUSE) compute

# The figures the app shows are refreshed before it starts (only what new batches touched;
# nothing at all when the warehouse has not changed since the last refresh).
# (the wilayas and one layer of communes per wilaya)
$(GEO)/communes_16.json: dashboards/geo.py | $(WAREHOUSE)
	$(BIN)/python -m dashboards.geo --warehouse $(WAREHOUSE) --out $(GEO)

run: venv $(WAREHOUSE) $(GEO)/communes_16.json
	$(BIN)/python -m kpi --warehouse $(WAREHOUSE) compute
	MOUACHIR_WAREHOUSE=$(WAREHOUSE) MOUACHIR_GEO=$(GEO) $(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) \
		--access-logfile - app:server

# Browser tests drive Debian's Chromium (and need an Arabic font); installed here when missing.
# The accessibility checker axe-core comes from npm (package.json, exact version in package-lock.json).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && apt-get install -y -qq chromium fonts-noto-core >/dev/null; } \
		|| echo "chromium is not installed and cannot be installed here: browser tests will be skipped (and fail under CI=true)"
	@[ -f node_modules/axe-core/axe.min.js ] || { command -v npm >/dev/null 2>&1 && npm ci --no-audit --no-fund; } \
		|| { [ "$$CI" = true ] && { echo "npm ci failed or npm is missing: axe-core is needed under CI=true"; exit 1; }; } \
		|| echo "npm is not installed or npm ci failed: the accessibility tests will be skipped (and fail under CI=true)"

test: venv browser
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python bench/etl.py
	$(BIN)/python bench/kpi.py
	$(BIN)/python bench/app.py

clean:
	rm -rf $(VENV) .pytest_cache
