"""``layercanvas train`` on a run that diverges: a good model already in --out survives,
nothing with NaN weights is written, history.json stays strict JSON, and the one-line
message says which batch diverged and what was kept where (issue 15, defect 1)."""

import copy
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import engine
from app import cli

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "resources" / "examples" / "spirals_mlp.lcproj"


def _project(tmp_path: Path, optimizer: dict, name: str) -> str:
    data = json.loads(SPIRALS.read_text(encoding="utf-8"))
    data["training"]["optimizer"] = optimizer
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _strict_json(path: Path):
    def refuse(constant):
        raise ValueError(f"{path.name} holds {constant}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _finite(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading a model with NaN weights warns: fail instead
        model = engine.load_model(path)
    return all(np.isfinite(w).all() for w in model.get_weights())


def _train(capsys, project: str, out: Path, epochs: int):
    code = cli.main(["train", project, "--epochs", str(epochs), "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


@pytest.mark.parametrize(
    ("optimizer", "what"),
    [
        # The case: the loss is still ~1e27 when Adam's update overflows.
        ({"name": "adam", "learning_rate": 1e6}, "while the loss was still"),
        # The loss itself becomes NaN: history.json must still be JSON.
        ({"name": "sgd", "learning_rate": 1e6}, "the loss became"),
    ],
)
def test_a_good_model_survives_a_diverging_run(capsys, tmp_path, optimizer, what):
    out = tmp_path / "run"
    good = _project(tmp_path, {"name": "adam", "learning_rate": 0.01}, "good.lcproj")
    code, _, err = _train(capsys, good, out, epochs=2)
    assert code == 0, err
    good_bytes = (out / "model.lcmodel").read_bytes()

    bad = _project(tmp_path, optimizer, "bad.lcproj")
    code, _, err = _train(capsys, bad, out, epochs=3)

    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert line.startswith("layercanvas: training diverged: Epoch 1, batch "), line
    assert what in line and "smaller learning rate" in line
    assert f"{out / 'model.lcmodel'} (from an earlier run) was left as it was" in line
    assert f"are in {out / 'checkpoint.lcmodel'}" in line
    # The earlier model is untouched, byte for byte; the checkpoint holds finite weights.
    assert (out / "model.lcmodel").read_bytes() == good_bytes
    assert _finite(out / "checkpoint.lcmodel")
    history = _strict_json(out / "history.json")
    assert history["epoch"] == [1]
    if what == "the loss became":
        assert history["loss"] == [None]  # NaN is written as null
    csv_rows = (out / "history.csv").read_text(encoding="utf-8").splitlines()
    assert csv_rows[0].startswith("epoch,loss") and len(csv_rows) == 2


def test_a_first_run_that_diverges_writes_no_model(capsys, tmp_path):
    out = tmp_path / "run"
    bad = _project(tmp_path, {"name": "sgd", "learning_rate": 1e38}, "bad.lcproj")
    code, _, err = _train(capsys, bad, out, epochs=2)
    assert code == 1
    assert "training diverged" in err and "no model.lcmodel was written" in err
    assert not (out / "model.lcmodel").exists()
    assert _finite(out / "checkpoint.lcmodel")
    _strict_json(out / "history.json")


def test_a_good_run_still_writes_its_model(capsys, tmp_path):
    out = tmp_path / "run"
    project = _project(tmp_path, {"name": "adam", "learning_rate": 0.01}, "p.lcproj")
    code, stdout, err = _train(capsys, project, out, epochs=1)
    assert code == 0, err
    assert "Done after 1 epoch:" in stdout
    assert _finite(out / "model.lcmodel")
    assert _strict_json(out / "history.json")["epoch"] == [1]
    assert (out / "model.lcmodel").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_warnings_while_training_print_as_one_line(capsys, tmp_path):
    data = json.loads(SPIRALS.read_text(encoding="utf-8"))
    data["training"]["callbacks"] = {"early_stopping": {"monitor": "no_such_value"}}
    project = tmp_path / "p.lcproj"
    project.write_text(json.dumps(copy.deepcopy(data)), encoding="utf-8")
    code, _, err = _train(capsys, str(project), tmp_path / "run", epochs=2)
    assert code == 0, err
    warning_lines = [line for line in err.splitlines() if "no_such_value" in line]
    assert len(warning_lines) == 1  # once, not per epoch, and not Python's source listing
    assert warning_lines[0].startswith("layercanvas: warning: EarlyStopping monitors")
