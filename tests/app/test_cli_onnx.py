"""``layercanvas export`` and ``layercanvas import``: the verified export of a model file or
a project (trained or not, every example project), the import into a project plus its
weights, and one clear line with nothing written for a file that cannot be imported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from app import cli
from engine.graph.project import load_project
from engine.io import load_model
from engine.layers import Conv2D, Dense, Flatten, MaxPooling2D
from engine.layers.base import Input
from tests.engine.onnx.builders import functional_model, randomize_weights
from tests.engine.onnx.onnx_graphs import make_model, run_onnxruntime

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.lcproj"))


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_line(err: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("layercanvas")


@pytest.fixture
def cnn_file(tmp_path) -> Path:
    x = Input((1, 8, 8), name="image")
    h = Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
    h = MaxPooling2D(name="pool")(h)
    y = Dense(10, activation="softmax", name="classes")(Flatten(name="flat")(h))
    model = functional_model(x, y, name="cnn")
    randomize_weights(model)
    path = tmp_path / "cnn.lcmodel"
    model.save(path)
    return path


def test_export_a_model_file(capsys, tmp_path, cnn_file):
    out = tmp_path / "cnn.onnx"
    code, stdout, err = run(capsys, "export", cnn_file, "--onnx", out, "--opset", "21")
    assert code == 0, err
    assert "onnx.checker passed; onnxruntime matches predict" in stdout
    proto = onnx.load(out)
    assert proto.opset_import[0].version == 21
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["trained"] == "true"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_export_every_example_project_untrained(capsys, tmp_path, example):
    out = tmp_path / f"{example.stem}.onnx"
    code, stdout, err = run(capsys, "export", example, "--onnx", out)
    assert code == 0, err
    if load_project(example).weights is None:  # transfer_learning starts from a model file
        assert "no trained weights" in stdout and "untrained" in stdout
    assert "onnxruntime matches predict" in stdout
    onnx.checker.check_model(onnx.load(out), full_check=True)


def test_import_writes_a_project_and_its_weights_which_export_again(capsys, tmp_path, cnn_file):
    first = tmp_path / "cnn.onnx"
    assert run(capsys, "export", cnn_file, "--onnx", first)[0] == 0
    project_path = tmp_path / "imported" / "cnn.lcproj"
    code, stdout, err = run(capsys, "import", first, "--out", project_path)
    assert code == 0, err
    assert "imported 4 layers" in stdout
    project = load_project(project_path)
    assert project.weights == "cnn.lcmodel"
    assert [n.id for n in project.graph.nodes] == ["image", "conv", "pool", "flat", "classes"]
    model = load_model(project.weights_path)
    x = np.random.default_rng(0).normal(size=(5, 1, 8, 8)).astype(np.float32)
    expected = run_onnxruntime(onnx.load(first), {"image": x})[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    # The project exports from its imported weights (not untrained ones).
    second = tmp_path / "again.onnx"
    code, stdout, err = run(capsys, "export", project_path, "--onnx", second)
    assert code == 0 and "untrained" not in stdout, err
    np.testing.assert_allclose(
        run_onnxruntime(onnx.load(second), {"image": x})[0], expected, rtol=1e-5, atol=1e-7
    )


def test_an_imported_project_checks_clean_and_trains_from_its_weights(capsys, tmp_path, cnn_file):
    source = tmp_path / "cnn.onnx"
    run(capsys, "export", cnn_file, "--onnx", source)
    project_path = tmp_path / "imported" / "cnn.lcproj"
    assert run(capsys, "import", source, "--out", project_path)[0] == 0
    data = json.loads(project_path.read_text(encoding="utf-8"))
    assert data["training"]["loss"] == "sparse_categorical_crossentropy"  # softmax output
    code, out, err = run(capsys, "check", project_path, "--no-data")
    assert code == 0 and "0 errors" in out, out + err
    data["dataset"] = {"name": "digits", "validation_split": 0.2, "seed": 0}
    project_path.write_text(json.dumps(data), encoding="utf-8")
    out_dir = tmp_path / "run"
    code, _, err = run(capsys, "train", project_path, "--epochs", "1", "--out", out_dir)
    assert code == 0, err
    assert (out_dir / "model.lcmodel").is_file()


def test_an_unsupported_model_is_refused_in_one_line_and_nothing_is_written(capsys, tmp_path):
    model = make_model(
        [
            helper.make_node("Sin", ["x"], ["s"], name="wave"),
            helper.make_node("Cos", ["s"], ["y"], name="other_wave"),
        ],
        [("x", [3])],
        [("y", [3])],
    )
    source = tmp_path / "waves.onnx"
    onnx.save(model, source)
    out = tmp_path / "out" / "waves.lcproj"
    code, _, err = run(capsys, "import", source, "--out", out)
    assert code == 1
    assert_one_clear_line(err)
    assert "'wave' (Sin)" in err and "'other_wave' (Cos)" in err
    assert not out.exists() and not out.with_suffix(".lcmodel").exists()


@pytest.mark.parametrize("data", [b"", b"garbage" * 50], ids=["empty", "garbage"])
def test_a_corrupt_file_is_refused_in_one_line(capsys, tmp_path, data):
    source = tmp_path / "bad.onnx"
    source.write_bytes(data)
    out = tmp_path / "bad.lcproj"
    code, _, err = run(capsys, "import", source, "--out", out)
    assert code == 1
    assert_one_clear_line(err)
    assert not out.exists() and not out.with_suffix(".lcmodel").exists()


def test_import_does_not_overwrite_without_force(capsys, tmp_path, cnn_file):
    source = tmp_path / "cnn.onnx"
    run(capsys, "export", cnn_file, "--onnx", source)
    out = tmp_path / "cnn.lcproj"
    out.write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "import", source, "--out", out)
    assert code == 1 and "--force" in err
    assert out.read_text(encoding="utf-8") == "mine"
    assert run(capsys, "import", source, "--out", out, "--force")[0] == 0
    assert load_project(out).weights == "cnn.lcmodel"


def test_export_errors(capsys, tmp_path, cnn_file):
    code, _, err = run(capsys, "export", tmp_path / "none.lcmodel", "--onnx", tmp_path / "o.onnx")
    assert code == 1
    assert_one_clear_line(err)
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    code, _, err = run(capsys, "export", text, "--onnx", tmp_path / "o.onnx")
    assert code == 1
    assert_one_clear_line(err)
    code, _, err = run(capsys, "export", cnn_file, "--onnx", tmp_path / "o.onnx", "--opset", "30")
    assert code == 2
    assert_one_clear_line(err)
    assert not (tmp_path / "o.onnx").exists()


def test_a_project_on_pretrained_weights_exports_its_own_graph(capsys, tmp_path):
    """The transfer-learning example: its graph (new head) with the pre-trained base's
    weights, not the pre-trained model file itself."""
    example = ROOT / "resources" / "examples" / "transfer_learning.lcproj"
    project = load_project(example)
    pretrained = load_model(project.weights_path, compile=False)
    out = tmp_path / "transfer.onnx"
    code, stdout, err = run(capsys, "export", example, "--onnx", out)
    assert code == 0, err
    proto = onnx.load(out)
    # The output is the project's new 5-class head, named after its node.
    output_ids = {n.id for n in project.graph.nodes} - {e.source for e in project.graph.edges}
    assert [o.name for o in proto.graph.output] == sorted(output_ids)
    assert proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 5
    # The frozen base carries the pre-trained weights; the new head is named as untrained.
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    np.testing.assert_array_equal(
        initializers["conv1.kernel"], pretrained.get_layer("conv1").get_weights()[0]
    )
    assert "untrained" in stdout and "digits59" in stdout
