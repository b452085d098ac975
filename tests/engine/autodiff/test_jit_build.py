"""Building and loading the compiled kernels (engine.autodiff.jit), each case in a fresh
process: where the library goes, what happens without a working compiler, the switch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import numpy as np
from engine.autodiff import jit, kernels_activation
from engine.autodiff.tensor import Tensor
x = np.linspace(-5, 5, 11, dtype=np.float32)
out = kernels_activation.hard_silu(Tensor(x)).numpy()
print(jit.enabled())
print(jit.status())
print(out.tolist())
"""


def _probe(tmp_path, **env):
    environment = {**os.environ, "LAYERCANVAS_CACHE_DIR": str(tmp_path)}
    environment.pop("LAYERCANVAS_JIT", None)  # only what the case sets
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    enabled, status, values = done.stdout.strip().splitlines()
    return enabled == "True", status, values


def test_the_library_is_built_into_the_cache_dir_once(tmp_path):
    enabled, status, values = _probe(tmp_path)
    assert enabled
    built = list((tmp_path / "kernels").glob("kernels-*.so"))
    assert len(built) == 1 and str(built[0]) in status
    assert not list((tmp_path / "kernels").glob("*.part"))  # no half-written leftovers
    stamp = built[0].stat().st_mtime_ns
    again = _probe(tmp_path)
    assert again == (enabled, status, values)
    assert built[0].stat().st_mtime_ns == stamp  # loaded, not rebuilt


def test_without_a_working_compiler_the_numpy_formulas_run(tmp_path):
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\necho 'cc: cannot compile here' >&2\nexit 1\n")
    failing.chmod(0o755)
    reference = _probe(tmp_path / "good")[2]
    enabled, status, values = _probe(tmp_path / "bad", CC=str(failing))
    assert not enabled
    assert "unavailable" in status and "cannot compile here" in status
    assert values == reference  # the same numbers, from the numpy formulas


def test_the_environment_switch_says_so(tmp_path):
    enabled, status, _ = _probe(tmp_path, LAYERCANVAS_JIT="0")
    assert not enabled and "LAYERCANVAS_JIT=0" in status
    assert not (tmp_path / "kernels").exists()  # nothing built
