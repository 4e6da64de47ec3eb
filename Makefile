# ombt-postmortem: `make run` analyses the bundled example campaign, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 8

.PHONY: setup setup-slurm run test lint bench clean

setup: $(VENV)/.installed
	@bash ci/ensure-system.sh

# The SLURM executor plugin is NOT in $(VENV): snakemake imports every installed
# executor plugin at start, and the SLURM one then asks `scontrol show config`,
# ~9 s of waiting wherever SLURM's client tools are installed but no controller
# answers (e.g. this machine after `make test`), `make run` included. It lives in
# $(VENV)-slurm (ci/slurm-venv.sh, `make setup-slurm`), layered on $(VENV).
$(VENV)/.installed: pyproject.toml Makefile
	@PYTHON=$(PYTHON) bash ci/ensure-system.sh || true
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,notebook]'
	@# an older $(VENV) had the plugin: take it out (it moved to $(VENV)-slurm)
	$(BIN)/pip uninstall -q -y snakemake-executor-plugin-slurm \
	    snakemake-executor-plugin-slurm-jobstep 2>/dev/null || true
	@touch $@

setup-slurm: setup
	VENV=$(VENV) bash ci/slurm-venv.sh >/dev/null

run: setup
	$(BIN)/snakemake --cores $(CORES)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

test: setup
	@# the tests' system packages (chromium); as root installed, else named if missing
	@bash ci/ensure-system.sh --test || true
	bash ci/test.sh

clean:
	rm -rf results/* .snakemake
