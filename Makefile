# Two entry points (README): `make run` sets up and runs the main job, `make test` sets up and
# runs every check. Both need only python3 (>= 3.11) on the machine; everything else goes into
# .venv from PyPI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup setup-dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# The dev extra pins numpy < 2.4 for the scalesim peer; installing it re-stamps the runtime set.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

run: setup
	$(BIN)/hwsim demo

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: setup-dev
	$(BIN)/python benchmarks/bench_vs_scalesim.py
	$(BIN)/python benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
