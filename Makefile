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

.PHONY: run test train bench
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
