"""The documented command-line path of transfer learning on images: ``layercanvas import``
(recording the model's input size and mean/std) then ``layercanvas finetune`` (freeze up to a
layer, replace the head), checked on real files; and its refusals, one line, exit 1, nothing
written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import cli
from engine.graph.builder import build_model
from engine.graph.project import load_project

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "resources" / "examples" / "transfer_images"
BASE = FOLDER / "shapes_base.onnx"
PHOTOS = FOLDER / "photos"


@pytest.fixture
def imported(tmp_path, capsys):
    out = tmp_path / "base.lcproj"
    assert cli.main(["import", str(BASE), "--out", str(out), "--images", str(PHOTOS)]) == 0
    capsys.readouterr()
    return out


def test_import_records_size_and_mean_std_from_the_metadata(imported):
    dataset = load_project(imported).dataset
    assert dataset["format"] == "images" and dataset["size"] == [32, 32]
    assert dataset["color"] == "rgb"
    assert len(dataset["mean"]) == 3 and len(dataset["std"]) == 3
    assert (imported.parent / dataset["path"]).resolve() == PHOTOS.resolve()


def test_import_without_images_says_what_the_model_expects(tmp_path, capsys):
    out = tmp_path / "p.lcproj"
    assert cli.main(["import", str(BASE), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "expects 3x32x32 images normalised with mean [0.4978" in err
    assert "the file's metadata" in err
    assert load_project(out).dataset == {}


def test_finetune_freezes_the_backbone_and_replaces_the_head(imported, tmp_path, capsys):
    out = tmp_path / "sub" / "shapes.lcproj"
    out.parent.mkdir()
    code = cli.main(
        ["finetune", str(imported), "--freeze-up-to", "pool2", "--replace-head", "fc",
         "--out", str(out)]
    )  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 0
    assert "new head 'head': Dense(4, softmax); froze 4 layers up to pool2" in stdout
    project = load_project(out)
    frozen = [n.id for n in project.graph.nodes if n.params.get("trainable") is False]
    assert frozen == ["conv1", "pool1", "conv2", "pool2"]
    model = build_model(project.graph)
    assert model.outputs[0].shape == (4,)  # one unit per class folder
    # Paths still lead to the weights and the photos from the new folder.
    assert project.weights_path == (imported.parent / "base.lcmodel").resolve()
    assert (out.parent / project.dataset["path"]).resolve() == PHOTOS.resolve()
    assert cli.main(["check", str(out)]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--replace-head", "nope", "--classes", "3"], "there is no layer called 'nope'"),
        (["--replace-head", "conv3", "--classes", "3"], "'gap' reads from the head"),
        (["--images", str(PHOTOS), "--mean", "0.5,0.5"], "mean has 2 values but the input has 3"),
        (["--replace-head", "fc", "--classes", "1"], "at least 2 classes"),
    ],
)
def test_finetune_refusals_are_one_line_and_write_nothing(imported, capsys, extra, message):
    before = imported.read_bytes()
    assert cli.main(["finetune", str(imported), *extra]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert imported.read_bytes() == before


def test_the_shipped_project_matches_the_documented_path(imported, tmp_path, capsys):
    out = tmp_path / "shapes.lcproj"
    assert cli.main(
        ["finetune", str(imported), "--freeze-up-to", "pool2", "--replace-head", "fc",
         "--out", str(out)]
    ) == 0  # fmt: skip
    made = json.loads(out.read_text())["graph"]
    shipped = json.loads((FOLDER.parent / "transfer_images.lcproj").read_text())["graph"]
    assert made == shipped


def test_a_224_rgb_model_without_metadata_gets_imagenet_mean_std_said_aloud(tmp_path, capsys):
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415
    from engine.onnx import export_model  # noqa: PLC0415

    inputs = engine.Input(shape=(3, 224, 224))
    h = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3, strides=8)(inputs))
    source = tmp_path / "big.onnx"
    export_model(engine.Model(inputs, layers.Dense(5, activation="softmax")(h)), source)
    out = tmp_path / "big.lcproj"
    assert cli.main(["import", str(source), "--out", str(out), "--images", str(PHOTOS)]) == 0
    assert "using ImageNet's" in capsys.readouterr().err
    dataset = load_project(out).dataset
    assert dataset["mean"] == [0.485, 0.456, 0.406] and dataset["std"] == [0.229, 0.224, 0.225]
    assert dataset["size"] == [224, 224]
    # Given on the command line, the user's values win.
    assert cli.main(
        ["import", str(source), "--out", str(out), "--force", "--images", str(PHOTOS),
         "--mean", "0.5,0.5,0.5", "--std", "0.5"]
    ) == 0  # fmt: skip
    assert load_project(out).dataset["std"] == [0.5]


def test_finetune_of_a_logits_model_switches_to_a_classification_loss(tmp_path, capsys):
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415
    from engine.onnx import export_model  # noqa: PLC0415

    inputs = engine.Input(shape=(3, 32, 32))
    h = layers.GlobalAveragePooling2D(name="gap")(layers.Conv2D(4, 3, name="conv")(inputs))
    source = tmp_path / "logits.onnx"
    export_model(engine.Model(inputs, layers.Dense(10, name="fc")(h)), source)  # no softmax
    project = tmp_path / "logits.lcproj"
    assert cli.main(["import", str(source), "--out", str(project), "--images", str(PHOTOS)]) == 0
    assert load_project(project).training["loss"] == "mse"
    names = [n.id for n in load_project(project).graph.nodes]
    code = cli.main(["finetune", str(project), "--replace-head", names[-1],
                     "--freeze-up-to", names[-2]])  # fmt: skip
    assert code == 0
    assert "loss: sparse_categorical_crossentropy" in capsys.readouterr().out
    training = load_project(project).training
    assert training["loss"] == "sparse_categorical_crossentropy"
    assert training["metrics"] == ["accuracy"]
