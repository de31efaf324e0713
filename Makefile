# Two entry points: `make run` (the app) and `make test` (the test suite).
# Each creates .venv on first use.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,solvers]'
	touch $(STAMP)

.PHONY: run test train bench bench-gui lint check-system package
# The system libraries Qt's X11 plugin needs are checked first (system Python, standard
# library only), so a fresh machine learns what to install before the 2.5-minute install.
run: check-system $(STAMP)
	$(VENV)/bin/workbench

check-system:
	@$(PY) workbench/system_check.py

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

# The one-folder desktop bundle dist/mtl-workbench/ (PyInstaller; see packaging/build.sh).
package: $(STAMP)
	PY=$(VENV)/bin/python packaging/build.sh
