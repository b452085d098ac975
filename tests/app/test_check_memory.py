"""``layercanvas check`` and ``train`` refuse a model this machine cannot hold in one clear
line naming the node and the fix, and ``check`` prints the training-memory estimate."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from engine.graph.memory import ENV_LIMIT

ROOT = Path(__file__).resolve().parents[2]
TRAINING = {
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "batch_size": 32,
    "epochs": 1,
}


def project(folder: Path, nodes, name="p.lcproj") -> str:
    """A project of ``(id, type, params)`` nodes in a chain, on the moons data."""
    data = {
        "format": "layercanvas-project",
        "version": 1,
        "name": "big",
        "graph": {
            "nodes": [
                {"id": i, "type": t, "params": p, "position": [220 * k, 0]}
                for k, (i, t, p) in enumerate(nodes)
            ],
            "edges": [
                {"source": a[0], "target": b[0], "target_port": 0}
                for a, b in zip(nodes, nodes[1:], strict=False)
            ],
        },
        "dataset": {"name": "moons", "n_samples": 100, "seed": 0},
        "training": TRAINING,
    }
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


HUGE_DENSE = [
    ("input", "Input", {"shape": [100000]}),
    ("dense_1", "Dense", {"units": 100000}),
]
HUGE_INPUT = [
    ("input", "Input", {"shape": [100000, 100000]}),
    ("flat", "Flatten", {}),
    ("dense", "Dense", {"units": 10, "activation": "softmax"}),
]


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    assert "Traceback" not in err and "internal error" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("layercanvas")
    return lines[0]


@pytest.fixture(autouse=True)
def _limit(monkeypatch):
    monkeypatch.setenv(ENV_LIMIT, "24G")


def test_check_refuses_a_10g_parameter_dense(capsys, tmp_path):
    code, out, err = run(capsys, "check", "--no-data", project(tmp_path, HUGE_DENSE))
    assert code == 1
    line = one_line(err)
    assert "graph.nodes[1].params.units" in line
    assert "this model needs 149.0 GiB to train at batch 32" in line
    assert "Adam state 74.5 GiB" in line and f"{ENV_LIMIT} allows 24.0 GiB" in line
    assert "reduce units in dense_1" in line
    assert "OK" not in out and "1 error" in out
    assert "Estimated training memory at batch 32 with Adam: 149.0 GiB" in out


def test_check_refuses_a_huge_input_before_flatten(capsys, tmp_path):
    code, _, err = run(capsys, "check", "--no-data", project(tmp_path, HUGE_INPUT))
    assert code == 1
    line = one_line(err)
    assert "graph.nodes[2]" in line and "3.8 TiB" in line
    assert "make the input of dense smaller: it receives 10,000,000,000 values" in line


@pytest.mark.parametrize("nodes", [HUGE_DENSE, HUGE_INPUT], ids=["dense", "input"])
def test_train_gives_the_same_message_and_writes_nothing(capsys, tmp_path, nodes):
    path = project(tmp_path, nodes)
    _, _, check_err = run(capsys, "check", "--no-data", path)
    code, out, err = run(capsys, "train", path, "--out", str(tmp_path / "run"))
    assert code == 1
    expected = one_line(check_err).split(": ", 2)[2]  # after "layercanvas: <path>: "
    assert one_line(err).endswith(expected)
    assert not (tmp_path / "run").exists()


def test_check_prints_the_estimate_of_a_model_that_fits(capsys, tmp_path):
    nodes = [
        ("input", "Input", {"shape": [2]}),
        ("hidden", "Dense", {"units": 8, "activation": "relu"}),
        ("out", "Dense", {"units": 2, "activation": "softmax"}),
    ]
    code, out, err = run(capsys, "check", project(tmp_path, nodes))
    assert code == 0, err
    # 24 + 18 = 42 parameters: 168 bytes, as many of gradients, twice that of Adam state;
    # 32 samples x (2 + 8 + 2) outputs x 4 bytes = 1,536 bytes of activations.
    assert (
        "Estimated training memory at batch 32 with Adam: 2.2 KiB "
        "(weights 0.2, gradients 0.2, Adam state 0.3, activations 1.5)"
    ) in out
    assert "OK: no problems found" in out


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")
def test_under_an_address_space_limit_train_refuses_instead_of_running_out(tmp_path):
    """A real process under RLIMIT_AS 2 GiB: a 1.6 GB kernel would end in MemoryError."""
    nodes = [("input", "Input", {"shape": [2]}), ("dense_1", "Dense", {"units": 20000})]
    nodes.append(("dense_2", "Dense", {"units": 20000}))
    path = project(tmp_path, nodes)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from app.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != ENV_LIMIT}
    env["OPENBLAS_NUM_THREADS"] = "1"  # each BLAS thread reserves address space
    done = subprocess.run(
        [sys.executable, "-c", script, "train", path, "--out", str(tmp_path / "run")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert "reduce units in dense_2" in line
    assert "address-space limit (RLIMIT_AS) leaves" in line
