# The two set-up commands in the README, and the checks CI runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: app test test-portable install lint bench

$(PY):
	bash .ci/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torchvision (dev extra: the ONNX import tests export its classifiers) goes in with
# --no-deps: its wheel is built against CUDA torch, and pip must not reconsider torch for it
# (the dev extra's torch==2.13.0 resolves to the CPU build).
install: $(PY)
	$(PY) -m pip install -q --no-deps "torchvision==0.28.0"
	$(PY) -m pip install -q -e ".[dev]"

# Opens LayerCanvas on the built-in example project.
app: install
	$(VENV)/bin/layercanvas resources/examples/digits_cnn.lcproj

# Installs everything and runs the whole test suite (what CI runs).
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider --timeout=600

# The suite under each summation order another machine may have: OpenBLAS's native kernel
# (SkylakeX on AVX-512 CPUs), Haswell, Prescott, and one thread. Tests must pass under all four.
PORTABLE_SETTINGS = "-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" "OPENBLAS_CORETYPE=Haswell" \
	"OPENBLAS_CORETYPE=Prescott" "OPENBLAS_NUM_THREADS=1"
test-portable: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@for setting in $(PORTABLE_SETTINGS); do \
		echo "== pytest with env $$setting"; \
		env $$setting QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider \
			--timeout=600 || exit 1; \
	done

# OPENBLAS_CORETYPE/L2_SIZE, where a machine sets them, pin an older and slower GEMM kernel;
# the benchmarks measure numpy as users run it. GPU=1: the training table on CuPy against
# PyTorch CUDA ("no GPU found" and exit 0 without one).
bench: install
	$(PY) -m pip install -q -e ".[bench]"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.run_all $(if $(GPU),--gpu)
