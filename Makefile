# ombt-postmortem: `make run` analyses the bundled example campaign, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 8

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed
	@bash ci/ensure-system.sh

$(VENV)/.installed: pyproject.toml
	@PYTHON=$(PYTHON) bash ci/ensure-system.sh || true
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,slurm,notebook]'
	@touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

test: setup
	bash ci/test.sh

clean:
	rm -rf results/* .snakemake
