"""The written package runs on its own (python train.py, one process, no LayerCanvas on the
path): early stopping and learning-rate reductions happen at the epochs the engine's own
callbacks choose, and its checkpoints come back with their weights; a file that is not such
a checkpoint (or is damaged) is refused without unpickling anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.export_pytorch import PyTorchExportError, export_pytorch, read_checkpoint  # noqa: E402
from engine.graph.project import Project, load_project  # noqa: E402

EXAMPLES = Path(__file__).parents[3] / "resources" / "examples"
CALLBACKS = {
    # min_delta far above any change: no epoch after the first improves.
    "early_stopping": {"monitor": "loss", "patience": 2, "min_delta": 100.0},
    "reduce_lr_on_plateau": {
        "monitor": "loss",
        "factor": 0.5,
        "patience": 1,
        "min_delta": 100.0,
        "cooldown": 1,
    },  # fmt: skip
}


def _project(tmp_path) -> Project:
    raw = json.loads((EXAMPLES / "sine_regression.lcproj").read_text())
    raw["training"]["callbacks"] = CALLBACKS
    raw["training"]["epochs"] = 6
    path = tmp_path / "sine.lcproj"
    path.write_text(json.dumps(raw))
    return load_project(path)


def _train(package: Path, *args) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "train.py", "--out", "run", *args],
        cwd=package, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (package / "run" / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_callbacks_act_at_the_engines_epochs(tmp_path):
    from engine.graph.session import prepare_training

    project = _project(tmp_path)
    export_pytorch(project, tmp_path / "pkg")
    rows = _train(tmp_path / "pkg")

    setup = prepare_training(project)
    history = setup.model.fit(**setup.fit_arguments()).history
    assert len(rows) == len(history["loss"]) == 3
    assert [r["learning_rate"] for r in rows] == pytest.approx(history["learning_rate"])
    assert [r["learning_rate"] for r in rows] == pytest.approx([0.01, 0.01, 0.005])

    result = read_checkpoint(tmp_path / "pkg" / "run" / "last.npz")
    assert result.epoch == 3 and result.history["loss"] == pytest.approx([r["loss"] for r in rows])
    # The imported engine model scores the validation data as PyTorch logged it.
    with np.load(tmp_path / "pkg" / "data.npz") as data:
        x, y = data["x_val"], data["y_val"]
    mse = float(((result.model.predict(x, verbose=0) - y.reshape(-1, 1)) ** 2).mean())
    assert mse == pytest.approx(rows[-1]["val_loss"], rel=1e-4)


def _checkpoint(path: Path, meta, **arrays) -> Path:
    if meta is not None:
        arrays["__layercanvas__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def test_foreign_and_damaged_checkpoints_are_refused(tmp_path):
    model_json = load_project(EXAMPLES / "spirals_mlp.lcproj").to_json()
    meta = {"format": "layercanvas-pytorch-checkpoint", "version": 1, "model": model_json}
    cases = [
        (_checkpoint(tmp_path / "a.npz", None, w=np.zeros(2)), "not a checkpoint"),
        (_checkpoint(tmp_path / "b.npz", {**meta, "format": "x"}), "is not"),
        (_checkpoint(tmp_path / "c.npz", meta, **{"hidden1.weight": np.zeros(2)}), "has no"),
    ]
    for path, message in cases:
        with pytest.raises(PyTorchExportError, match=message):
            read_checkpoint(path)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, __layercanvas__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(PyTorchExportError, match="not a readable checkpoint"):
        read_checkpoint(pickled)  # object arrays would need pickle: refused, never loaded
    (tmp_path / "garbage.npz").write_bytes(b"not a zip")
    with pytest.raises(PyTorchExportError):
        read_checkpoint(tmp_path / "garbage.npz")


def test_weights_trained_in_the_app_are_the_packages(tmp_path):
    import engine
    from engine.export_pytorch.model_code import build_model_code, torch_state
    from engine.graph.convert import model_from_document

    project = load_project(EXAMPLES / "spirals_mlp.lcproj")
    engine.set_random_seed(123)  # not the project's seed: weights a run could have reached
    trained = model_from_document(project.graph)
    report = export_pytorch(project, tmp_path / "pkg", weights_from=trained)
    assert report.trained and not report.notes
    expected = torch_state(trained, build_model_code(trained))
    with np.load(tmp_path / "pkg" / "weights.npz") as written:
        assert sorted(written.files) == sorted(expected)
        for key, array in expected.items():
            np.testing.assert_array_equal(written[key], array)


def test_data_of_ones_own_trains_with_data_and_uint8_pixels_stay_numbers(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "pixels.npz", x=rng.integers(0, 256, (60, 1, 6, 6), dtype=np.uint8),
             y=rng.integers(0, 3, 60))  # fmt: skip
    nodes = [
        {"id": "image", "type": "Input", "params": {"shape": [1, 6, 6]}},
        {"id": "scale", "type": "BatchNormalization", "params": {}},
        {"id": "conv", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 3}},
        {"id": "flat", "type": "Flatten", "params": {}},
        {"id": "classes", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]
    raw = {
        "format": "layercanvas-project",
        "version": 1,
        "name": "Pixels",
        "graph": {"nodes": nodes, "edges": edges},
        "dataset": {"format": "npz", "path": "pixels.npz", "validation_split": 0.25},
        "training": {
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
            "batch_size": 16,
            "epochs": 1,
        },  # fmt: skip
    }
    (tmp_path / "pixels.lcproj").write_text(json.dumps(raw))
    export_pytorch(tmp_path / "pixels.lcproj", tmp_path / "pkg")
    # Other data, as downloaded image sets come: uint8 pixels, which the engine feeds as
    # 0-255 floats (never as token ids).
    x = rng.integers(0, 256, (40, 1, 6, 6), dtype=np.uint8)
    x_val = x[30:]
    np.savez(tmp_path / "mine.npz", x_train=x[:30], y_train=rng.integers(0, 3, 30),
             x_val=x_val, y_val=rng.integers(0, 3, 10))  # fmt: skip
    rows = _train(tmp_path / "pkg", "--data", str(tmp_path / "mine.npz"))
    assert len(rows) == 1
    result = read_checkpoint(tmp_path / "pkg" / "run" / "last.npz")
    probabilities = result.model.predict(x_val, verbose=0)
    assert probabilities.shape == (10, 3) and np.isfinite(probabilities).all()
