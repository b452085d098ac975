"""Hostile ``.lcproj`` files, run through ``layercanvas check`` (and ``train``/``export`` where
the problem only shows there): broken bytes and JSON, wrong formats and versions, extreme
numbers, graphs that cannot be built or do not fit in memory, bad dataset and weights paths,
and command lines a user can get wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tests.hostile.corpus import TRAINING, case, chain, mlp, project_doc, write, write_project
from tests.hostile.corpus import random_bytes as noise

P = "p.lcproj"
VALID = json.dumps(project_doc(mlp(2), {"name": "spirals"}), indent=1)


def _raw(folder: Path, text: str | bytes) -> list[list[str]]:
    write(folder, P, text)
    return [["check", P]]


# -- bytes that are not a project ----------------------------------------------------------


@case("proj_empty", names=P)
def _(d):
    return _raw(d, b"")


@case("proj_truncated", names=P)
def _(d):
    return _raw(d, VALID[: len(VALID) // 2])


@case("proj_random_bytes", names=P)
def _(d):
    return _raw(d, noise(4096, seed=1))


@case("proj_bad_utf8", names=P)
def _(d):
    return _raw(d, VALID.replace('"hostile"', '"host\udcff"').encode("utf-8", "surrogateescape"))


@case("proj_nul_bytes", names=P)
def _(d):
    return _raw(d, VALID.encode() + b"\x00" * 64)


@case("proj_not_an_object", names=P)
def _(d):
    return _raw(d, "[1, 2, 3]")


@case("proj_deep_nesting", names=P)
def _(d):
    return _raw(d, "[" * 100_000 + "]" * 100_000)


@case("proj_deep_nesting_in_params", names=P)
def _(d):
    doc = project_doc(mlp(2))
    doc["graph"]["nodes"][1]["params"]["units"] = json.loads("[" * 500 + "]" * 500)
    return _raw(d, json.dumps(doc))


@case("proj_too_large", names=P)
def _(d):
    return _raw(d, " " * (5 << 20) + VALID)


@case("proj_sparse_10_gib", names=P)
def _(d):
    write(d, P, VALID)
    os.truncate(d / P, 10 << 30)  # declared by the file system, never written
    return [["check", P]]


# -- a JSON object that is not a valid project ------------------------------------------------


@case("proj_wrong_format", names=P)
def _(d):
    doc = project_doc(mlp(2), format="something-else")
    return _raw(d, json.dumps(doc))


@case("proj_future_version", names=P)
def _(d):
    return _raw(d, json.dumps(project_doc(mlp(2), version=99)))


@case("proj_version_as_text", names=P)
def _(d):
    return _raw(d, json.dumps(project_doc(mlp(2), version="1")))


@case("proj_version_5000_digits", names=P, defect="5")
def _(d):
    return _raw(d, VALID.replace('"version": 1', '"version": 1' + "7" * 4999))


@case("proj_units_5000_digits", names=P, defect="5")
def _(d):
    return _raw(d, VALID.replace('"units": 8', '"units": 8' + "9" * 4999))


@case("proj_float_overflow_learning_rate", names=P)
def _(d):
    return _raw(d, VALID.replace('"learning_rate": 0.01', '"learning_rate": 1e999'))


@case("proj_nan_dropout_rate", names=P)
def _(d):
    graph = chain(
        ("input", "Input", {"shape": [2]}),
        ("drop", "Dropout", {"rate": float("nan")}),
        ("output", "Dense", {"units": 2, "activation": "softmax"}),
    )
    return _raw(d, json.dumps(project_doc(graph)))  # json writes NaN, as a hand edit might


@case("proj_nan_learning_rate", names=P)
def _(d):
    training = {**TRAINING, "optimizer": {"name": "adam", "learning_rate": float("nan")}}
    return _raw(d, json.dumps(project_doc(mlp(2), training=training)))


@case("proj_infinite_units", names=P)
def _(d):
    return _raw(d, VALID.replace('"units": 8', '"units": Infinity'))


@case("proj_negative_units", names=P)
def _(d):
    return _raw(d, VALID.replace('"units": 8', '"units": -8'))


@case("proj_zero_batch_size", names=P)
def _(d):
    return _raw(d, json.dumps(project_doc(mlp(2), training={**TRAINING, "batch_size": 0})))


@case("proj_unknown_loss", names=P)
def _(d):
    training = {**TRAINING, "loss": "__import__('os').system"}
    return _raw(d, json.dumps(project_doc(mlp(2), training=training)))


@case("proj_nodes_not_a_list", names=P)
def _(d):
    return _raw(d, json.dumps(project_doc({"nodes": "Dense", "edges": []})))


@case("proj_unknown_layer_type", names=P)
def _(d):
    graph = chain(("input", "Input", {"shape": [2]}), ("x", "Dense9000", {"units": 2}))
    return _raw(d, json.dumps(project_doc(graph)))


@case("proj_cycle", names=P)
def _(d):
    graph = chain(
        ("input", "Input", {"shape": [2]}),
        ("a", "Dense", {"units": 2}),
        ("b", "Add", {}),
        ("c", "Dense", {"units": 2}),
    )
    graph["edges"].append({"source": "c", "target": "b", "target_port": 1})
    return _raw(d, json.dumps(project_doc(graph)))


@case("proj_self_loop", names=P)
def _(d):
    graph = mlp(2)
    graph["edges"].append({"source": "hidden", "target": "hidden", "target_port": 0})
    return _raw(d, json.dumps(project_doc(graph)))


@case("proj_edge_to_missing_node", names=P)
def _(d):
    graph = mlp(2)
    graph["edges"].append({"source": "output", "target": "nowhere", "target_port": 0})
    return _raw(d, json.dumps(project_doc(graph)))


@case("proj_duplicate_node_ids", names=P)
def _(d):
    graph = mlp(2)
    graph["nodes"][2]["id"] = "hidden"
    return _raw(d, json.dumps(project_doc(graph)))


def _long_chain(n: int, kind: str) -> str:
    layers = [("input", "Input", {"shape": [2]})]
    layers += [(f"r{i}", kind, {"activation": "relu"}) for i in range(n)]
    layers.append(("output", "Dense", {"units": 2, "activation": "softmax"}))
    return json.dumps(project_doc(chain(*layers)), separators=(",", ":"))


@case("proj_5000_nodes", names=None, expect="ok")
def _(d):
    return _raw(d, _long_chain(5000, "Activation"))


@case("proj_5000_unknown_layer_types", names=P)
def _(d):
    return _raw(d, _long_chain(5000, "Relu"))


@case("proj_20000_unknown_layer_types", names=P)
def _(d):
    """2.8 MB, under the 4 MiB a project may have: its check must stay linear."""
    return _raw(d, _long_chain(20_000, "Relu"))


# -- graphs too large for any machine (defect 4) ---------------------------------------------

HUGE_DENSE = chain(
    ("input", "Input", {"shape": [100_000]}),
    ("dense_1", "Dense", {"units": 100_000, "activation": "relu"}),
    ("output", "Dense", {"units": 2, "activation": "softmax"}),
)


def _wide_npz(d: Path) -> dict:
    """4 samples of 100 000 features (1.6 MB): data that fits the huge graph exactly."""
    rng = np.random.default_rng(0)
    np.savez(d / "wide.npz", x=rng.normal(size=(4, 100_000)).astype(np.float32), y=np.arange(4) % 2)
    return {"format": "npz", "path": "wide.npz", "validation_split": 0.25}


@case("proj_dense_100000_by_100000", names=P, also=["dense_1"], defect="4")
def _(d):
    write_project(d, HUGE_DENSE, _wide_npz(d))
    return [["check", P]]


@case("train_dense_100000_by_100000", names=P, also=["dense_1"], defect="4")
def _(d):
    write_project(d, HUGE_DENSE, _wide_npz(d))
    return [["train", P, "--epochs", "1", "--out", "run"]]


@case("proj_input_100000x100000_flatten_dense", names=P, also=["dense"], defect="4")
def _(d):
    graph = chain(
        ("input", "Input", {"shape": [100_000, 100_000]}),
        ("flat", "Flatten", {}),
        ("dense", "Dense", {"units": 10, "activation": "softmax"}),
    )
    write_project(d, graph)
    return [["check", "--no-data", P]]


@case("proj_conv_activations_too_large", names=P, also=["conv"], defect="4")
def _(d):
    graph = chain(
        ("input", "Input", {"shape": [3, 20_000, 20_000]}),
        ("conv", "Conv2D", {"filters": 256, "kernel_size": 3, "padding": "same"}),
        ("pool", "GlobalAveragePooling2D", {}),
        ("output", "Dense", {"units": 2, "activation": "softmax"}),
    )
    write_project(d, graph)
    return [["check", "--no-data", P]]


# -- dataset and weights paths --------------------------------------------------------------

UP = "../" * 24  # far more than the folder's depth: resolves to the root


@case("proj_dataset_traversal_to_etc_passwd", names="passwd")
def _(d):
    write_project(d, mlp(2), {"format": "csv", "path": UP + "etc/passwd", "target": "label"})
    return [["check", P]]


@case("proj_dataset_in_parent_folder_is_fine", names=None, expect="ok")
def _(d):
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a > b)}" for a, b in rng.normal(size=(40, 2)))
    write(d, "shared/data.csv", "a,b,label\n" + rows + "\n")
    (d / "project").mkdir()
    spec = {"format": "csv", "path": "../shared/data.csv", "target": "label"}
    write_project(d / "project", mlp(2), spec)
    return [["check", "project/" + P]]


@case("proj_dataset_missing_file", names="nowhere.csv")
def _(d):
    write_project(d, mlp(2), {"format": "csv", "path": "nowhere.csv", "target": "label"})
    return [["check", P]]


@case("proj_dataset_unknown_format", names=P)
def _(d):
    write_project(d, mlp(2), {"format": "pickle", "path": "data.pkl"})
    return [["check", P]]


@case("proj_weights_absolute_path", names="passwd")
def _(d):
    write_project(d, mlp(2), weights="/etc/passwd")
    return [["export", P, "--onnx", "out.onnx"]]


@case("proj_weights_traversal_to_etc_passwd", names="passwd")
def _(d):
    write_project(d, mlp(2), weights=UP + "etc/passwd")
    return [["export", P, "--onnx", "out.onnx"]]


@case("proj_weights_traversal_to_dev_zero", names="zero", forbid=["(?i)no such file"], defect="5")
def _(d):
    write_project(d, mlp(2), weights=UP + "dev/zero")
    return [["export", P, "--onnx", "out.onnx"]]


# -- command lines ----------------------------------------------------------------------------


@case("usage_check_without_project", names="project", expect="usage")
def _(d):
    return [["check"]]


@case("usage_unknown_command", names="frobnicate", expect="usage")
def _(d):
    return [["frobnicate", "a", "b"]]


@case("usage_epochs_zero", names="epochs", expect="usage")
def _(d):
    write(d, P, VALID)
    return [["train", P, "--epochs", "0"]]


@case("usage_epochs_5000_digits", names="epochs", expect="usage")
def _(d):
    write(d, P, VALID)
    return [["train", P, "--epochs", "9" * 5000]]


@case("usage_unknown_device", names="device", expect="usage")
def _(d):
    write(d, P, VALID)
    return [["train", P, "--device", "tpu"]]
