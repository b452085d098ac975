"""The shipped transfer-learning example on images (resources/examples/transfer_images.lcproj)
trains from the command line to far better than chance on its bundled image folder, keeps
its frozen layers exactly as imported, and exports to ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.graph.project import load_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "transfer_images.lcproj"
FOLDER = ROOT / "resources" / "examples" / "transfer_images"
FROZEN = ("conv1", "conv2")


def test_the_bundled_folder_and_base_are_small_and_complete():
    classes = sorted(p.name for p in (FOLDER / "photos").iterdir() if p.is_dir())
    assert classes == ["circle", "cross", "square", "triangle"]
    images = list((FOLDER / "photos").glob("*/*.png"))
    assert len(images) == 240
    total = sum(p.stat().st_size for p in images)
    assert total < 1_000_000
    assert (FOLDER / "make_example.py").is_file()
    onnx = pytest.importorskip("onnx")
    meta = {p.key: p.value for p in onnx.load(FOLDER / "shapes_base.onnx").metadata_props}
    project = load_project(EXAMPLE)
    # The import recorded the file's mean/std into the project's image dataset.
    assert project.dataset["mean"] == json.loads(meta["mean"])
    assert project.dataset["std"] == json.loads(meta["std"])
    assert project.dataset["size"] == [32, 32] and project.dataset["color"] == "rgb"


def test_the_example_trains_far_better_than_chance_and_exports(tmp_path, capsys):
    from app import cli

    assert cli.main(["train", str(EXAMPLE), "--out", str(tmp_path), "--no-record"]) == 0
    out, err = capsys.readouterr()
    assert "180 samples (60 for validation)" in out
    assert "head is not in base.lcmodel" in err
    history = json.loads((tmp_path / "history.json").read_text())
    # Chance is 0.25 (four balanced classes); 0.92 measured with seed 0.
    assert history["val_accuracy"][-1] > 0.7
    trained = engine.load_model(tmp_path / "model.lcmodel")
    base = engine.load_model(FOLDER / "base.lcmodel", compile=False)
    for name in FROZEN:
        assert not trained.get_layer(name).trainable
        for old, new in zip(
            base.get_layer(name).get_weights(), trained.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(old, new)
    onnx_path = tmp_path / "finetuned.onnx"
    assert cli.main(["export", str(tmp_path / "model.lcmodel"), "--onnx", str(onnx_path)]) == 0
    assert onnx_path.stat().st_size > 10_000
