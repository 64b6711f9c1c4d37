# `make run` and `make test` each create .venv on first use (torch's CPU build first, then the project in
# editable mode with its dev extra), do nothing more on later calls unless pyproject.toml changed, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.duelgym-installed
export HF_HUB_OFFLINE := 1

.PHONY: run test test-fast typecheck mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install "torch==2.13.0"
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

# The main job: every agent on the embedded LLMDuel-v0 default, 5 seeds; prints the summary and where the plot is.
run: $(STAMP)
	$(BIN)/duelgym run

# Every tier (fast, slow; gpu tests skip themselves without CUDA), in two worker processes, one per core of
# a CI machine (each worker's torch then uses one thread). This is what CI runs.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -m "slow or not slow" -n 2 --dist worksteal

# The fast tier only (the default of a bare `pytest`).
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

# Static types of the package (not part of `make test`).
typecheck: $(STAMP)
	$(BIN)/mypy duelgym envs agents

# Mutation testing (not part of CI): mutates each listed module in place, runs its fast tests and reports the share
# of mutants killed per module and every survivor (CONTRIBUTING.md says how to read it). Run on a clean tree.
mutation: $(STAMP)
	$(BIN)/python -c "import cosmic_ray" 2>/dev/null || $(BIN)/python -m pip install cosmic-ray
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tools/mutation.py
