"""Files that are not regular files (``/dev/zero``, a FIFO nobody writes to, a folder, a
symbolic link to a device) given to every command and every data loader, and training runs
that diverge: they must stop on the last finite weights and never save NaN over a good model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tests.hostile.cases_model import good_model
from tests.hostile.corpus import TRAINING, case, chain, fifo, mlp, write, write_project
from tests.hostile.post_checks import all_of, expect_mode, finite_model, strict_json

P = "p.lcproj"
ZERO = "/dev/zero"
NO_SUCH = r"(?i)no such file|not found|does not exist"


# -- the commands' own file argument (defect 5) ------------------------------------------------


@case("check_dev_zero", names="zero", defect="5")
def _(d):
    return [["check", ZERO]]


@case("check_fifo", names="pipe.lcproj", may_block=True, defect="5")
def _(d):
    return [["check", fifo(d, "pipe.lcproj")]]


@case("check_folder", names="folder.lcproj", forbid=[NO_SUCH], defect="5")
def _(d):
    (d / "folder.lcproj").mkdir()
    return [["check", "folder.lcproj"]]


@case("check_missing_file", names="missing.lcproj")
def _(d):
    return [["check", "missing.lcproj"]]


@case("check_symlink_to_dev_zero", names="zero.lcproj", defect="5")
def _(d):
    os.symlink(ZERO, d / "zero.lcproj")
    return [["check", "zero.lcproj"]]


@case("train_dev_zero", names="zero", defect="5")
def _(d):
    return [["train", ZERO, "--epochs", "1", "--out", "run"]]


@case("train_fifo", names="pipe.lcproj", may_block=True, defect="5")
def _(d):
    return [["train", fifo(d, "pipe.lcproj"), "--epochs", "1", "--out", "run"]]


@case("export_dev_zero", names="zero", forbid=[NO_SUCH], defect="5")
def _(d):
    return [["export", ZERO, "--onnx", "out.onnx"]]


@case("export_symlink_to_dev_zero", names="zero.lcmodel", forbid=[NO_SUCH], defect="5")
def _(d):
    os.symlink(ZERO, d / "zero.lcmodel")
    return [["export", "zero.lcmodel", "--onnx", "out.onnx"]]


@case("export_fifo", names="pipe.lcmodel", may_block=True, forbid=[NO_SUCH], defect="5")
def _(d):
    return [["export", fifo(d, "pipe.lcmodel"), "--onnx", "out.onnx"]]


@case("export_folder", names="folder.lcmodel", forbid=[NO_SUCH], defect="5")
def _(d):
    (d / "folder.lcmodel").mkdir()
    return [["export", "folder.lcmodel", "--onnx", "out.onnx"]]


@case("export_onnx_into_missing_folder_is_fine", names=None, expect="ok")
def _(d):
    write(d, "m.lcmodel", good_model())
    return [["export", "m.lcmodel", "--onnx", "new/deeper/out.onnx"]]


@case("export_project_weights_fifo", names="pipe.lcmodel", may_block=True, defect="5")
def _(d):
    write_project(d, mlp(2), weights=fifo(d, "pipe.lcmodel"))
    return [["export", P, "--onnx", "out.onnx"]]


@case("import_dev_zero", names="zero", forbid=[NO_SUCH], defect="5")
def _(d):
    return [["import", ZERO, "--out", P]]


@case("import_fifo", names="pipe.onnx", may_block=True, forbid=[NO_SUCH], defect="5")
def _(d):
    return [["import", fifo(d, "pipe.onnx"), "--out", P]]


@case("import_folder", names="folder.onnx", forbid=[NO_SUCH], defect="5")
def _(d):
    (d / "folder.onnx").mkdir()
    return [["import", "folder.onnx", "--out", P]]


# -- data files that are not files -------------------------------------------------------------


def _data(d: Path, spec: dict, graph: dict | None = None) -> list[list[str]]:
    write_project(d, graph or mlp(2), spec)
    return [["check", P]]


@case("csv_dev_zero", names="zero", defect="5")
def _(d):
    return _data(d, {"format": "csv", "path": ZERO, "target": "label"})


@case("csv_fifo", names="pipe.csv", may_block=True, defect="5")
def _(d):
    return _data(d, {"format": "csv", "path": fifo(d, "pipe.csv"), "target": "label"})


@case("csv_folder", names="folder.csv")
def _(d):
    (d / "folder.csv").mkdir()
    return _data(d, {"format": "csv", "path": "folder.csv", "target": "label"})


@case("npz_dev_zero", names="zero", defect="5")
def _(d):
    return _data(d, {"format": "npz", "path": ZERO})


@case("npz_fifo", names="pipe.npz", may_block=True, defect="5")
def _(d):
    return _data(d, {"format": "npz", "path": fifo(d, "pipe.npz")})


@case("idx_dev_zero", names="zero", defect="5")
def _(d):
    return _data(d, {"format": "idx", "images": ZERO, "labels": ZERO})


@case("idx_fifo", names="pipe.idx", may_block=True, defect="5")
def _(d):
    spec = {"format": "idx", "images": fifo(d, "pipe.idx"), "labels": "pipe.idx"}
    return _data(d, spec, mlp([1, 4, 4], flatten=True))


@case("text_csv_fifo", names="pipe.csv", may_block=True, defect="5")
def _(d):
    spec = {"format": "text_csv", "path": fifo(d, "pipe.csv"), "text_column": 1, "target": 2}
    return _data(d, spec)


@case("images_fifo_and_device_links_are_left_out", names=None, expect="ok")
def _(d):
    from tests.hostile.hostile_bytes import png  # noqa: PLC0415

    for label in ("cat", "dog"):
        for i in range(3):
            write(d, f"photos/{label}/{i}.png", png(8, 8))
    fifo(d, "photos/cat/pipe.png")
    os.symlink(ZERO, d / "photos/dog/zero.png")
    spec = {"format": "images", "path": "photos", "size": [8, 8], "color": "grayscale"}
    return _data(d, spec, mlp([1, 8, 8], flatten=True))


# -- training that diverges (defect 1) and what training saves (defect 7) -----------------------

RUN_FILES = ("run/model.lcmodel", "run/checkpoint.lcmodel", "run/history.json", "run/history.csv")


# resources/examples/spirals_mlp.lcproj's network, where issue 15 saw learning rate 1e6 diverge
SPIRALS_MLP = chain(
    ("input", "Input", {"shape": [2]}),
    *[(f"hidden{i}", "Dense", {"units": 64, "activation": "relu"}) for i in (1, 2, 3)],
    ("output", "Dense", {"units": 2, "activation": "softmax"}),
)


def _spirals(d: Path, learning_rate: float, file: str) -> str:
    training = {**TRAINING, "optimizer": {"name": "adam", "learning_rate": learning_rate}}
    return write_project(d, SPIRALS_MLP, {"name": "spirals", "seed": 0}, training, file=file)


@case(
    "train_ok_writes_plain_files",
    names=None,
    expect="ok",
    post=all_of(expect_mode(*RUN_FILES), finite_model("run/model.lcmodel")),
    defect="7",
)
def _(d):
    return [["train", _spirals(d, 0.01, P), "--epochs", "2", "--out", "run"]]


@case(
    "train_learning_rate_1e6_keeps_the_good_model",
    names=None,
    also=[r"(?i)step|batch"],
    post=all_of(
        finite_model("run/model.lcmodel"),
        finite_model("run/checkpoint.lcmodel", required=False),
        strict_json("run/history.json"),
    ),
    defect="1",
)
def _(d):
    good = _spirals(d, 0.01, "good.lcproj")
    bad = _spirals(d, 1e6, P)
    return [
        ["train", good, "--epochs", "1", "--out", "run"],
        ["train", bad, "--epochs", "2", "--out", "run"],
    ]


@case(
    "train_inputs_near_1e30",
    names=None,
    also=[r"(?i)step|batch"],
    post=all_of(
        finite_model("run/model.lcmodel", "run/checkpoint.lcmodel", required=False),
        strict_json("run/history.json"),
    ),
    defect="1",
)
def _(d):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)) * 1e30
    rows = "".join(f"{a:.6e},{b:.6e},{int(a > b)}\n" for a, b in x)
    write(d, "big.csv", "a,b,label\n" + rows)
    write_project(d, mlp(2), {"format": "csv", "path": "big.csv", "target": "label"})
    return [["train", P, "--epochs", "2", "--out", "run"]]
