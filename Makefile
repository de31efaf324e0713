# Two entry points: `make run` (the app) and `make test` (the test suite).
# Each creates .venv on first use.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

.PHONY: run test train bench bench-gui lint
run: $(STAMP)
	$(VENV)/bin/workbench

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q

train: $(STAMP)
	$(VENV)/bin/workbench train

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_train_step.py
	$(VENV)/bin/python benchmarks/bench_shapes.py
	$(VENV)/bin/python benchmarks/bench_sharing.py
	$(VENV)/bin/python benchmarks/bench_plots.py

# The app's costs (launch, throughput with live plots, stalls) under a virtual X server.
bench-gui: $(STAMP)
	xvfb-run -a -s "-screen 0 1440x900x24" $(VENV)/bin/python benchmarks/bench_gui.py
