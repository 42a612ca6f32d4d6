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

demo: venv
	$(BIN)/python -m etl demo --warehouse $(WAREHOUSE)

run: venv $(WAREHOUSE)
	MOUACHIR_WAREHOUSE=$(WAREHOUSE) $(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) \
		--access-logfile - app:server

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python bench/etl.py

clean:
	rm -rf $(VENV) .pytest_cache
