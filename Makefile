# The two set-up commands in the README, and the checks CI runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: app test install lint bench

$(PY):
	bash .ci/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e ".[dev]"

# Opens LayerCanvas on the built-in example project.
app: install
	$(VENV)/bin/layercanvas resources/examples/digits_cnn.lcproj

# Installs everything and runs the whole test suite (what CI runs).
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider --timeout=600

# OPENBLAS_CORETYPE/L2_SIZE, where a machine sets them, pin an older and slower GEMM kernel;
# the benchmarks measure numpy as users run it.
bench: install
	$(PY) -m pip install -q -e ".[bench]"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.run_all
