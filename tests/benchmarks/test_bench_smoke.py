"""A tiny pass of every training-benchmark workload (``make test`` keeps the benchmark code
from rotting): both frameworks train two batches of four samples through the real models,
and the table prints one row per workload. Speed is never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from benchmarks import bench_training  # noqa: E402
from benchmarks.training import measure  # noqa: E402
from benchmarks.training.engine_models import engine_model  # noqa: E402
from benchmarks.training.torch_models import torch_model  # noqa: E402
from benchmarks.training.workloads import WORKLOADS, make_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_each_workload_prints_its_row(name, capsys, tmp_path):
    out = tmp_path / "r.json"
    bench_training.main(["--workload", name, "--smoke", "--no-memory", "--json", str(out)])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(name)]
    assert len(rows) == 1
    (r,) = json.loads(out.read_text())
    ours, theirs = r["engine_s_per_epoch"], r["torch_s_per_epoch"]
    assert ours > 0 and theirs > 0 and r["ratio_engine_to_torch"] == pytest.approx(ours / theirs)
    assert f"{r['ratio_engine_to_torch']:6.2f}" in rows[0]


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_both_frameworks_build_the_same_sized_model(name):
    """The rows compare like with like: the same number of trainable parameters, and the
    same output shape on the same batch."""
    import torch

    workload = WORKLOADS[name].smoke()
    x, _ = make_data(workload)
    ours = engine_model(workload)
    net, _ = torch_model(workload)
    theirs = sum(p.numel() for p in net.parameters() if p.requires_grad)
    # PyTorch's LSTM keeps two bias vectors where Keras (and the engine) keep one.
    torch_only = 4 * 128 if name == "lstm" else 0
    assert ours.count_params() - _non_trainable(ours) + torch_only == theirs
    out = np.asarray(ours.predict(x, verbose=0))
    with torch.no_grad():
        assert out.shape == tuple(net(torch.from_numpy(x)).shape) == (len(x), workload.classes)


def _non_trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


def test_the_memory_probe_reports_a_resident_set():
    mib = measure.peak_memory_mib("engine", WORKLOADS["mlp"], smoke=True)
    assert 10 < mib < 4096


def test_the_gpu_table_without_a_gpu_says_so_and_exits_0():
    pytest.importorskip("torch")
    from benchmarks.training.gpu import gpu_problem

    if gpu_problem() is None:
        pytest.skip("this machine has a GPU: the table would run")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_all", "--gpu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("no GPU found")


def test_the_app_row_trains_in_the_window_and_headless():
    pytest.importorskip("PySide6")
    from benchmarks.training.app_overhead import measure_in_subprocess

    r = measure_in_subprocess(epochs=1, repeats=1)
    assert r["app_s"] > 0 and r["headless_s"] > 0
