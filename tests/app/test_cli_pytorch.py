"""``layercanvas export --pytorch`` and ``import`` of the package's checkpoints, end to end:
the package trains under ``torchrun --nproc_per_node=2`` (gloo, CPU) to the engine's
accuracy band, and its checkpoint comes back as a project whose engine model scores
what PyTorch logged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from app import cli  # noqa: E402
from engine.graph.project import load_project  # noqa: E402
from engine.io import load_model  # noqa: E402

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _engine_one_epoch(project_path) -> float:
    from engine.graph.session import prepare_training

    setup = prepare_training(load_project(project_path), epochs=1)
    history = setup.model.fit(**setup.fit_arguments())
    return history.history["val_accuracy"][-1]


def test_export_torchrun_two_processes_and_import_back(tmp_path, capsys):
    source = tmp_path / "digits_mlp.lcproj"
    shutil.copy(EXAMPLES / "digits_mlp.lcproj", source)
    package = tmp_path / "pkg"
    code, out, err = run(capsys, "export", source, "--pytorch", package)
    assert code == 0, err
    assert "wrote" in out and "torchrun" in out
    for name in ("model.py", "train.py", "data.py", "data.npz", "weights.npz", "README.md"):
        assert (package / name).is_file()
    assert "--rdzv_endpoint" in (package / "README.md").read_text()
    assert (package / "requirements.txt").read_text().startswith("torch==")

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--standalone",
            "train.py",
            "--epochs",
            "1",
            "--out",
            "run1",
        ],  # fmt: skip
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (package / "run1" / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 1 and rows[0]["epoch"] == 1
    torch_accuracy = rows[0]["val_accuracy"]
    engine_accuracy = _engine_one_epoch(source)
    # One epoch of the same model, optimizer and data: the same band, not the same numbers
    # (shuffling and dropout masks differ).
    assert torch_accuracy > 0.6 and engine_accuracy > 0.6
    assert abs(torch_accuracy - engine_accuracy) < 0.15

    project_path = tmp_path / "back" / "trained.lcproj"
    code, out, err = run(capsys, "import", package / "run1" / "best.npz", "--out", project_path)
    assert code == 0, err
    assert "imported epoch 1" in out
    project = load_project(project_path)
    assert [n.id for n in project.graph.nodes] == [n.id for n in load_project(source).graph.nodes]
    model = load_model(project_path.with_suffix(".lcmodel"))
    with np.load(package / "data.npz") as data:
        x_val, y_val = data["x_val"], data["y_val"]
    predicted = model.predict(x_val, verbose=0).argmax(-1)
    assert abs(float((predicted == y_val).mean()) - torch_accuracy) < 1e-6

    from engine.runs import RunStore, runs_dir_for

    records, problems = RunStore(runs_dir_for(project_path)).list()
    assert not problems and len(records) == 1
    assert records[0].source == "torchrun"
    assert records[0].history["val_accuracy"] == [pytest.approx(torch_accuracy)]


def test_settings_the_package_cannot_reproduce_are_refused_in_one_line(tmp_path, capsys):
    raw = json.loads((EXAMPLES / "digits_mlp.lcproj").read_text())
    raw["training"]["optimizer"] = {"name": "nadam", "learning_rate": 0.01}
    raw["training"]["metrics"] = ["accuracy", "auc"]
    source = tmp_path / "p.lcproj"
    source.write_text(json.dumps(raw))
    code, out, err = run(capsys, "export", source, "--pytorch", tmp_path / "pkg")
    assert code == 1
    assert err.count("\n") == 1 and "'nadam'" in err and "'auc'" in err
    assert not (tmp_path / "pkg").exists()


def test_a_node_without_a_pytorch_form_is_named(tmp_path, capsys):
    raw = json.loads((EXAMPLES / "digits_lstm.lcproj").read_text())
    lstm = next(n for n in raw["graph"]["nodes"] if n["type"] == "LSTM")
    lstm["params"]["recurrent_activation"] = "tanh"
    source = tmp_path / "p.lcproj"
    source.write_text(json.dumps(raw))
    code, out, err = run(capsys, "export", source, "--pytorch", tmp_path / "pkg")
    assert code == 1
    assert f"'{lstm['id']}' (LSTM)" in err and "recurrent_activation" in err


def test_only_a_package_checkpoint_is_imported(tmp_path, capsys):
    other = tmp_path / "arrays.npz"
    np.savez(other, w=np.zeros(3))
    code, out, err = run(capsys, "import", other, "--out", tmp_path / "p.lcproj")
    assert code == 1 and "not a checkpoint" in err and err.count("\n") == 1
    assert not (tmp_path / "p.lcproj").exists()


def test_a_non_empty_folder_needs_force(tmp_path, capsys):
    source = EXAMPLES / "spirals_mlp.lcproj"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mine.txt").write_text("keep")
    code, out, err = run(capsys, "export", source, "--pytorch", tmp_path / "pkg")
    assert code == 1 and "--force" in err
    code, out, err = run(capsys, "export", source, "--pytorch", tmp_path / "pkg", "--force")
    assert code == 0, err
    assert (tmp_path / "pkg" / "mine.txt").read_text() == "keep"
