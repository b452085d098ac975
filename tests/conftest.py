"""Test-wide setup: headless Qt, a fixed random seed, and the CPU backend for every test."""

import os
import tempfile

# Without a display Qt aborts the whole process; offscreen rendering needs nothing else.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keras 3 is a reference in parity tests; it runs on PyTorch's CPU build (a dev dependency).
os.environ.setdefault("KERAS_BACKEND", "torch")
# Autosaved recovery copies go to a throwaway folder, never the user's app data.
os.environ.setdefault("LAYERCANVAS_DATA_DIR", tempfile.mkdtemp(prefix="layercanvas-test-data-"))
# Downloaded datasets: an empty cache, so no test sees (or writes) the user's real one.
os.environ["LAYERCANVAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="layercanvas-test-cache-")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_engine_state():
    """Each test starts from the CPU backend and seed 0, whatever the previous one did."""
    from engine import backend, random

    backend.set_device("cpu")
    random.set_random_seed(0)
    yield
