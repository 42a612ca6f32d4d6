# Mouachir — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
WAREHOUSE ?= data/warehouse.duckdb
HOST ?= 127.0.0.1
PORT ?= 8050
WORKERS ?= 2

.PHONY: run test venv demo bench clean

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
run: venv $(WAREHOUSE)
	$(BIN)/python -m kpi --warehouse $(WAREHOUSE) compute
	MOUACHIR_WAREHOUSE=$(WAREHOUSE) $(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) \
		--access-logfile - app:server

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python bench/etl.py
	$(BIN)/python bench/kpi.py

clean:
	rm -rf $(VENV) .pytest_cache
