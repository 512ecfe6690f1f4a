# Two entry points (README): `make run` sets up and runs the main job, `make test` sets up and
# runs every check. Both need only python3 (>= 3.11) on the machine; everything else goes into
# .venv from PyPI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup setup-dev lint bench clean app demo

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

# The main job: the design explorer on http://127.0.0.1:8501, opening on the default
# comparison (selective-llama2-7b on sparseflow-accel vs a100-sxm-80gb).
run: app

demo: setup
	$(BIN)/hwsim demo

# `hwsim app` serves the explorer script shipped in the package (hwsim/app/streamlit_app.py).
app: setup
	$(BIN)/hwsim app --port 8501

test: setup-dev
	$(BIN)/ruff check .
	sh scripts/ensure_chromium.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q
	$(BIN)/python scripts/wheel_smoke.py

bench: setup-dev
	$(BIN)/python benchmarks/bench_vs_scalesim.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_cycle.py
	$(BIN)/python benchmarks/bench_gpu_cycle.py
	$(BIN)/python benchmarks/bench_mcu_cycle.py
	$(BIN)/python benchmarks/bench_study.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_simulate_repeat.py
	$(BIN)/python benchmarks/bench_sensitivity.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
