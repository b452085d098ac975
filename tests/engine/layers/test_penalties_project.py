"""Regularizers and constraints in project files: ``layercanvas check`` accepts the dict form
node params hold and names the node and the parameter of a bad one; the compiled model
carries them."""

from __future__ import annotations

import copy
import json

import pytest

from app import cli
from engine.graph.project import Project
from tests.project_fixtures import tiny_project

PROJECT = tiny_project(
    epochs=1,
    hidden_params={
        "kernel_regularizer": {"name": "l2", "l2": 0.01},
        "activity_regularizer": "l1",
        "kernel_constraint": {"name": "max_norm", "max_value": 3},
    },
)
PROJECT["name"] = "Regularized"


def _check(capsys, tmp_path, data):
    path = tmp_path / "p.lcproj"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = cli.main(["check", "--no-data", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_regularized_dense_passes_check(capsys, tmp_path):
    code, out, err = _check(capsys, tmp_path, PROJECT)
    assert code == 0, out + err
    assert "OK: no problems found" in out


@pytest.mark.parametrize(
    ("param", "value", "words"),
    [
        ("kernel_regularizer", {"name": "l2", "l2": -1}, ["l2 must be", ">= 0", "-1"]),
        ("kernel_regularizer", {"name": "l3"}, ["unknown regularizer 'l3'", "'l2'"]),
        ("bias_regularizer", "ridge", ["unknown regularizer 'ridge'"]),
        ("kernel_constraint", {"name": "max_norm", "max_value": "big"}, ["max_value"]),
        ("kernel_constraint", {"name": "unit_norm", "axis": 5}, ["axis 5", "rank 2"]),
    ],
)
def test_a_bad_regularizer_or_constraint_is_a_diagnostic_naming_node_and_parameter(
    capsys, tmp_path, param, value, words
):
    data = copy.deepcopy(PROJECT)
    data["graph"]["nodes"][1]["params"][param] = value
    code, out, _err = _check(capsys, tmp_path, data)
    assert code == 1
    line = next(line for line in out.splitlines() if "error:" in line)
    assert f"graph.nodes[1].params.{param}" in line, out
    for word in words:
        assert word in line, line


def test_the_compiled_model_carries_them(tmp_path):
    from engine.graph.compiler import build_model  # noqa: PLC0415

    project = Project.from_json(copy.deepcopy(PROJECT))
    model = build_model(project.graph)
    hidden = model.get_layer("hidden")
    assert hidden.get_config()["kernel_regularizer"] == {"name": "l2", "l2": 0.01}
    assert hidden.kernel.constraint.max_value == 3
